import type { FileEntry } from '../config/types';

/**
 * Auto-approval objects as the approval core sees them: the config layer's `AutoApprovalObject` (reference §5.1)
 * plus keys only the Node syft-bg writes. The schema keeps unknown keys, so they round-trip through config.yaml;
 * the Python syft-bg drops them when it rewrites the file, which only ever makes an object stricter (a binary entry
 * then fails as "could not read file", a dropped allow-list allows fewer dependencies and run.sh files).
 */
export interface ApprovalFileEntry extends FileEntry {
  /** The stored copy is not UTF-8: `hash` is over its raw bytes and validation compares bytes. */
  binary?: boolean;
}

export interface ApprovalObject {
  file_contents: ApprovalFileEntry[];
  /** Matched by relative path only; their content is never inspected. */
  file_paths: string[];
  /** Empty = any peer. */
  peers: string[];
  /**
   * Dependencies (config.yaml `dependencies`) this object allows besides the syft-client install source.
   * `'*'` allows any (still refusing shell metacharacters). Absent = none.
   */
  allowed_dependencies?: string[];
  /** `sha256:<64 hex>` of raw run.sh bytes accepted in addition to the run.sh syft-job generates. */
  run_sh_hashes?: string[];
  /** Set by the loader when the Node-only keys are malformed; validation refuses the object with this text. */
  invalid?: string;
}

/** Objects in config.yaml order (a Map keeps integer-like names in place, unlike a plain object). */
export type ApprovalObjects = ReadonlyMap<string, ApprovalObject> | Readonly<Record<string, ApprovalObject>>;

export function objectEntries(objects: ApprovalObjects): [string, ApprovalObject][] {
  return objects instanceof Map ? [...objects.entries()] : Object.entries(objects as Readonly<Record<string, ApprovalObject>>);
}

/** What was read for one file. Symbolic links are never followed. */
export type FileRead =
  | { kind: 'file'; bytes: Uint8Array }
  | { kind: 'missing' }
  | { kind: 'symlink'; target?: string }
  | { kind: 'tooLarge'; size: number; limit: number }
  /** A directory where a file was expected, a FIFO, socket or device. */
  | { kind: 'special'; what: string }
  | { kind: 'unreadable'; error: string };

/** One entry under `code/`, keyed by its path relative to `code/` with `/` separators. */
export type SnapshotFile = { rel: string } & Exclude<FileRead, { kind: 'missing' }>;

/** The job's `config.yaml`, parsed (a mapping) or why it could not be. */
export type ConfigRead = { kind: 'parsed'; value: JobConfig } | { kind: 'invalid'; error: string } | Exclude<FileRead, { kind: 'file' }>;

/** config.yaml of a job (`JobSubmissionMetadata`, protocol §1.4.1) as parsed YAML; every field is untrusted. */
export interface JobConfig {
  readonly [key: string]: unknown;
}

/**
 * Everything validation looks at, read once (`snapshotJob`). Validation runs on exactly these bytes; whoever
 * executes the job must execute these bytes too (a copy), not re-read the inbox, or a file swapped between the
 * snapshot and the run would bypass the check.
 */
export interface JobSnapshot {
  /** `state.yaml` status (`pending`, `approved`, …). */
  status: string;
  /** The data scientist's e-mail (from the inbox path). */
  submitter: string;
  /** Every entry under `code/` except directories, sorted by `rel`. */
  files: SnapshotFile[];
  /** `<job>/run.sh`, the script the runner executes. */
  runSh: FileRead;
  config: ConfigRead;
  /** Job-level problems found while reading (`code/` is a symlink, too many files, …); any one refuses the job. */
  problems?: string[];
}

/** The minimal job `autoApproveJob` needs (the datasite library produces richer objects). */
export interface JobRef {
  name: string;
  submitter: string;
  /** `<inbox>/<ds>/<job>/code`. */
  codeDir: string;
}

/** syft-job's run.sh for a config.yaml (lib/datasite/runsh.ts), or undefined when it cannot generate one. */
export type ExpectedRunSh = (config: JobConfig) => string | undefined;
