/**
 * An incremental index of a datasite's jobs, for services that look at every job again and again (notify,
 * approve) and must cost next to nothing when nothing changed (thin fs shell; the peek parser is pure).
 *
 * Techniques (measured on 10,000 jobs, see bench/notify.js and bench/approve-scan.js):
 * - Folder listings (`inbox/`, `review/`, `inbox/<ds>/`, `review/<ds>/`) are cached by the folder's own stat
 *   signature: a folder is read again only when an entry was added, removed or renamed in it ({@link JobTree}).
 *   Unchanged listings come back as the very same arrays, so callers can compare by identity.
 * - A job is first looked at by its state.yaml's status line ({@link peekStatus}) without a YAML parse; the
 *   caller decides whether that is enough (a finished job it has nothing to do about) or reads the job in full.
 * - Open jobs are re-checked every pass by four lstat calls (state.yaml, the inbox folder, code/, config.yaml);
 *   settled ones (the caller says which) only by state.yaml's stat, in rotating slices: each one every
 *   `sweepSlices` passes ({@link sweepSlicesFor}: every {@link SETTLED_SWEEP_S} s).
 * - Paths are cached for open jobs only; a settled job keeps its state.yaml path and a signature.
 * - {@link JobIndex.watchPaths} returns the same array until a job opens, settles, appears or goes, or a data
 *   scientist folder appears (lib/service/loop.ts skips the diff then).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readJob, type Job } from './jobs';
import { DATASITE_EMAIL_RE, jobPaths, jobRootDir, segmentProblem, type JobPaths } from './paths';

// ---------------------------------------------------------------------------------------------------------------
// Stat signatures, the status peek, sweep slots

/** `ino:size:mtime:ctime` of a path (not followed), or `-` when it does not exist. */
export function statSig(p: string): string {
  try {
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    return st === undefined ? '-' : `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  } catch {
    return '-';
  }
}

/**
 * When the file of a {@link statSig} signature last landed or changed on this disk: the later of its mtime and
 * ctime (a copy may keep an old mtime; ctime cannot be set); undefined for a missing file.
 */
export function sigTimeMs(sig: string): number | undefined {
  const p = sig.split(':');
  if (p.length !== 4) return undefined;
  const t = Math.max(Number(p[2]), Number(p[3]));
  return Number.isFinite(t) ? t : undefined;
}

/** Signature of a real directory (changes when an entry is added, removed or renamed); undefined otherwise. */
export function dirSig(p: string): string | undefined {
  try {
    const st = fs.lstatSync(p);
    if (!st.isDirectory()) return undefined;
    return `${st.ino}:${st.mtimeMs}:${st.ctimeMs}:${st.nlink}`;
  } catch {
    return undefined;
  }
}

/** Sub-directory names of `dir` (symlinks not followed, names that cannot be a path segment left out), sorted. */
export function listDirNames(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && segmentProblem(d.name) === undefined)
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
}

const STATUS_LINE = /^status: ([a-z]+)$/gm;
const MAX_PEEK_BYTES = 64 * 1024;
let peekBuffer: Buffer | undefined;

/**
 * The status of a state.yaml as PyYAML writes it (block style, one top-level `status: <word>` line), without a
 * YAML parse; undefined when the file is missing, odd, or not unambiguous (the caller then reads it properly).
 */
export function peekStatus(file: string): string | undefined {
  let text: string;
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    try {
      // One buffer for every peek (reads are synchronous): 10,000 peeks must not allocate 640 MB.
      const buf = (peekBuffer ??= Buffer.allocUnsafe(MAX_PEEK_BYTES));
      const n = fs.readSync(fd, buf, 0, MAX_PEEK_BYTES, 0);
      if (n >= MAX_PEEK_BYTES) return undefined;
      text = buf.toString('latin1', 0, n);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
  return statusFromText(text);
}

/** Pure part of `peekStatus`. */
export function statusFromText(text: string): string | undefined {
  if (!text.endsWith('\n') || text.includes('\t') || /^(?:---|%|\{)/m.test(text)) return undefined;
  const found = [...text.matchAll(STATUS_LINE)];
  if (found.length !== 1) return undefined;
  // Any other line mentioning status at column 0 (e.g. a quoted or complex key) makes it ambiguous.
  if ((text.match(/^["'?]?status/gm) ?? []).length !== 1) return undefined;
  return found[0]![1];
}

/**
 * Settled jobs are re-checked every SETTLED_SWEEP_S seconds: only a hand edit of a finished job's state.yaml (a
 * DO re-running it) can make one interesting again, and that rare case may wait; open jobs are checked every pass.
 */
export const SETTLED_SWEEP_S = 300;

/** The `sweepSlices` for a pass every `intervalS` seconds. */
export function sweepSlicesFor(intervalS: number): number {
  return Math.max(1, Math.round(SETTLED_SWEEP_S / Math.max(1, intervalS)));
}

/** Which of `slices` sweep slices re-checks `key` (a stable hash). */
export function slotOf(key: string, slices: number): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) | 0;
  return Math.abs(h) % slices;
}

// ---------------------------------------------------------------------------------------------------------------
// The job tree: cached folder listings

/**
 * The job folders of one datasite (`app_data/job/{inbox,review}/<ds>/<job>`), listed again only where a folder
 * changed. `strict`: a symlinked datasite, `app_data`, `job`, `inbox` or `review` folder gives no jobs (what
 * listJobs does); the check costs three lstat calls per {@link peers} call.
 */
export class JobTree {
  readonly base: string | undefined;
  private readonly listings = new Map<string, { sig: string; names: string[] }>();
  /** Per data scientist ('' = the data scientists themselves): inbox ∪ review, rebuilt when either changes. */
  private readonly unions = new Map<string, { inbox: string[]; review: string[]; names: string[]; keys: string[] }>();

  constructor(
    private readonly root: string,
    private readonly datasite: string,
    private readonly opts: { strict?: boolean } = {},
  ) {
    let base: string | undefined;
    if (segmentProblem(datasite) === undefined && (!opts.strict || DATASITE_EMAIL_RE.test(datasite))) base = jobRootDir(root, datasite);
    this.base = base;
  }

  /** The data scientists with an inbox or review folder, sorted (the same array while unchanged). */
  peers(): string[] {
    if (this.base === undefined || (this.opts.strict && !this.baseIsReal())) return this.union('', EMPTY, EMPTY).names;
    return this.union('', this.names(path.join(this.base, 'inbox')), this.names(path.join(this.base, 'review'))).names;
  }

  /** The data scientists with an inbox folder (the same array while unchanged). */
  inboxPeers(): string[] {
    return this.base === undefined ? EMPTY : this.names(path.join(this.base, 'inbox'));
  }

  /** The job folders of one data scientist (inbox ∪ review, sorted), with their keys `<ds>/<job>`. */
  jobs(ds: string): { names: string[]; keys: string[] } {
    if (this.base === undefined) return this.union(ds, EMPTY, EMPTY);
    return this.union(ds, this.names(path.join(this.base, 'inbox', ds)), this.names(path.join(this.base, 'review', ds)));
  }

  private baseIsReal(): boolean {
    let cur = path.join(this.root, this.datasite);
    for (const part of ['', 'app_data', 'job']) {
      if (part) cur = path.join(cur, part);
      try {
        if (fs.lstatSync(cur).isSymbolicLink()) return false;
      } catch {
        return false;
      }
    }
    return true;
  }

  private union(id: string, inbox: string[], review: string[]): { names: string[]; keys: string[] } {
    const u = this.unions.get(id);
    if (u && u.inbox === inbox && u.review === review) return u;
    const names = inbox === review ? inbox : review.length === 0 ? inbox : inbox.length === 0 ? review : [...new Set([...inbox, ...review])].sort();
    const v = { inbox, review, names, keys: names.map((n) => `${id}/${n}`) };
    this.unions.set(id, v);
    return v;
  }

  /** Sub-folder names of `dir`, read again only when the folder itself changed. */
  private names(dir: string): string[] {
    const sig = dirSig(dir);
    if (sig === undefined) {
      this.listings.delete(dir);
      return EMPTY;
    }
    const cached = this.listings.get(dir);
    if (cached && cached.sig === sig) return cached.names;
    const names = listDirNames(dir);
    this.listings.set(dir, { sig, names });
    return names;
  }
}

const EMPTY: string[] = [];

// ---------------------------------------------------------------------------------------------------------------
// The index

/** One job as the index knows it. The caller may keep its own data in `data`. */
export interface IndexedJob<D = unknown> {
  readonly key: string;
  readonly submitter: string;
  readonly name: string;
  /** review/<ds>/<job>/state.yaml */
  readonly statePath: string;
  /** From the last full read, or the peek (`peeked`); null: unreadable; `received`: no state.yaml. */
  status: string | null;
  /** `status` comes from {@link peekStatus} alone: the job was not read (config.yaml not parsed). */
  peeked: boolean;
  /** Settled jobs are re-checked by the sweep only (state.yaml's stat). */
  settled: boolean;
  data?: D;
  /** @internal full signature at the last read ('' = not read) */
  sig: string;
  /** @internal state.yaml's signature at the last read or peek */
  stateSig: string;
  /** @internal */
  slot: number;
  /** @internal the pass that last listed it */
  seen: number;
  /** @internal the pass that found it */
  born: number;
  /** @internal cached while open */
  paths?: JobPaths;
}

export interface IndexPass<D> {
  /** The first pass of this index (every job is new). */
  first: boolean;
  /**
   * Jobs new to the index, open jobs whose files changed, settled jobs whose state.yaml changed; each with its full
   * read (`job`), except new jobs known by their peeked status alone (`entry.peeked`).
   */
  changed: Array<{ entry: IndexedJob<D>; job?: Job }>;
  /** Jobs gone from the tree since the last pass. */
  removed: IndexedJob<D>[];
  /** Jobs listed. */
  jobs: number;
}

export interface JobIndexOptions {
  root: string;
  datasite: string;
  /** Settled jobs are re-checked in this many rotating slices, one per pass. Default 60 (5 min at 5 s). */
  sweepSlices?: number;
  /** Refuse symlinked base folders (see {@link JobTree}). Default true. */
  strict?: boolean;
}

const FINISHED = new Set(['done', 'failed', 'rejected']);

/**
 * The incremental index. Each {@link pass} lists what changed; the caller looks at those jobs (reading them with
 * {@link read} when the peeked status is not enough) and marks the ones it has nothing more to do about as
 * settled ({@link settle}). New jobs come with their peeked status when state.yaml is PyYAML's block style and
 * says done, failed or rejected (the statuses nothing happens to any more); any other job is read in full by the
 * pass itself (`peeked` false).
 */
export class JobIndex<D = unknown> {
  readonly tree: JobTree;
  private readonly known = new Map<string, IndexedJob<D>>();
  private readonly open = new Set<IndexedJob<D>>();
  private readonly slices: number;
  private passNo = 0;
  /** The listings the last walk saw (the same arrays: nothing to walk). */
  private lastPeers: string[] | undefined;
  private readonly lastKeys = new Map<string, string[]>();
  /** Settled jobs by sweep slot. */
  private readonly bySlot: Array<Set<IndexedJob<D>>>;
  /** Bumped whenever the set of open jobs may have changed (watchPaths' cache key). */
  private version = 0;
  private watchCache: { version: number; peers: string[]; limit: number; paths: string[] } | undefined;
  /** Full reads so far (a figure for tests and benchmarks). */
  reads = 0;

  constructor(private readonly o: JobIndexOptions) {
    this.tree = new JobTree(o.root, o.datasite, { strict: o.strict ?? true });
    this.slices = Math.max(1, Math.floor(o.sweepSlices ?? 60));
    this.bySlot = Array.from({ length: this.slices }, () => new Set<IndexedJob<D>>());
  }

  get size(): number {
    return this.known.size;
  }

  get(key: string): IndexedJob<D> | undefined {
    return this.known.get(key);
  }

  /** Every job (in the order they were found). */
  entries(): IterableIterator<IndexedJob<D>> {
    return this.known.values();
  }

  /**
   * One look at the datasite. Cost when nothing changed: an lstat of each listed folder (2 + 2 per data scientist,
   * plus 3 for the base folders), four per open job, one per settled job of this pass's sweep slice; the job
   * listings are walked only when a folder listing changed.
   */
  pass(): IndexPass<D> {
    const first = this.passNo === 0;
    const pass = ++this.passNo;
    const slot = (pass - 1) % this.slices;
    const changed: Array<{ entry: IndexedJob<D>; job?: Job }> = [];
    const removed: IndexedJob<D>[] = [];
    const peers = this.tree.peers();
    const lists = peers.map((ds) => this.tree.jobs(ds));
    let same = peers === this.lastPeers;
    for (let i = 0; same && i < peers.length; i++) same = lists[i]!.keys === this.lastKeys.get(peers[i]!);
    if (!same) {
      // Some listing changed: walk them all, for new jobs and jobs gone.
      this.lastPeers = peers;
      this.lastKeys.clear();
      let listed = 0;
      for (let d = 0; d < peers.length; d++) {
        const ds = peers[d]!;
        const { names, keys } = lists[d]!;
        this.lastKeys.set(ds, keys);
        for (let i = 0; i < names.length; i++) {
          const key = keys[i]!;
          listed++;
          const k = this.known.get(key);
          if (k) k.seen = pass;
          else changed.push(this.discover(ds, names[i]!, key));
        }
      }
      if (this.known.size > listed) {
        for (const [key, k] of this.known) {
          if (k.seen === pass) continue;
          this.known.delete(key);
          this.open.delete(k);
          this.bySlot[k.slot]!.delete(k);
          this.version++;
          removed.push(k);
        }
      }
    }
    // Open jobs: their four stat signatures (jobs found by this pass were just looked at).
    for (const k of this.open) {
      if (k.born === pass) continue;
      const paths = (k.paths ??= jobPaths(this.o.root, this.o.datasite, k.submitter, k.name));
      if (k.sig !== '' && this.sigOf(paths) === k.sig) continue;
      changed.push(this.readChanged(k));
    }
    // Settled jobs of this pass's sweep slice: state.yaml's signature (a DO re-running a job by hand, say).
    const due: IndexedJob<D>[] = [];
    for (const k of this.bySlot[slot]!) if (statSig(k.statePath) !== k.stateSig) due.push(k);
    for (const k of due) {
      this.unsettle(k);
      changed.push(this.readChanged(k));
    }
    return { first, changed, removed, jobs: this.known.size };
  }

  /**
   * Read a job in full (config.yaml and state.yaml parsed) and remember its signature: it counts as changed again
   * only when state.yaml, config.yaml, the inbox folder or code/ changes. The signature is taken before reading,
   * so a change during the read is seen by the next pass.
   */
  read(k: IndexedJob<D>): Job {
    const paths = (k.paths ??= jobPaths(this.o.root, this.o.datasite, k.submitter, k.name));
    const sig = this.sigOf(paths);
    const job = readJob(this.o.root, this.o.datasite, k.submitter, k.name);
    this.reads++;
    k.sig = sig;
    k.stateSig = sig.slice(0, sig.indexOf('|'));
    k.status = job.status;
    k.peeked = false;
    return job;
  }

  /** The job's paths (cached while it is open). */
  paths(k: IndexedJob<D>): JobPaths {
    return k.paths ?? (k.settled ? jobPaths(this.o.root, this.o.datasite, k.submitter, k.name) : (k.paths = jobPaths(this.o.root, this.o.datasite, k.submitter, k.name)));
  }

  /** inbox/<ds>/<job>/config.yaml (not cached). */
  configPath(k: IndexedJob<D>): string {
    return k.paths?.config ?? `${this.tree.base!}${path.sep}inbox${path.sep}${k.submitter}${path.sep}${k.name}${path.sep}config.yaml`;
  }

  /** Nothing more to do about this job until its state.yaml changes (checked by the sweep). */
  settle(k: IndexedJob<D>): void {
    if (k.settled) return;
    k.settled = true;
    delete k.paths;
    this.open.delete(k);
    this.bySlot[k.slot]!.add(k);
    this.version++;
  }

  /** Look at this job every pass again. */
  unsettle(k: IndexedJob<D>): void {
    if (!k.settled) return;
    k.settled = false;
    this.bySlot[k.slot]!.delete(k);
    this.open.add(k);
    this.version++;
  }

  /** Open jobs (looked at every pass). */
  openJobs(): ReadonlySet<IndexedJob<D>> {
    return this.open;
  }

  /**
   * Folders worth watching: `job/`, `inbox/`, `review/`, each data scientist's folders, and the folders of open jobs.
   * The same array while nothing of that changed.
   */
  watchPaths(limit = 2000): string[] {
    const base = this.tree.base;
    if (base === undefined) return EMPTY;
    const peers = this.tree.inboxPeers();
    const c = this.watchCache;
    if (c && c.version === this.version && c.peers === peers && c.limit === limit) return c.paths;
    // `job/` itself too: until the approve service creates `review/`, its appearance is an event there.
    const out = [base, path.join(base, 'inbox'), path.join(base, 'review')];
    for (const ds of peers) out.push(path.join(base, 'inbox', ds), path.join(base, 'review', ds));
    for (const k of this.open) {
      if (out.length >= limit) break;
      const p = this.paths(k);
      out.push(p.inboxDir, p.codeDir, p.reviewDir);
    }
    this.watchCache = { version: this.version, peers, limit, paths: out };
    return out;
  }

  private discover(ds: string, name: string, key: string): { entry: IndexedJob<D>; job?: Job } {
    // Names come from a listing (path segments), so the state path is plain concatenation; the other paths are only
    // made for jobs that stay open (a cold pass over 10,000 finished jobs allocates little).
    const statePath = `${this.tree.base!}${path.sep}review${path.sep}${ds}${path.sep}${name}${path.sep}state.yaml`;
    const k: IndexedJob<D> = { key, submitter: ds, name, statePath, status: null, peeked: false, settled: false, sig: '', stateSig: '-', slot: slotOf(key, this.slices), seen: this.passNo, born: this.passNo };
    this.known.set(key, k);
    this.open.add(k);
    this.version++;
    // First look: finished jobs (most of a datasite) are recognised by their status line alone.
    const stateSig = statSig(statePath);
    const peeked = stateSig === '-' ? undefined : peekStatus(statePath);
    if (peeked !== undefined && FINISHED.has(peeked)) {
      k.status = peeked;
      k.peeked = true;
      k.stateSig = stateSig;
      // Open until the caller settles it; it is read at the next pass unless it does (sig '').
      return { entry: k };
    }
    return this.readChanged(k);
  }

  private readChanged(k: IndexedJob<D>): { entry: IndexedJob<D>; job?: Job } {
    try {
      return { entry: k, job: this.read(k) };
    } catch {
      // A vanished folder, say: looked at again next pass (the caller sees it as not read, status unknown).
      k.sig = '';
      k.status = null;
      k.peeked = false;
      return { entry: k };
    }
  }

  private sigOf(p: JobPaths): string {
    return `${statSig(p.state)}|${statSig(p.inboxDir)}|${statSig(p.codeDir)}|${statSig(p.config)}`;
  }
}
