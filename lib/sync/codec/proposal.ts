/**
 * Proposals, DS -> DO (protocol §3.3): `ProposedFileChangesMessage` as pretty JSON (`model_dump_json(indent=2)`),
 * packed in `msgv2_<ts>_<uid>.tar.gz`. Field names are the wire names; fields are written in model order with the
 * computed `content_type` last, exactly like pydantic.
 *
 * Decoding is tolerant of unknown keys (a newer syft-client may add some) and strict about the types of the keys it
 * knows; an error names the key. `path_in_datasite` is returned as written: callers must vet it with
 * `checkDatasitePath` before touching the file system.
 */
import { randomUUID } from 'node:crypto';
import {
  contentFromJson,
  contentHash,
  contentJson,
  contentTypeOf,
  lazySchema,
  parseJsonText,
  UUID_PATTERN,
  zodProblem,
  type FileContent,
} from './content';
import { MessageFormatError } from './errors';
import { dumpJson, float, obj, type JsonNode } from './json';
import { newTimestamp, proposalFileName } from './names';
import { packMessage, unpackMessage } from './tarball';

export type { FileContent } from './content';

export interface ProposedFileChange {
  /** UUID, lower-case hyphenated */
  id: string;
  /** the hash the sender believes the DO has now (`null`: a new file) */
  old_hash: string | null;
  /** sha256 hex of the new content (`null` for deletions) */
  new_hash: string | null;
  submitted_timestamp: number;
  /** relative to the DO datasite, `/`-separated, as written by the sender (unvetted) */
  path_in_datasite: string;
  /** text, binary (Buffer) or null (deletion) */
  content: FileContent;
  datasite_email: string;
  is_deleted: boolean;
}

export interface MessageFileName {
  submitted_timestamp: number;
  uid: string;
}

export interface ProposedFileChangesMessage {
  id: string;
  sender_email: string;
  message_filename: MessageFileName;
  proposed_file_changes: ProposedFileChange[];
}

function changeNode(c: ProposedFileChange): JsonNode {
  return obj(
    ['id', c.id],
    ['old_hash', c.old_hash],
    ['new_hash', c.new_hash],
    ['submitted_timestamp', float(c.submitted_timestamp)],
    ['path_in_datasite', c.path_in_datasite],
    ['content', contentJson(c.content)],
    ['datasite_email', c.datasite_email],
    ['is_deleted', c.is_deleted],
    ['content_type', contentTypeOf(c.content)],
  );
}

/** `ProposedFileChangesMessage.model_dump_json(indent=2)`. */
export function encodeProposal(msg: ProposedFileChangesMessage): string {
  return dumpJson(
    obj(
      ['id', msg.id],
      ['sender_email', msg.sender_email],
      ['message_filename', obj(['submitted_timestamp', float(msg.message_filename.submitted_timestamp)], ['uid', msg.message_filename.uid])],
      ['proposed_file_changes', msg.proposed_file_changes.map(changeNode)],
    ),
    2,
  );
}

const schema = lazySchema((z) => {
  const uuid = z.string().regex(UUID_PATTERN, { error: 'expected a UUID' });
  const ts = z.number({ error: 'expected a number (seconds since the epoch)' }).refine(Number.isFinite, { error: 'expected a finite number' });
  const change = z.object({
    id: uuid,
    old_hash: z.string().nullable().optional(),
    new_hash: z.string().nullable().optional(),
    submitted_timestamp: ts,
    path_in_datasite: z.string(),
    content: z.string().nullable().optional(),
    datasite_email: z.string(),
    is_deleted: z.boolean().optional(),
    content_type: z.enum(['text', 'binary']).nullable().optional(),
  });
  return z.object({
    id: uuid,
    sender_email: z.string(),
    message_filename: z.object({ submitted_timestamp: ts, uid: z.string() }),
    proposed_file_changes: z.array(change),
  });
});

/** `ProposedFileChangesMessage.model_validate_json(text)`; throws `MessageFormatError` naming the bad key. */
export function decodeProposal(text: string): ProposedFileChangesMessage {
  const data = parseJsonText(text, 'proposal');
  const r = schema().safeParse(data);
  if (!r.success) throw zodProblem(r.error, 'proposal');
  const m = r.data;
  return {
    id: m.id.toLowerCase(),
    sender_email: m.sender_email,
    message_filename: { submitted_timestamp: m.message_filename.submitted_timestamp, uid: m.message_filename.uid },
    proposed_file_changes: m.proposed_file_changes.map((c, i) => {
      const where = `proposal: proposed_file_changes[${i}].content`;
      const content = contentFromJson(c.content, c.content_type, where);
      const is_deleted = c.is_deleted ?? false;
      // pre_init: new_hash is computed only when the key is absent (an explicit null stays null).
      const new_hash = c.new_hash !== undefined ? c.new_hash : !is_deleted && content !== null ? contentHash(content) : null;
      return {
        id: c.id.toLowerCase(),
        old_hash: c.old_hash ?? null,
        new_hash,
        submitted_timestamp: c.submitted_timestamp,
        path_in_datasite: c.path_in_datasite,
        content,
        datasite_email: c.datasite_email,
        is_deleted,
      };
    }),
  };
}

/** The Drive file name of a proposal: `msgv2_<message_filename.submitted_timestamp>_<uid>.tar.gz`. */
export function proposalMessageFileName(msg: ProposedFileChangesMessage): string {
  return proposalFileName(msg.message_filename.submitted_timestamp, msg.message_filename.uid);
}

/** `as_compressed_data()`. */
export function packProposal(msg: ProposedFileChangesMessage, opts: { mtime?: number } = {}): Buffer {
  return packMessage(encodeProposal(msg), opts);
}

/** `from_compressed_data()`. */
export function unpackProposal(buf: Buffer, opts: { maxBytes?: number } = {}): ProposedFileChangesMessage {
  return decodeProposal(utf8(unpackMessage(buf, opts), 'proposal'));
}

/** Strict UTF-8 decoding (pydantic rejects invalid UTF-8 JSON). */
export function utf8(buf: Buffer, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(buf);
  } catch {
    throw new MessageFormatError(`${what} is not valid UTF-8`);
  }
}

export interface ProposedFile {
  /** relative to the DO datasite, `/`-separated */
  path: string;
  /** text (str) or binary (Buffer) */
  content: string | Buffer;
  /** the hash the DO has now, if the file exists there (from our cache); null/absent for a new file */
  oldHash?: string | null;
}

/**
 * Build a proposal the way syft-client's DS push does: one change per file, each with a fresh UUID, its own
 * `submitted_timestamp`, `new_hash` = sha256 of the content, `content_type` from the content's type; then the
 * message with a fresh id and `message_filename` (time of sending, fresh uid).
 */
export function makeProposal(args: {
  senderEmail: string;
  datasiteEmail: string;
  files: readonly ProposedFile[];
  /** clock override for tests; default `newTimestamp` */
  now?: () => number;
  newId?: () => string;
}): ProposedFileChangesMessage {
  const now = args.now ?? (() => newTimestamp());
  const newId = args.newId ?? (() => randomUUID());
  const changes: ProposedFileChange[] = args.files.map((f) => ({
    id: newId(),
    old_hash: f.oldHash ?? null,
    new_hash: contentHash(f.content),
    submitted_timestamp: now(),
    path_in_datasite: f.path,
    content: f.content,
    datasite_email: args.datasiteEmail,
    is_deleted: false,
  }));
  return {
    id: newId(),
    sender_email: args.senderEmail,
    message_filename: { submitted_timestamp: now(), uid: newId() },
    proposed_file_changes: changes,
  };
}
