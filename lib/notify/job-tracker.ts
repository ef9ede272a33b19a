/**
 * The notify service's view of the datasite's jobs, kept incrementally (thin shell over lib/datasite/job-index.ts
 * and the pure events.ts): per job, its snapshot and the mails it still owes.
 *
 * - A job is looked at again only when the index says it changed (its state.yaml, config.yaml, inbox folder or
 *   code/ folder), or every pass while its listed files are still arriving (a few lstat calls).
 * - A job whose every mail is done (sent or seen) and whose status is final (done, failed, rejected) is settled:
 *   it costs nothing per pass (the index re-checks its state.yaml's stat every 5 minutes, for a DO re-running it).
 *   On a cold start such a job is recognised by its state.yaml's status line and the journal alone: neither
 *   config.yaml nor state.yaml is parsed.
 * - {@link pending} is the mails owed, per job in chain order, jobs in (submitter, name) order (as listJobs sorts).
 *
 * Seeding a fresh state ({@link seedRecords}): every mail the existing jobs warrant, as if they were complete, but
 * only for evidence older than `before` (config.yaml for the "new"/"submitted" mails, config.yaml and state.yaml
 * for the others, by their mtime or ctime, whichever is later): a job written after the service process started,
 * while it was still starting up, is mailed, not seeded.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { JobIndex, sigTimeMs, sweepSlicesFor, type IndexedJob } from '../datasite/job-index';
import type { Job } from '../datasite/jobs';
import type { JobStatus } from '../datasite/state';
import { chainOf, eventKey, jobEvents, jobKey, type JobEvent, type JobRef, type JobSnapshot } from './events';

export interface PendingMail {
  key: string;
  event: JobEvent;
  /** Keys that must be done first (earlier mails of the same chain this job warrants). */
  needs: string[];
}

interface Track {
  ref: JobRef;
  snap: JobSnapshot;
  /** Mails owed (not done when last looked at), in chain order. */
  pending: PendingMail[];
}

/** A job whose listed files are not all there yet. */
interface Arriving {
  entry: IndexedJob<Track>;
  files: string[];
  codeDir: string;
  firstSeen: number;
}

export interface JobTrackerOptions {
  root: string;
  doEmail: string;
  /** Whether an event key is done (sent or seen) in the journal. */
  isDone: (key: string) => boolean;
  /** A job whose config.yaml lists files not (yet) in code/ is mailed anyway after this long. */
  arrivalCapMs: number;
  now: () => number;
  /** Passes between two looks at a settled job (default: 5 minutes at one pass every 5 s). */
  sweepSlices?: number;
}

const FINAL: ReadonlySet<string> = new Set(['done', 'failed', 'rejected']);

export class JobTracker {
  readonly index: JobIndex<Track>;
  /** Jobs owing mails, by key. */
  private readonly owing = new Map<string, IndexedJob<Track>>();
  private readonly arriving = new Map<string, Arriving>();
  private order: IndexedJob<Track>[] | undefined;
  /** The changes of the first pass, when init() made it (looked at by the first scan). */
  private held: ReturnType<JobIndex<Track>['pass']> | undefined;

  constructor(private readonly o: JobTrackerOptions) {
    this.index = new JobIndex<Track>({ root: o.root, datasite: o.doEmail, sweepSlices: o.sweepSlices ?? sweepSlicesFor(5) });
  }

  /**
   * First start: the index's first pass, and the journal records that mark what exists as seen (see the header).
   * The jobs themselves are looked at by the next {@link scan} (after the caller wrote the records).
   */
  seedRecords(before: number): { jobs: number; keys: string[] } {
    const r = this.firstPass();
    const keys: string[] = [];
    for (const { entry, job } of r.changed) {
      // One lstat per job: config.yaml (state.yaml's times are in the signature the index took).
      const config = lstat(this.index.configPath(entry));
      if (job ? job.config.kind !== 'ok' : !config?.isFile()) continue; // no metadata: nothing to seed
      if (config === undefined || Math.max(config.mtimeMs, config.ctimeMs) >= before) continue; // new: mail it
      const stateAt = sigTimeMs(entry.stateSig);
      const statusOld = stateAt === undefined || stateAt < before;
      const ref = this.refOf(entry);
      for (const ev of jobEvents({ ...ref, hasConfig: true, complete: true, status: entry.status as JobStatus | null })) {
        if (statusOld || ev.kind === 'new' || ev.kind === 'submitted') keys.push(eventKey(ev));
      }
    }
    return { jobs: r.changed.length, keys };
  }

  /** The jobs as listed by the first pass (Python state import). */
  listed(): JobRef[] {
    this.firstPass();
    return [...this.index.entries()].map((e) => this.refOf(e));
  }

  /** How long the first look at every job took (ms, wall clock; undefined before the first scan ended). */
  get firstPassMs(): number | undefined {
    return this.scans > 0 ? this.firstMs : undefined;
  }

  private firstMs = 0;
  private scans = 0;

  /** Look at what changed; afterwards {@link pending} is up to date. */
  scan(): void {
    const t0 = this.scans === 0 ? performance.now() : 0;
    // The first pass made by init() is looked at first, then whatever changed since (a cheap pass).
    const held = this.held;
    this.held = undefined;
    for (let r = held ?? this.index.pass(); ; r = this.index.pass()) {
      for (const k of r.removed) {
        if (this.owing.delete(k.key)) this.order = undefined;
        this.arriving.delete(k.key);
      }
      for (const { entry, job } of r.changed) this.look(entry, job);
      if (r !== held) break;
    }
    const now = this.o.now();
    for (const a of [...this.arriving.values()]) {
      if (now - a.firstSeen >= this.o.arrivalCapMs || filesPresent(a.files, a.codeDir)) {
        this.arriving.delete(a.entry.key);
        this.update(a.entry, { ...a.entry.data!.snap, complete: true });
      }
    }
    if (this.scans++ === 0) this.firstMs += performance.now() - t0;
    // Jobs whose mails all went out since: nothing more to do about them.
    for (const e of [...this.owing.values()]) {
      const t = e.data!;
      const left = t.pending.filter((p) => !this.o.isDone(p.key));
      if (left.length === t.pending.length) continue;
      t.pending = left;
      if (left.length === 0) {
        this.owing.delete(e.key);
        this.order = undefined;
        this.maybeSettle(e);
      }
    }
  }

  /** The mails owed, per job in chain order, jobs in (submitter, name) order. Done ones may still be in. */
  pending(): PendingMail[] {
    this.order ??= [...this.owing.values()].sort((a, b) => (a.submitter === b.submitter ? cmp(a.name, b.name) : cmp(a.submitter, b.submitter)));
    const out: PendingMail[] = [];
    for (const e of this.order) for (const p of e.data!.pending) out.push(p);
    return out;
  }

  watchPaths(limit?: number): string[] {
    return this.index.watchPaths(limit);
  }

  private firstPass(): ReturnType<JobIndex<Track>['pass']> {
    if (this.held === undefined && this.index.size === 0) {
      const t0 = performance.now();
      this.held = this.index.pass();
      this.firstMs = performance.now() - t0;
    }
    return this.held ?? { first: false, changed: [], removed: [], jobs: this.index.size };
  }

  private refOf(e: IndexedJob<Track>): JobRef {
    return e.data?.ref ?? { datasite: this.o.doEmail, submitter: e.submitter, name: e.name };
  }

  /** A job that changed (or is new): its snapshot, from the peeked status when that settles it, else read. */
  private look(entry: IndexedJob<Track>, job: Job | undefined): void {
    const ref = this.refOf(entry);
    if (!job && entry.peeked && entry.status !== null && FINAL.has(entry.status)) {
      // Finished, and every mail it could warrant is done: nothing to read.
      const all = jobEvents({ ...ref, hasConfig: true, complete: true, status: entry.status as JobStatus });
      if (all.every((ev) => this.o.isDone(eventKey(ev)))) {
        this.arriving.delete(entry.key);
        delete entry.data; // a settled job keeps nothing but what the index needs
        if (this.owing.delete(entry.key)) this.order = undefined;
        this.index.settle(entry);
        return;
      }
    }
    if (!job) {
      try {
        job = this.index.read(entry);
      } catch {
        return; // looked at again next pass
      }
    }
    const hasConfig = job.config.kind === 'ok';
    let complete = true;
    if (job.config.kind === 'ok') {
      const files = job.config.value.files;
      const codeDir = job.paths.codeDir;
      const before = this.arriving.get(entry.key);
      if (!filesPresent(files, codeDir)) {
        const firstSeen = before?.firstSeen ?? this.o.now();
        if (this.o.now() - firstSeen < this.o.arrivalCapMs) {
          complete = false;
          this.arriving.set(entry.key, { entry, files, codeDir, firstSeen });
        } else this.arriving.delete(entry.key);
      } else this.arriving.delete(entry.key);
    } else this.arriving.delete(entry.key);
    this.update(entry, { ...ref, hasConfig, complete, status: job.status });
  }

  private update(entry: IndexedJob<Track>, snap: JobSnapshot): void {
    const ref = this.refOf(entry);
    const evs = jobEvents(snap);
    const pending: PendingMail[] = [];
    for (const ev of evs) {
      const key = eventKey(ev);
      if (this.o.isDone(key)) continue;
      const chain = chainOf(ev.kind);
      const needs = chain
        .slice(0, chain.indexOf(ev.kind))
        .filter((k) => evs.some((e) => e.kind === k))
        .map((k) => jobKey(ev.job, k));
      pending.push({ key, event: ev, needs });
    }
    entry.data = { ref, snap, pending };
    if (pending.length > 0) {
      if (!this.owing.has(entry.key)) this.order = undefined;
      this.owing.set(entry.key, entry);
      this.index.unsettle(entry);
    } else {
      if (this.owing.delete(entry.key)) this.order = undefined;
      this.maybeSettle(entry);
    }
  }

  private maybeSettle(entry: IndexedJob<Track>): void {
    const s = entry.data?.snap;
    if (s && s.hasConfig && s.complete && s.status !== null && FINAL.has(s.status) && !this.arriving.has(entry.key)) {
      this.index.settle(entry);
      delete entry.data;
    } else this.index.unsettle(entry);
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Every file config.yaml lists is under code/ (names that could escape it are not waited for). */
export function filesPresent(files: readonly string[], codeDir: string): boolean {
  for (const f of files) {
    if (f === '' || path.isAbsolute(f) || f.split(/[\\/]/).includes('..')) continue;
    try {
      fs.lstatSync(path.join(codeDir, f));
    } catch {
      return false;
    }
  }
  return true;
}

function lstat(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch {
    return undefined;
  }
}
