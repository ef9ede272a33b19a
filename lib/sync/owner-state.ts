/**
 * Local state of the owner sync engine, every write atomic (temp + rename), every read tolerant of a missing file:
 *
 * Shared with the Python DO client (same names and formats, protocol §1.1):
 * - `<root>/.cache/owner_file_hashes.json`: path -> sha256 of what has been *published* (we only advance it after
 *   the uploads succeeded, §7 #26); read-modify-written under a `flock` on `owner_file_hashes.json.lock`, the lock
 *   portalocker takes;
 * - `<root>/.cache/rolling_state.json`: the local copy of the rolling state (compact JSON);
 * - `<root parent>/<root name>-events/syfteventsmessagev3_*.tar.gz`: every published events message (plain JSON).
 *
 * Ours, in `<stateDir>` (`<syft-bg home>/sync/owner-<email>/`):
 * - `engine.json`: Drive page token, folder ids, peers whose inbox must be listed, readers per path, skipped proposals;
 * - `stat-cache.json`: size/mtime/inode -> hash of every datasite file (change detection without re-reading);
 * - `journal/`: the outbox journal (journal.ts); `quarantine.jsonl`: one line per quarantined proposal.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readFileIfExists, writeFileAtomic } from '../fs/atomic';
import {
  decodeOwnerFileHashes,
  decodeRollingState,
  encodeOwnerFileHashes,
  encodeRollingState,
  type RollingState,
} from './codec/state-files';
import { withFileLock } from './lock';
import type { StatCache } from './scan';

export const CACHE_DIR = '.cache';
export const OWNER_FILE_HASHES = 'owner_file_hashes.json';
export const ROLLING_STATE_FILE = 'rolling_state.json';

export interface OwnerPaths {
  root: string;
  datasite: string;
  cacheDir: string;
  hashesFile: string;
  hashesLock: string;
  rollingFile: string;
  stateDir: string;
  engineFile: string;
  statCacheFile: string;
  journalDir: string;
  quarantineLog: string;
  /** `<root parent>/<root name>-events/`: Python's DO event-message cache. */
  eventsCacheDir: string;
}

/** `home` is the syft-bg home (`~/.syft-bg` or `SYFT_BG_HOME`). */
export function ownerPaths(root: string, me: string, home: string): OwnerPaths {
  const cacheDir = path.join(root, CACHE_DIR);
  const stateDir = path.join(home, 'sync', `owner-${me}`);
  return {
    root,
    datasite: path.join(root, me),
    cacheDir,
    hashesFile: path.join(cacheDir, OWNER_FILE_HASHES),
    hashesLock: path.join(cacheDir, `${OWNER_FILE_HASHES}.lock`),
    rollingFile: path.join(cacheDir, ROLLING_STATE_FILE),
    stateDir,
    engineFile: path.join(stateDir, 'engine.json'),
    statCacheFile: path.join(stateDir, 'stat-cache.json'),
    journalDir: path.join(stateDir, 'journal'),
    quarantineLog: path.join(stateDir, 'quarantine.jsonl'),
    eventsCacheDir: path.join(path.dirname(path.resolve(root)), `${path.basename(path.resolve(root))}-events`),
  };
}

export interface PeerTrack {
  /** The inbox must be listed (a change touched it, it is new, or the token was lost). */
  dirty?: boolean;
  /** When the peer's inbox folder was last looked up and not found (ms). */
  missingSince?: number;
}

export interface EngineState {
  version: 1;
  pageToken?: string;
  lastFullScanMs?: number;
  folderIds: Partial<Record<string, string>>;
  peers: Record<string, PeerTrack>;
  /** Recipients each path was last routed to (for resends when a permission file changes). */
  readers: Record<string, string[]>;
  /** Proposal file ids quarantined but not movable out of the inbox: never processed again. */
  skip: Record<string, string>;
  rollingFileId?: string;
  /** The local rolling state has events Drive does not have yet. */
  rollingDirty?: boolean;
  /** The Drive rolling state was looked at once (seeded the local copy when that was missing). */
  rollingSeeded?: boolean;
  /** Our messages in each peer's outbox as far as we know (uploads counted; set from a listing at compaction). */
  outboxCounts?: Record<string, number>;
  /**
   * Checkpoint compaction (§3.4): `due` once the incremental checkpoints reach the threshold; `started` once the
   * new full checkpoint may have been uploaded (until every old checkpoint is deleted, a crash resumes it).
   */
  checkpointCompaction?: 'due' | 'started';
}

export function emptyEngineState(): EngineState {
  return { version: 1, folderIds: {}, peers: {}, readers: {}, skip: {} };
}

export class StateFileError extends Error {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'StateFileError';
  }
}

function readJsonFile<T>(file: string, onCorrupt: (err: Error) => void): T | undefined {
  const text = readFileIfExists(file);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    onCorrupt(e as Error);
    return undefined;
  }
}

export class OwnerStore {
  constructor(
    readonly paths: OwnerPaths,
    private readonly warn: (msg: string) => void,
  ) {
    fs.mkdirSync(paths.stateDir, { recursive: true, mode: 0o700 });
  }

  loadEngine(): EngineState {
    const s = readJsonFile<EngineState>(this.paths.engineFile, (e) => {
      this.warn(`${this.paths.engineFile} is unreadable (${e.message}); starting from a fresh engine state (full rescan)`);
      fs.renameSync(this.paths.engineFile, `${this.paths.engineFile}.corrupt`);
    });
    if (!s || s.version !== 1 || typeof s !== 'object') return emptyEngineState();
    return { ...emptyEngineState(), ...s };
  }

  saveEngine(s: EngineState): void {
    writeFileAtomic(this.paths.engineFile, JSON.stringify(s), { mode: 0o600 });
  }

  loadStatCache(): StatCache {
    return readJsonFile<StatCache>(this.paths.statCacheFile, () => undefined) ?? {};
  }

  saveStatCache(c: StatCache): void {
    writeFileAtomic(this.paths.statCacheFile, JSON.stringify(c), { mode: 0o600 });
  }

  /**
   * `owner_file_hashes.json`: missing -> empty. An unparsable file (Python writes it in place) is read again once
   * after a short pause, then reported: treating it as empty would republish the whole datasite.
   */
  async readHashes(): Promise<Map<string, string | null>> {
    for (let attempt = 0; ; attempt++) {
      const text = readFileIfExists(this.paths.hashesFile);
      if (text === undefined) return new Map();
      if (text.trim() === '') return new Map();
      try {
        return decodeOwnerFileHashes(text);
      } catch (e) {
        if (attempt >= 1) throw new StateFileError(this.paths.hashesFile, (e as Error).message);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** Apply `updates` (null: remove) to `owner_file_hashes.json`: re-read, merge, write, under its portalocker lock. */
  async updateHashes(updates: ReadonlyMap<string, string | null>): Promise<void> {
    if (updates.size === 0) return;
    await withFileLock(this.paths.hashesLock, async () => {
      const cur = await this.readHashes();
      for (const [k, v] of updates) {
        if (v === null) cur.delete(k);
        else cur.set(k, v);
      }
      writeFileAtomic(this.paths.hashesFile, encodeOwnerFileHashes(cur));
    }, { timeoutMs: 60_000 });
  }

  /** The local rolling state, or undefined when missing or unreadable (reported). */
  readRolling(): RollingState | undefined {
    const text = readFileIfExists(this.paths.rollingFile);
    if (text === undefined || text.trim() === '') return undefined;
    try {
      return decodeRollingState(text);
    } catch (e) {
      this.warn(`${this.paths.rollingFile} is unreadable (${(e as Error).message}); it will be rebuilt`);
      return undefined;
    }
  }

  writeRolling(rs: RollingState): void {
    writeFileAtomic(this.paths.rollingFile, encodeRollingState(rs));
  }

  appendQuarantine(record: Record<string, unknown>): void {
    fs.appendFileSync(this.paths.quarantineLog, JSON.stringify(record) + '\n', { mode: 0o600 });
  }
}
