import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';

/**
 * File hashes of auto-approval objects (reference §5.2 step 5, §5.5), pure.
 *
 * The Python syft-bg hashes `sha256(path.read_text("utf-8").encode("utf-8"))`: the file decoded as strict UTF-8
 * with universal newlines (`\r\n` and lone `\r` become `\n`), re-encoded as UTF-8. A UTF-8 BOM survives (Python's
 * `utf-8` codec, unlike `utf-8-sig`, keeps U+FEFF), and invalid UTF-8 raises. For valid UTF-8 the decode/encode
 * round trip is the identity, and 0x0D never occurs inside a multi-byte sequence, so normalising the newlines
 * byte-wise gives exactly the bytes Python hashes.
 *
 * Files that are not UTF-8 (the Python syft-bg crashes on them) are hashed as their raw bytes instead, and the
 * entry records `binary: true` so validation compares bytes (see `FileHash.binary`).
 */

export const HASH_PREFIX = 'sha256:';

/**
 * The shortest expected hash we accept. The reference accepts any prefix of the digest, including the empty one
 * (`sha256:` matched every file). 16 hex digits = 64 bits: finding a second file whose hash starts with a given
 * 64-bit prefix costs ~2^64 hashes, out of reach for a data scientist trying to sneak in different code
 * (the stored-copy comparison is a second, independent check).
 */
export const MIN_HASH_HEX_DIGITS = 16;

export interface FileHash {
  /** `sha256:` + 64 lowercase hex digits. */
  hash: string;
  /** The file is not valid UTF-8: `hash` is over its raw bytes. */
  binary: boolean;
}

const CR = 0x0d;
const LF = 0x0a;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Strict UTF-8 (no surrogates, no overlong forms, nothing above U+10FFFF), as Python's codec. */
export function isUtf8Text(bytes: Uint8Array): boolean {
  return isUtf8(bytes);
}

/** Python's universal newlines on bytes: `\r\n` → `\n`, lone `\r` → `\n`. Returns the input when there is no CR. */
export function normaliseNewlines(bytes: Uint8Array): Uint8Array {
  if (bytes.indexOf(CR) < 0) return bytes;
  const out = new Uint8Array(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (b === CR) {
      out[n++] = LF;
      if (bytes[i + 1] === LF) i++;
    } else {
      out[n++] = b;
    }
  }
  return out.subarray(0, n);
}

/** The reference's hash of a text file (hex digest, no prefix), or undefined when the bytes are not UTF-8. */
export function textHashHex(bytes: Uint8Array): string | undefined {
  if (!isUtf8Text(bytes)) return undefined;
  return sha256Hex(normaliseNewlines(bytes));
}

/** The hash recorded for a file: the reference's text hash, or the raw-bytes hash of a non-UTF-8 file. */
export function hashFileBytes(bytes: Uint8Array): FileHash {
  const text = textHashHex(bytes);
  if (text !== undefined) return { hash: HASH_PREFIX + text, binary: false };
  return { hash: HASH_PREFIX + sha256Hex(bytes), binary: true };
}

/** The hex digest validation compares for an entry: text hash for text entries, raw-bytes hash for binary ones. */
export function entryHashHex(bytes: Uint8Array, binary: boolean): string | undefined {
  return binary ? sha256Hex(bytes) : textHashHex(bytes);
}

export type ExpectedHash = { ok: true; hex: string } | { ok: false; why: string };

/**
 * An expected hash as written in config.yaml: optional `sha256:` prefix, then hex digits, compared
 * case-insensitively (the reference compared case-sensitively, so upper-case hex never matched). Fixes of the
 * reference: an empty hash no longer matches every file, and a short-hash prefix needs at least
 * `MIN_HASH_HEX_DIGITS` digits.
 */
export function parseExpectedHash(expected: string): ExpectedHash {
  const hex = (expected.startsWith(HASH_PREFIX) ? expected.slice(HASH_PREFIX.length) : expected).toLowerCase();
  if (hex === '') return { ok: false, why: 'the recorded hash is empty' };
  if (!/^[0-9a-f]+$/.test(hex)) return { ok: false, why: 'the recorded hash is not hexadecimal' };
  if (hex.length > 64) return { ok: false, why: 'the recorded hash is longer than a SHA-256 digest' };
  if (hex.length < MIN_HASH_HEX_DIGITS) return { ok: false, why: `the recorded hash has fewer than ${MIN_HASH_HEX_DIGITS} hex digits` };
  return { ok: true, hex };
}

/**
 * The reference's `_hash_matches(actual, expected)` with its security bugs fixed: `expected` (with or without
 * `sha256:`) must be a valid hash of at least 16 hex digits, compared case-insensitively as a prefix of `actual`.
 * `actual` is a hex digest without prefix.
 */
export function hashMatches(actualHex: string, expected: string): boolean {
  const e = parseExpectedHash(expected);
  return e.ok && actualHex.toLowerCase().startsWith(e.hex);
}

/** A full `sha256:<64 hex>` (case-insensitive, prefix optional), lower-cased with prefix; undefined otherwise. */
export function fullHash(h: string): string | undefined {
  const hex = (h.startsWith(HASH_PREFIX) ? h.slice(HASH_PREFIX.length) : h).toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? HASH_PREFIX + hex : undefined;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

export type EolStyle = 'none' | 'lf' | 'crlf' | 'mixed';

/** `lf`: only bare `\n`; `crlf`: only `\r\n`; `none`: no CR or LF; `mixed`: anything else (incl. any lone `\r`). */
export function eolStyle(bytes: Uint8Array): EolStyle {
  let lf = false;
  let crlf = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === CR) {
      if (bytes[i + 1] !== LF) return 'mixed';
      crlf = true;
      i++;
    } else if (b === LF) {
      lf = true;
    }
    if (lf && crlf) return 'mixed';
  }
  return crlf ? 'crlf' : lf ? 'lf' : 'none';
}

/**
 * Stored-copy comparison of a text entry. The reference compares `read_text()` of both, so any newline difference
 * is ignored, including a lone `\r` in place of `\n`, which bash (unlike Python) treats as an ordinary character:
 * `MODE=dry\r` is then a different value than the approved `MODE=dry`, enough to flip a branch of an approved
 * script. We accept byte-identical files, and files that differ only by a *uniform* line-ending convention
 * (all `\n` vs all `\r\n`, as produced by git's autocrlf or a Windows editor); anything else is a mismatch.
 */
export function sameText(job: Uint8Array, stored: Uint8Array): boolean {
  if (bytesEqual(job, stored)) return true;
  const a = eolStyle(job);
  const b = eolStyle(stored);
  if (a === 'mixed' || b === 'mixed') return false;
  return bytesEqual(normaliseNewlines(job), normaliseNewlines(stored));
}
