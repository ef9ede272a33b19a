/** What one owner sync cycle works with (built by owner-sync.ts, used by pull/publish/deliver/state-log). */
import type { DriveApi } from '../google/drive';
import type { TimestampClock } from './codec/names';
import type { RollingState } from './codec/state-files';
import type { DriveFolders } from './folders';
import type { Journal, JournalEntry } from './journal';
import type { EngineState, OwnerStore } from './owner-state';
import type { StatCache } from './scan';

/** pino-compatible: `(object, message)`. */
export interface SyncLog {
  debug?(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface OwnerSyncOptions {
  /** How long a cycle waits for `<root>/.sync.lock` before giving up (default 5 min). */
  lockTimeoutMs: number;
  /** List every peer's inbox at least this often even without a change (default 15 min; eventual consistency). */
  fullRescanMs: number;
  /** Largest proposal tarball we download, and largest JSON inside (default 64 MiB). */
  maxMessageBytes: number;
  /** Local files over this size are not published (default 256 MiB). */
  maxFileBytes: number;
  /** Incremental checkpoint when the rolling state holds this many events (default 50, §3.4). */
  checkpointThreshold: number;
  /** Merge the incremental checkpoints into a full one when there are this many (default 4, §3.4). */
  compactingThreshold: number;
  /** Merge a peer's outbox into one message when it holds this many of our messages (default 20, §3.6 step 3). */
  outboxCompactThreshold: number;
}

export const DEFAULT_OPTIONS: OwnerSyncOptions = {
  lockTimeoutMs: 5 * 60_000,
  fullRescanMs: 15 * 60_000,
  maxMessageBytes: 64 * 1024 * 1024,
  maxFileBytes: 256 * 1024 * 1024,
  checkpointThreshold: 50,
  compactingThreshold: 4,
  outboxCompactThreshold: 20,
};

/** Test seams: called at the named points; throwing simulates a crash there. */
export interface SyncHooks {
  afterUpload?(name: string): void | Promise<void>;
  afterApply?(proposalName: string): void | Promise<void>;
  beforeCommit?(entry: JournalEntry): void | Promise<void>;
}

export interface CycleErrors {
  peer?: string;
  stage: string;
  message: string;
}

export interface CycleResult {
  /** false when `.sync.lock` could not be taken in time (nothing was done). */
  locked: boolean;
  /** Set when the Drive page token was (re)initialised: every inbox was listed. */
  reset?: string;
  inboxesListed: number;
  published: { events: number; messages: number; resends: number };
  proposals: { applied: number; archivedWithoutChanges: number; quarantined: number; droppedChanges: number };
  uploads: number;
  /** Journal entries still waiting (uploads failed; retried next cycle). */
  pending: number;
  checkpoint?: string;
  /** The full checkpoint written by a checkpoint compaction in this cycle. */
  fullCheckpoint?: string;
  /** Outboxes compacted in this cycle: peer, messages merged, the new message's name. */
  outboxCompactions: Array<{ peer: string; merged: number; name: string }>;
  /**
   * What this cycle's one idle Drive call went to: the change feed (`poll`), one step of the periodic inbox
   * rescan (`inbox-rescan`), or nothing (`none`: the caller spent it on another safety check).
   */
  idleCall: 'poll' | 'inbox-rescan' | 'none';
  /**
   * What Drive's change feed reported this cycle (absent when it could not be read): `reset` when the page token
   * was (re)initialised (nothing is known about what changed), else the names of the files and folders created or
   * changed. The approve service uses it to look at peer requests only when something about peers changed.
   */
  feed?: { reset: boolean; names: string[] };
  errors: CycleErrors[];
}

export function emptyResult(): CycleResult {
  return {
    locked: true,
    inboxesListed: 0,
    published: { events: 0, messages: 0, resends: 0 },
    proposals: { applied: 0, archivedWithoutChanges: 0, quarantined: 0, droppedChanges: 0 },
    uploads: 0,
    pending: 0,
    outboxCompactions: [],
    idleCall: 'none',
    errors: [],
  };
}

export interface Ctx {
  drive: DriveApi;
  me: string;
  log: SyncLog;
  now: () => number;
  clock: TimestampClock;
  opts: OwnerSyncOptions;
  hooks: SyncHooks;
  store: OwnerStore;
  journal: Journal;
  folders: DriveFolders;
  state: EngineState;
  statCache: StatCache;
  /** owner_file_hashes.json as committed. */
  published: Map<string, string | null>;
  /** owner_file_hashes.json overlaid with every pending journal entry (in order): what peers have been or will be told. */
  effective: Map<string, string | null>;
  pending: JournalEntry[];
  rolling: RollingState;
  /** Compatible approved peers of this cycle. */
  peers: readonly string[];
  result: CycleResult;
}

/** Cap when reading back our own messages and state files (they hold whole files). */
export const OWN_STATE_MAX_BYTES = 1024 * 1024 * 1024;

/** Event timestamp from the engine clock (distinct, increasing, `time.time()`-like). */
export function ts(ctx: Pick<Ctx, 'clock' | 'now'>): number {
  return ctx.clock.next(ctx.now());
}
