/**
 * Typed outcomes for everything read from a datasite. Files there are written by other processes (the Python
 * syncer, syft-job, a DS we do not trust), so reading never throws on content: it returns one of these.
 */

export type ProblemCode =
  /** Empty or visibly half-written (no final newline, required key missing): read again later. */
  | 'incomplete'
  /** Not YAML PyYAML's `safe_load` would accept (syntax, several documents, unknown tag, bad characters). */
  | 'malformed'
  /** Loads, but syft-job's model would reject it (wrong type, unknown status, bad timestamp, forbidden key). */
  | 'invalid'
  /** Larger than the cap for that kind of file. */
  | 'too-large'
  /** A symbolic link where a file or directory was expected (never followed). */
  | 'symlink'
  /** Exists but is not a regular file (directory, FIFO, socket, device). */
  | 'not-a-file'
  /** Exists but is not a directory. */
  | 'not-a-directory'
  /** An I/O error other than "does not exist" (EACCES, EIO, ...). */
  | 'unreadable'
  /** A datasite, submitter or job name that cannot be used as a path segment, or a datasite syft-job refuses. */
  | 'bad-name'
  /** `config.yaml:name` differs from the job directory name (syft-job would approve into another folder). */
  | 'name-mismatch'
  /** review/<ds>/<job>/ exists without inbox/<ds>/<job>/. */
  | 'orphan-review'
  /** A directory listing was cut at a cap (too many entries or too deep). */
  | 'truncated';

export interface Problem {
  code: ProblemCode;
  /** One sentence a person can act on; names the file and the reason. */
  message: string;
  /** The file or directory concerned, when there is one. */
  path?: string;
  /** True when the condition may clear by itself (a writer still at work): try again on the next scan. */
  retry: boolean;
}

export function problem(code: ProblemCode, message: string, path?: string): Problem {
  const p: Problem = { code, message, retry: code === 'incomplete' };
  if (path !== undefined) p.path = path;
  return p;
}

/** Result of decoding file content (pure codecs). */
export type Parsed<T> = { ok: true; value: T; notes: string[] } | { ok: false; problem: Problem };

/** Result of reading a file from disk (fs shell). `text` is the exact content read. */
export type FileRead<T> =
  | { kind: 'ok'; value: T; text: string; notes: string[] }
  | { kind: 'missing' }
  | { kind: 'problem'; problem: Problem };
