/**
 * When has a submission finished arriving? (protocol §7 #6: the DO's syncer writes a job's files one by one, and
 * syft-job rejects — permanently — any job it sees before `code/` exists.)
 *
 * The rule, pure (input: two snapshots of the job directory and their times):
 *
 *   1. Not a job until `config.yaml` exists (syft-job's scan ignores such directories too).
 *   2. A snapshot cut short by a cap (too many entries, too deep) never settles: it needs a person.
 *   3. Two scans must agree: the same entries with the same types, sizes and mtimes, the earlier one taken at least
 *      `minScanGapMs` before the later one. A writer still at work changes a size, an mtime or the entry set.
 *   4. And the directory must be quiet for a window: either no entry (directories included, so additions and
 *      removals count) was modified within the window before the later scan, or the two agreeing scans themselves
 *      span the window. The second way covers writers that preserve old mtimes or clocks that run ahead.
 *   5. The window is `quietMs` when the shape is already right (config.yaml, run.sh, code/) and, if the caller
 *      passes the manifest (`config.yaml:files`, every file the DS put under `code/`), all of it is there; the
 *      longer `rejectQuietMs` otherwise, because acting on a wrong shape means a permanent rejection and a missing
 *      manifest file means the syncer stopped half-way (it resumes on its next cycle).
 *
 * The approve service keeps the previous snapshot of each unsettled job in memory and calls `settle` on each poll.
 */

import { IGNORED_SUBMISSION_ENTRY, SUBMISSION_ENTRIES, type SubmissionEntry } from './transitions';

export interface SnapshotEntry {
  /** Path relative to the job directory, `/`-separated; `.` is the job directory itself. */
  path: string;
  type: SubmissionEntry['type'];
  size: number;
  mtimeMs: number;
}

export interface JobDirSnapshot {
  /** Wall-clock time of the scan (ms since the epoch). */
  takenAtMs: number;
  /** In any order; `fingerprint` sorts. */
  entries: SnapshotEntry[];
  /** Set when the scan stopped at a cap; the reason says which. */
  truncated?: string;
}

export interface SettleOptions {
  /** Quiet window for a submission with the right shape (default 5 s). */
  quietMs?: number;
  /** Quiet window before a wrong-shaped submission may be acted on, i.e. rejected (default 60 s). */
  rejectQuietMs?: number;
  /** Minimum time between the two agreeing scans (default 1 s). */
  minScanGapMs?: number;
  /** `config.yaml:files` once it parses: paths relative to `code/` that must all be present as files. */
  manifest?: readonly string[];
}

export const SETTLE_DEFAULTS = { quietMs: 5_000, rejectQuietMs: 60_000, minScanGapMs: 1_000 } as const;

/** `valid`: exactly config.yaml, run.sh, code/; `partial`: a subset of them so far; `invalid`: anything else. */
export type SubmissionShape = 'not-a-job' | 'valid' | 'partial' | 'invalid';

export type SettleVerdict =
  | { settled: true; shape: 'valid' | 'partial' | 'invalid' }
  | { settled: false; shape: SubmissionShape; reason: string; retryInMs?: number };

/** The top-level entries of a snapshot (what `checkSubmission` takes). */
export function topLevelEntries(s: JobDirSnapshot): SubmissionEntry[] {
  return s.entries.filter((e) => e.path !== '.' && !e.path.includes('/')).map((e) => ({ name: e.path, type: e.type }));
}

export function submissionShape(entries: readonly SubmissionEntry[]): SubmissionShape {
  const seen = entries.filter((e) => e.name !== IGNORED_SUBMISSION_ENTRY);
  const config = seen.find((e) => e.name === 'config.yaml');
  if (config === undefined) return 'not-a-job';
  const want: Record<string, SubmissionEntry['type']> = { 'config.yaml': 'file', 'run.sh': 'file', code: 'dir' };
  for (const e of seen) if (want[e.name] !== e.type) return 'invalid';
  return seen.length === SUBMISSION_ENTRIES.length ? 'valid' : 'partial';
}

/** Canonical text of a snapshot's content (not its time): equal fingerprints mean nothing observable changed. */
export function fingerprint(s: JobDirSnapshot): string {
  return JSON.stringify(
    [...s.entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).map((e) => [e.path, e.type, e.size, e.mtimeMs]),
  );
}

export function settle(current: JobDirSnapshot, previous: JobDirSnapshot | undefined, opts: SettleOptions = {}): SettleVerdict {
  const o = { ...SETTLE_DEFAULTS, ...opts };
  const shape = submissionShape(topLevelEntries(current));
  if (shape === 'not-a-job') return { settled: false, shape, reason: 'no config.yaml yet' };
  if (current.truncated !== undefined) return { settled: false, shape, reason: `directory scan incomplete: ${current.truncated}` };
  const files = new Set(current.entries.filter((e) => e.type === 'file').map((e) => e.path));
  const missing = shape === 'valid' && o.manifest ? o.manifest.filter((f) => !files.has(`code/${f}`)) : [];
  const window = shape === 'valid' && missing.length === 0 ? o.quietMs : o.rejectQuietMs;
  const wait = (reason: string, retryInMs: number) => ({ settled: false as const, shape, reason, retryInMs: Math.max(0, Math.ceil(retryInMs)) });

  if (previous === undefined || previous.truncated !== undefined) return wait('first scan; waiting for a second identical one', o.minScanGapMs);
  if (fingerprint(previous) !== fingerprint(current)) return wait('changed since the previous scan', o.minScanGapMs);
  const gap = current.takenAtMs - previous.takenAtMs;
  if (gap < o.minScanGapMs) return wait(`scans only ${gap} ms apart`, o.minScanGapMs - gap);

  const newest = Math.max(...current.entries.map((e) => e.mtimeMs));
  const age = current.takenAtMs - newest;
  if (age >= window || gap >= window) return { settled: true, shape };
  const why = missing.length > 0 ? ` (config.yaml lists ${missing.length} file(s) not under code/ yet, e.g. ${JSON.stringify(missing[0])})` : '';
  return wait(`modified ${Math.max(0, Math.round(age))} ms ago; waiting for ${window} ms of quiet${why}`, window - Math.max(age, gap));
}

/**
 * Remembers, per job, the oldest scan since the job last changed, so `settle` compares against it whatever the
 * polling rate (comparing with the immediately previous scan would never span `minScanGapMs` when polling faster).
 * Pure bookkeeping, no I/O; call `forget` once a job has been received.
 */
export class SettleTracker {
  private readonly since = new Map<string, { snap: JobDirSnapshot; fp: string }>();

  observe(key: string, current: JobDirSnapshot, opts: SettleOptions = {}): SettleVerdict {
    const fp = fingerprint(current);
    const prev = this.since.get(key);
    if (prev === undefined || prev.fp !== fp || prev.snap.truncated !== undefined) {
      this.since.set(key, { snap: current, fp });
      return settle(current, prev?.snap, opts);
    }
    return settle(current, prev.snap, opts);
  }

  forget(key: string): void {
    this.since.delete(key);
  }

  get size(): number {
    return this.since.size;
  }
}
