import * as path from 'node:path';
import {
  approve,
  createState,
  fingerprint,
  jobPaths,
  readJob,
  receive,
  replaceState,
  snapshotSubmission,
  submissionEntries,
  submissionShape,
  SettleTracker,
  systemClock,
  type Clock,
  type Job,
  type JobConfig,
  type JobPaths,
} from '../datasite';
import { JobTree, peekStatus, SETTLED_SWEEP_S, slotOf, statSig, statusFromText, sweepSlicesFor } from '../datasite/job-index';
import { snapshotJob, storedCopyReader, validateJob, type ApprovalObjects, type ExpectedRunSh, type JobSnapshot } from '../approval';
import type { AuditLog } from './audit';
import { jobRefusals } from './judge';
import type { ApproveStateStore } from './state';

/** The auto-approval objects as the engine sees them; `version` changes whenever config.yaml's objects change. */
export interface ObjectsView {
  enabled: boolean;
  objects: ApprovalObjects;
  version: string;
}

export interface RunPort {
  /** Queue a run of the validated bytes; `stateText` is the approved state.yaml the decision wrote. */
  enqueue(job: Job, snapshot: JobSnapshot, stateText: string): void;
  has(job: Job): boolean;
}

export interface EngineLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface EngineDeps {
  root: string;
  doEmail: string;
  objects: () => ObjectsView;
  expectedRunSh: ExpectedRunSh;
  audit: AuditLog;
  state: ApproveStateStore;
  runner?: RunPort;
  /** Run jobs the DO approved by hand (approve.run_approved_jobs). */
  runApprovedJobs: boolean;
  logger: EngineLogger;
  clock?: Clock;
  nowMs?: () => number;
  /**
   * Called during the first pass for each job found `running` (left so by a runner that died): the service marks
   * it failed (lib/runner recoverJob). Only the first pass calls it: later `running` jobs are our own runs.
   */
  recoverRunning?: (job: Job) => void;
  /**
   * Settled jobs (rejected, running, done, failed) are re-checked in this many rotating slices, one slice per pass,
   * so each is looked at again every `sweepSlices` passes (the service: every 5 minutes, `sweepSlicesFor`) at
   * 1/`sweepSlices` of the cost per pass. Default 12.
   */
  sweepSlices?: number;
}

export interface PassStats {
  jobs: number;
  read: number;
  received: number;
  rejected: number;
  approved: number;
  notApproved: number;
  queued: number;
  ms: number;
}

interface Known {
  /** stat signature of state.yaml + the inbox job dir + code/: when equal, the job need not be read again. */
  sig: string;
  /** stat signature of state.yaml alone (what a settled job is re-checked by). */
  stateSig: string;
  /** Which sweep slice re-checks this job while it is settled. */
  slot: number;
  /** The pass that last listed it (entries not listed any more are dropped). */
  seen: number;
  /** Its paths, kept for jobs that were read (open ones are looked at every pass). */
  paths?: JobPaths;
  /** review/<ds>/<job>/state.yaml (kept: a settled job is re-checked by this path alone). */
  statePath: string;
  status: string | null;
  /** For pending jobs: the submission fingerprint + objects version of the last evaluation. */
  evaluated?: string;
  /** For approved jobs: the state signature a run was queued for (one attempt per state: a refused run is not retried until state.yaml changes). */
  queuedFor?: string;
}

const SETTLED_STATUSES = new Set(['rejected', 'running', 'done', 'failed']);
/** Statuses a first look at state.yaml may take on trust (they lead to no action; anything else is parsed in full). */
const PEEKABLE = new Set(['rejected', 'done', 'failed']);
// The status peek, sweep slots and folder listings are shared with the notify service (lib/datasite/job-index.ts).
export { peekStatus, statusFromText, SETTLED_SWEEP_S, sweepSlicesFor };

function toRawConfig(c: JobConfig): Record<string, unknown> {
  return c as unknown as Record<string, unknown>;
}

/**
 * One pass of the approve service over the local datasite (pure logic over a thin fs layer):
 * receive new submissions (pending at once when their shape is right, so approval is not delayed; rejected
 * with syft-job's reason only once the settle rule says they stopped changing), evaluate pending jobs once per
 * change of their files or of the objects, approve matches exactly as `JobInfo.approve(approval_method="auto")`
 * writes it, and hand approved jobs to the runner with the very bytes that were validated.
 *
 * Incremental: a job whose state.yaml and inbox folder are unchanged since the last pass is not read again, and
 * settled jobs (rejected, running, done, failed) are not looked at until their state.yaml changes.
 */
export class ApproveEngine {
  private readonly known = new Map<string, Known>();
  private full = true;
  private passNo = 0;
  private readonly slices: number;
  /** Folder listings, read again only when a folder changed (the same arrays while unchanged). */
  private readonly tree: JobTree;
  /** Bumped whenever the set of open jobs may have changed (watchPaths' cache key). */
  private openVersion = 0;
  private watchCache: { version: number; peers: string[]; limit: number; paths: string[] } | undefined;
  private readonly settle = new SettleTracker();
  private readonly clock: Clock;
  private readonly nowMs: () => number;

  constructor(private readonly d: EngineDeps) {
    this.clock = d.clock ?? systemClock;
    this.nowMs = d.nowMs ?? Date.now;
    this.slices = Math.max(1, Math.floor(d.sweepSlices ?? 12));
    this.tree = new JobTree(d.root, d.doEmail);
  }

  /**
   * Folders worth watching: the inbox tree down to the jobs still open, and their review folders. The same array
   * is returned until a job opens or settles or a data scientist folder appears, so callers can skip the diff.
   */
  watchPaths(limit = 2000): string[] {
    const base = path.join(this.d.root, this.d.doEmail, 'app_data', 'job');
    const peers = this.tree.inboxPeers();
    const c = this.watchCache;
    if (c && c.version === this.openVersion && c.peers === peers && c.limit === limit) return c.paths;
    const out = [path.join(base, 'inbox'), path.join(base, 'review')];
    for (const ds of peers) out.push(path.join(base, 'inbox', ds), path.join(base, 'review', ds));
    for (const [key, k] of this.known) {
      if (out.length >= limit) break;
      if (k.status && SETTLED_STATUSES.has(k.status)) continue;
      const [ds, job] = key.split('/', 2) as [string, string];
      const p = k.paths ?? jobPaths(this.d.root, this.d.doEmail, ds, job);
      out.push(p.inboxDir, p.codeDir, p.reviewDir);
    }
    this.watchCache = { version: this.openVersion, peers, limit, paths: out };
    return out;
  }

  /**
   * `full`: also look again at pending jobs whose folders look unchanged (a file rewritten in place inside
   * code/ does not change any folder's mtime). Run a full pass now and then (the service: about once a minute);
   * other passes only re-read jobs whose state.yaml, job folder or code/ folder changed. Deciding later never
   * makes a decision unsafe: the bytes that are validated are the bytes that run.
   *
   * Cost: folders are listed again only when they changed; open jobs (received, pending, approved) cost three
   * lstat calls a pass; settled jobs cost one lstat every `sweepSlices` passes. The first pass reads every
   * state.yaml once, and parses only those that may need action (done/failed/rejected are recognised by their
   * status line).
   */
  pass(opts: { full?: boolean } = {}): PassStats {
    this.full = opts.full ?? true;
    const first = this.passNo === 0;
    const slot = this.passNo++ % this.slices;
    const t0 = this.nowMs();
    const s: PassStats = { jobs: 0, read: 0, received: 0, rejected: 0, approved: 0, notApproved: 0, queued: 0, ms: 0 };
    const objects = this.d.objects();
    let listed = 0;
    for (const ds of this.tree.peers()) {
      const { names, keys } = this.tree.jobs(ds);
      for (let i = 0; i < names.length; i++) {
        const name = names[i]!;
        const key = keys[i]!;
        listed++;
        s.jobs++;
        const k = this.known.get(key);
        if (k) {
          k.seen = this.passNo;
          if (k.status !== null && SETTLED_STATUSES.has(k.status)) {
            // Settled: only a new state.yaml can make it interesting again (a DO re-running it by hand, say).
            if (k.slot !== slot || statSig(k.statePath) === k.stateSig) continue;
          }
        }
        this.visit(ds, name, key, objects, s, first);
      }
    }
    if (this.known.size > listed) {
      for (const [key, k] of this.known) {
        if (k.seen === this.passNo) continue;
        this.known.delete(key);
        this.openVersion++;
      }
    }
    s.ms = this.nowMs() - t0;
    return s;
  }

  private visit(ds: string, name: string, key: string, objects: ObjectsView, s: PassStats, first: boolean): void {
    const k = this.known.get(key);
    const paths = k?.paths ?? jobPaths(this.d.root, this.d.doEmail, ds, name);
    if (!k) {
      // First look: done/failed/rejected jobs (most of a datasite) are recognised by their status line alone.
      const stateSig = statSig(paths.state);
      const peeked = stateSig === '-' ? undefined : peekStatus(paths.state);
      if (peeked !== undefined && PEEKABLE.has(peeked)) {
        this.known.set(key, { sig: `${stateSig}|?`, stateSig, slot: slotOf(key, this.slices), statePath: paths.state, seen: this.passNo, status: peeked });
        return;
      }
    }
    const sig = this.sigOf(paths);
    if (k && k.sig === sig && k.status !== null) {
      if (SETTLED_STATUSES.has(k.status)) return;
      if (k.status === 'approved' && (!this.d.runner || k.queuedFor === sig)) return;
      if (k.status === 'pending' && k.evaluated?.startsWith(`${objects.version}|`)) {
        if (!this.full) return;
        // A full pass: a file rewritten in place inside code/ changes no folder, but it changes the fingerprint.
        if (k.evaluated === `${objects.version}|${fingerprint(snapshotSubmission(paths, this.nowMs()))}`) return;
      }
    }
    let job: Job;
    try {
      job = readJob(this.d.root, this.d.doEmail, ds, name);
    } catch (e) {
      this.d.logger.warn({ job: key, err: e }, `cannot read job ${key}: ${(e as Error).message}`);
      return;
    }
    s.read++;
    const entry: Known = {
      sig,
      stateSig: sig.slice(0, sig.indexOf('|')),
      slot: k?.slot ?? slotOf(key, this.slices),
      statePath: paths.state,
      seen: this.passNo,
      status: job.status,
      paths,
      ...(k?.evaluated ? { evaluated: k.evaluated } : {}),
      ...(k?.queuedFor ? { queuedFor: k.queuedFor } : {}),
    };
    this.known.set(key, entry);
    if (!k || k.status !== entry.status) this.openVersion++;
    switch (job.status) {
      case 'received':
        this.receive(job, entry, s);
        break;
      case 'pending':
        if (objects.enabled) this.evaluate(job, entry, objects, s);
        break;
      case 'approved':
        this.maybeRun(job, entry, s);
        break;
      case 'running':
        if (first && this.d.recoverRunning) {
          this.d.recoverRunning(job);
          entry.sig = '';
          entry.stateSig = '';
          entry.status = null; // look again next pass
          this.openVersion++;
        }
        break;
      default:
        break;
    }
  }

  private sigOf(p: { state: string; inboxDir: string; codeDir: string }): string {
    return `${statSig(p.state)}|${statSig(p.inboxDir)}|${statSig(p.codeDir)}`;
  }

  private resig(entry: Known, p: { state: string; inboxDir: string; codeDir: string }): void {
    entry.sig = this.sigOf(p);
    entry.stateSig = entry.sig.slice(0, entry.sig.indexOf('|'));
  }

  private receive(job: Job, entry: Known, s: PassStats): void {
    if (!job.hasInbox) return;
    const entries = submissionEntries(job.paths);
    const shape = submissionShape(entries);
    if (shape === 'not-a-job') return;
    let decision: 'now' | 'wait' = shape === 'valid' ? 'now' : 'wait';
    if (decision === 'wait') {
      // A wrong shape is rejected for good: only once the submission has stopped changing.
      const v = this.settle.observe(job.key, snapshotSubmission(job.paths, this.nowMs()));
      if (!v.settled) return;
      decision = 'now';
    }
    const r = receive(entries, this.d.doEmail, this.clock);
    if (r.kind === 'hold') return;
    const w = createState(this.d.root, job.id, r.state);
    this.settle.forget(job.key);
    if (!w.written) return; // someone else (a Python scan_inbox) received it first
    entry.status = r.kind;
    this.openVersion++;
    this.resig(entry, job.paths);
    if (r.kind === 'pending') {
      s.received++;
      this.d.audit.append({ datasite: this.d.doEmail, submitter: job.id.submitter, job: job.id.name, verdict: 'received' });
      // Evaluate right away (the same pass), so approval does not wait for the next event.
      const again = readJob(this.d.root, this.d.doEmail, job.id.submitter, job.id.name);
      const objects = this.d.objects();
      if (again.status === 'pending' && objects.enabled) this.evaluate(again, entry, objects, s);
    } else {
      s.rejected++;
      this.d.audit.append({ datasite: this.d.doEmail, submitter: job.id.submitter, job: job.id.name, verdict: 'rejected', reason: r.reason });
      this.d.logger.info({ job: job.key, reason: r.reason }, `Rejected: ${job.key} (${r.reason})`);
    }
  }

  private evaluate(job: Job, entry: Known, objects: ObjectsView, s: PassStats): void {
    if (job.state.kind !== 'ok') return;
    const fp = `${objects.version}|${fingerprint(snapshotSubmission(job.paths, this.nowMs()))}`;
    if (entry.evaluated === fp) return;
    const snapshot = snapshotJob(job.paths.codeDir, { status: 'pending', submitter: job.id.submitter });
    const verdict = validateJob(snapshot, { objects: objects.objects, storedCopy: storedCopyReader(), expectedRunSh: this.d.expectedRunSh });
    const refusals = jobRefusals(job);
    const approved = verdict.approved && refusals.length === 0;
    entry.evaluated = fp;
    const who = { datasite: this.d.doEmail, submitter: job.id.submitter, job: job.id.name };
    if (!approved) {
      const reason = verdict.approved ? (refusals[0] as string) : verdict.reason;
      s.notApproved++;
      this.d.audit.append({ ...who, verdict: 'not-approved', reason, hashes: verdict.hashes });
      this.d.logger.info({ job: job.key, reason }, `Skipped: ${job.key} (${reason})`);
      return;
    }
    const next = approve(job.state.value, { approvedBy: this.d.doEmail, method: 'auto', jobName: job.id.name }, this.clock);
    const w = replaceState(this.d.root, job.id, job.state.text, next);
    if (!w.written) {
      this.d.logger.warn({ job: job.key }, `state.yaml of ${job.key} changed while it was evaluated; will look again`);
      entry.evaluated = undefined;
      return;
    }
    s.approved++;
    entry.status = 'approved';
    this.openVersion++;
    this.resig(entry, job.paths);
    this.d.audit.append({ ...who, verdict: 'approved', object: verdict.object, reason: 'ok', hashes: verdict.hashes, ...(verdict.runShHash ? { run_sh: verdict.runShHash } : {}) });
    this.d.state.update((st) => recordApproval(st, this.d.doEmail, job.id.submitter, job.id.name, next.approved_at ?? '', verdict.object));
    this.d.logger.info({ job: job.key, object: verdict.object }, `Approved: ${job.id.name} from ${job.id.submitter}`);
    if (this.d.runner) {
      this.d.runner.enqueue({ ...job, status: 'approved' }, snapshot, w.text);
      entry.queuedFor = entry.sig;
      s.queued++;
    }
  }

  private maybeRun(job: Job, entry: Known, s: PassStats): void {
    const runner = this.d.runner;
    if (!runner || runner.has(job) || job.state.kind !== 'ok' || entry.queuedFor === entry.sig) return;
    const ours = job.state.value.approval_method === 'auto';
    if (!ours && !this.d.runApprovedJobs) return;
    const snapshot = snapshotJob(job.paths.codeDir, { status: 'approved', submitter: job.id.submitter });
    runner.enqueue(job, snapshot, job.state.text);
    entry.queuedFor = entry.sig;
    s.queued++;
  }
}

// Local import kept at the bottom to avoid a cycle in the type-only section above.
import { recordApproval } from './state';

export { toRawConfig };
