/**
 * File content as syft-client carries it: a Python `str` (text, `content_type: "text"`) or `bytes` (binary, sent as
 * standard base64 with padding, `content_type: "binary"`), or `None` for deletions. Here: `string`, `Buffer`, `null`.
 */
import { createHash } from 'node:crypto';
import type { z as Z } from 'zod';
import { zodLib } from '../../config/deps';
import { MessageFormatError } from './errors';

export type FileContent = string | Buffer | null;
export type ContentType = 'text' | 'binary';

/** The computed `content_type` field. */
export function contentTypeOf(content: FileContent): ContentType | null {
  if (content === null) return null;
  return Buffer.isBuffer(content) ? 'binary' : 'text';
}

/** `get_event_hash_from_content`: sha256 hex of the UTF-8 bytes of text, or of the raw bytes. */
export function contentHash(content: string | Buffer): string {
  return createHash('sha256').update(typeof content === 'string' ? Buffer.from(content, 'utf8') : content).digest('hex');
}

/** How the content goes into JSON (`serialize_content`). */
export function contentJson(content: FileContent): string | null {
  if (content === null) return null;
  return Buffer.isBuffer(content) ? content.toString('base64') : content;
}

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict standard base64 (what `base64.b64encode` writes); anything else is a format error naming `where`. */
export function decodeBase64(text: string, where: string): Buffer {
  if (!BASE64_RE.test(text)) throw new MessageFormatError(`${where}: content_type is "binary" but the content is not standard padded base64`);
  return Buffer.from(text, 'base64');
}

/** The file content from the JSON `content` / `content_type` pair (`pre_init`). */
export function contentFromJson(content: string | null | undefined, contentType: string | null | undefined, where: string): FileContent {
  if (content === null || content === undefined) return null;
  return contentType === 'binary' ? decodeBase64(content, where) : content;
}

/** Render a zod error as "key.path: message" (the first issue, which is the one a reader needs). */
export function zodProblem(error: Z.ZodError, what: string): MessageFormatError {
  const issue = error.issues[0];
  if (!issue) return new MessageFormatError(`${what}: invalid`);
  const where = issue.path.length === 0 ? '(top level)' : issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[');
  return new MessageFormatError(`${what}: ${where}: ${issue.message}`);
}

/** `JSON.parse` that reports a format error instead of a SyntaxError. */
export function parseJsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new MessageFormatError(`${what} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Lazily built schema (zod loads on first use). */
export function lazySchema<T>(build: (z: typeof Z) => T): () => T {
  let s: T | undefined;
  return () => (s ??= build(zodLib()));
}

export const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
