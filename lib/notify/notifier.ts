/**
 * The notify service's engine (thin shell over the pure modules): watch the datasite's jobs and the peer source,
 * turn what changed into mails, and send each exactly once.
 *
 *   scan()   look at the jobs that changed (job-tracker.ts over lib/datasite/job-index.ts: incremental, a job whose
 *            mails are all done costs nothing) and, now and then, the peers → the events they warrant (events.ts)
 *            minus those the journal says are done → the outbox queue, in order (per job: DO chain, DS chain).
 *   pump()   send the queue: the first mail whose chain predecessors are done and whose retry time has come, at the
 *            paced rate (pacing.ts). Per mail: journal `intent` (fsync) → transport.send → journal `sent`.
 *            A mail whose last record is `intent` (a crash between send and record) or an ambiguous failure is first
 *            looked up by its stable Message-ID (`transport.find`) and only sent if it is not there.
 *
 * First start (no journal): the Python `notify/state.json` is imported when it holds anything; otherwise every
 * job and peer that exists is marked seen, so nothing old is mailed (reference §7.5). "Exists" means: written
 * before this process started (`seedBefore`), so a job that lands while the service is starting up is mailed.
 * One exception: a finished job (state.yaml says done, failed or rejected) whose config.yaml exists is seeded
 * without parsing config.yaml, so an unparseable config.yaml there is seeded too (nothing was ever mailed for it).

 */
import { readJob, type Job } from '../datasite/jobs';
import { jobPaths } from '../datasite/paths';
import { writeFileAtomic } from '../fs/atomic';
import { GoogleApiError, classify } from '../google/retry';
import type { MailTransport } from '../mail/transport';
import { composeEvent, threadInfo, type JobDetails } from './compose';
import { eventKey, eventMessageId, isDone, parseEventKey, peerEvents, peerSeedEvents, type EventView, type JobEvent, type NotifyEvent, type PeerEntry } from './events';
import { JobTracker } from './job-tracker';
import { readJobCode, readReturnCode, readStderr } from './jobfiles';
import type { Journal, JournalEntry } from './journal';
import { retryDelayMs, TokenBucket, type RateLimit } from './pacing';
import type { PeerSource } from './peers';
import { importPythonState, isPythonStateEmpty, mergeIntoPythonState, readPythonState, writePythonState } from './python-state';

export interface NotifierLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface NotifierOptions {
  root: string;
  doEmail: string;
  journal: Journal;
  transport: MailTransport;
  rate: RateLimit;
  logger: NotifierLogger;
  peers?: PeerSource;
  /** The Python notify/state.json: imported on the first start, kept up to date after. */
  pythonStatePath?: string;
  /** Where `syft-bg status` reads persistent failures (see {@link NotifyStatusFile}). */
  statusFile?: string;
  now?: () => number;
  /** A mail whose last record is a fresh `intent` waits this long before its Message-ID is searched (index lag). */
  uncertainGraceMs?: number;
  /** How long a scan waits for a peer poll before going on without it (default 2 s). */
  peerWaitMs?: number;
  /** A job whose config.yaml lists files not (yet) in code/ is mailed anyway after this long. */
  arrivalCapMs?: number;
  retryBaseMs?: number;
  retryCapMs?: number;
  /**
   * First start without a journal or Python state: only jobs whose files are older than this (ms since the epoch)
   * are seeded as seen; newer ones are mailed. Default: when this process started (`process.uptime()`), so a job
   * written while the service was starting up (e.g. right after `syft-bg start` returned) is not lost.
   */
  seedBefore?: number;
  /** Passes between two looks at a finished job whose mails are all done (default: 5 min at a pass every 5 s). */
  sweepSlices?: number;
  /** Test hook: called right after the transport accepted a mail, before it is recorded (crash injection). */
  afterSend?: (key: string) => void;
  from?: string;
}

/** `<notify dir>/status.json`, for `syft-bg status`. */
export interface NotifyStatusFile {
  updated_at: string;
  transport: string;
  /** Mails waiting to be sent (ready or not). */
  pending: number;
  sent_since_start: number;
  last_sent_at: string | null;
  /** Nothing is sent before this time (quota / rate limit from the server, or repeated failures). */
  paused_until: string | null;
  /** Mails whose last attempt failed; retried at next_attempt_at. */
  failing: Array<{ key: string; event: string; to: string | null; subject: string | null; attempts: number; last_error: string; next_attempt_at: string | null }>;
}

interface QueueItem {
  key: string;
  event: NotifyEvent;
  /** Keys that must be done first (earlier mails of the same chain this job warrants). */
  needs: string[];
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done);
  });

/** Wait for `p` (which never rejects) or `ms`, whichever comes first. */
async function waitAtMost(p: Promise<void>, ms: number): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((r) => (t = setTimeout(r, ms)))]);
  clearTimeout(t);
}

export class Notifier {
  private readonly o: Required<Pick<NotifierOptions, 'uncertainGraceMs' | 'arrivalCapMs' | 'retryBaseMs' | 'retryCapMs' | 'peerWaitMs'>> & NotifierOptions;
  private readonly now: () => number;
  private readonly bucket: TokenBucket;
  private queue: QueueItem[] = [];
  private peersNow: PeerEntry[] | undefined;
  private lastPeerList = -Infinity;
  /** The peer poll in flight, if any. */
  private peerPoll: Promise<void> | undefined;
  private readonly jobs: JobTracker;
  private pumping: Promise<void> | undefined;
  private consecutiveFailures = 0;
  private pausedUntil = 0;
  private sentCount = 0;
  private lastSentAt: number | undefined;
  private pyDirty = true; // refreshed at every start: a crash may have left it behind the journal
  private lastPyWrite = 0;
  private lastStatusWrite = 0;
  private statusDirty = true;

  constructor(opts: NotifierOptions) {
    this.o = { uncertainGraceMs: 10_000, arrivalCapMs: 60_000, retryBaseMs: 30_000, retryCapMs: 3_600_000, peerWaitMs: 2000, ...opts };
    this.now = opts.now ?? Date.now;
    this.bucket = new TokenBucket(opts.rate, this.now());
    this.jobs = new JobTracker({
      root: opts.root,
      doEmail: opts.doEmail,
      isDone: (key) => {
        const s = this.o.journal.get(key)?.s;
        return s === 'sent' || s === 'seen';
      },
      arrivalCapMs: this.o.arrivalCapMs,
      now: this.now,
      ...(opts.sweepSlices !== undefined ? { sweepSlices: opts.sweepSlices } : {}),
    });
  }

  get journal(): Journal {
    return this.o.journal;
  }

  /** First start: import the Python state or seed what exists. Returns what was done. */
  async init(): Promise<{ mode: 'existing' | 'python' | 'seeded'; records: number }> {
    const j = this.o.journal;
    if (!j.fresh) return { mode: 'existing', records: j.size };
    const py = this.o.pythonStatePath ? readPythonState(this.o.pythonStatePath) : undefined;
    if (py && !isPythonStateEmpty(py)) {
      const imp = importPythonState(py, this.o.doEmail, this.jobs.listed());
      j.initialise(imp.records, imp.peers);
      this.o.logger.info({ records: imp.records.length, peers: imp.peers?.length ?? null, from: this.o.pythonStatePath }, `imported the Python notify state (${imp.records.length} mails already sent)`);
      return { mode: 'python', records: imp.records.length };
    }
    const seedBefore = this.o.seedBefore ?? processStartMs();
    const seeded = this.jobs.seedRecords(seedBefore);
    const seed: JournalEntry[] = seeded.keys.map((k) => ({ k, s: 'seen' as const }));
    let peers: string[] | undefined;
    const current = await this.listPeers();
    this.lastPeerList = this.now(); // this listing counts: the first scan does not list again
    if (current) {
      this.peersNow = current;
      for (const ev of peerSeedEvents(this.o.doEmail, current)) seed.push({ k: eventKey(ev), s: 'seen' });
      peers = current.map((p) => p.email);
    }
    j.initialise(seed, peers);
    if (seeded.jobs) this.o.logger.info({ jobs: seeded.jobs }, `Seeded ${seeded.jobs} existing jobs on fresh state`);
    if (peers?.length) this.o.logger.info({ peers: peers.length }, `Seeded ${peers.length} existing peers on fresh state`);
    this.pyDirty = true;
    return { mode: 'seeded', records: seed.length };
  }

  /**
   * Detect: rebuild the queue from the datasite (and the peers when due). A peer poll (Drive) is waited for at most
   * `peerWaitMs`: a slow or retrying Drive never holds up the job mails; its result is used by a later scan.
   */
  async scan(): Promise<void> {
    const now = this.now();
    const peerSource = this.o.peers;
    if (peerSource && this.peerPoll === undefined && now - this.lastPeerList >= peerSource.minIntervalMs) {
      this.lastPeerList = now;
      const poll: Promise<void> = this.pollPeers()
        .catch((e) => this.o.logger.error({ err: e }, `peer poll failed: ${(e as Error).message}`))
        .finally(() => {
          if (this.peerPoll === poll) this.peerPoll = undefined;
        });
      this.peerPoll = poll;
    }
    if (this.peerPoll) await waitAtMost(this.peerPoll, this.o.peerWaitMs);
    const firstScan = this.jobs.firstPassMs === undefined;
    this.jobs.scan();
    if (firstScan) {
      const ms = Math.round(this.jobs.firstPassMs ?? 0);
      const ix = this.jobs.index;
      this.o.logger.info({ jobs: ix.size, read: ix.reads, open: ix.openJobs().size, ms }, `first pass: ${ix.size} jobs in ${ms} ms (${ix.reads} read in full, ${ix.openJobs().size} left open)`);
    }
    const items: QueueItem[] = [];
    for (const p of this.jobs.pending()) if (!isDone(this.view(p.key))) items.push(p);
    // Peers new since the stored snapshot (§7.3) and accepted peers not yet told (retried until sent).
    if (this.peersNow && this.o.journal.peers !== undefined) {
      for (const ev of peerEvents(this.o.doEmail, this.o.journal.peers, this.peersNow)) {
        const key = eventKey(ev);
        if (!isDone(this.view(key))) items.push({ key, event: ev, needs: [] });
      }
    }
    if (items.length !== this.queue.length) this.statusDirty = true;
    this.queue = items;
  }

  /** Kick the sender if it is not running (the service calls this after each scan). */
  kick(signal?: AbortSignal): Promise<void> {
    this.pumping ??= this.pump(signal).finally(() => {
      this.pumping = undefined;
    });
    return this.pumping;
  }

  /** scan + send everything that can go now (tests, `--once`). */
  async runOnce(signal?: AbortSignal): Promise<void> {
    await this.scan();
    await this.kick(signal);
  }

  /**
   * Wait for a running pump to finish, and for a peer poll in flight at most `peerWaitMs` (service stop: a Drive call
   * being retried must not outlast PM2's kill timeout; nothing is lost, the next start lists the peers again).
   */
  async idle(): Promise<void> {
    await this.pumping;
    if (this.peerPoll) await waitAtMost(this.peerPoll, this.o.peerWaitMs);
  }

  /** Send until nothing is due now (waiting for the rate limiter in between). */
  async pump(signal?: AbortSignal): Promise<void> {
    try {
      for (;;) {
        if (signal?.aborted) return;
        const now = this.now();
        if (now < this.pausedUntil) return;
        const item = this.nextDue(now);
        if (!item) return;
        const wait = this.bucket.delay(now);
        if (wait > 0) {
          this.flushFiles(false);
          await sleep(wait, signal);
          continue;
        }
        this.bucket.tryTake(now);
        await this.deliver(item);
        this.queue = this.queue.filter((q) => q !== item || !isDone(this.view(q.key)));
      }
    } finally {
      this.updatePeerSnapshot();
      this.flushFiles(true);
    }
  }

  /**
   * Folders whose changes matter: the job tree, and each job that can still produce mail. The same array while
   * that set is unchanged (lib/service/loop.ts then skips the diff).
   */
  watchPaths(limit = 2000): string[] {
    return this.jobs.watchPaths(limit);
  }

  /** The job index's figures: jobs listed, full reads so far, jobs looked at every pass (tests, benchmarks). */
  jobStats(): { jobs: number; read: number; open: number } {
    const ix = this.jobs.index;
    return { jobs: ix.size, read: ix.reads, open: ix.openJobs().size };
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Write the status file and the Python state now (service stop). */
  flush(): void {
    this.flushFiles(true);
  }

  status(): NotifyStatusFile {
    const failing: NotifyStatusFile['failing'] = [];
    for (const e of this.o.journal.failed()) {
      const ev = parseEventKey(e.k);
      failing.push({ key: e.k, event: ev?.kind ?? '?', to: e.to ?? null, subject: e.subj ?? null, attempts: e.n ?? 1, last_error: e.err ?? '', next_attempt_at: e.next ?? null });
    }
    return {
      updated_at: new Date(this.now()).toISOString(),
      transport: this.o.transport.kind,
      pending: this.queue.length,
      sent_since_start: this.sentCount,
      last_sent_at: this.lastSentAt !== undefined ? new Date(this.lastSentAt).toISOString() : null,
      paused_until: this.pausedUntil > this.now() ? new Date(this.pausedUntil).toISOString() : null,
      failing,
    };
  }

  // -------------------------------------------------------------------------------------------------------------

  /**
   * The stored snapshot takes a new peer only once both its request mails are done, so a peer detected but not yet
   * mailed is detected again after a restart. Peers gone from the listing leave it (as in the reference).
   */
  private updatePeerSnapshot(): void {
    const j = this.o.journal;
    if (!this.peersNow || j.peers === undefined) return;
    const prev = new Set(j.peers);
    const ds = this.o.doEmail;
    const next = this.peersNow
      .map((p) => p.email)
      .filter(
        (e) =>
          prev.has(e) ||
          (isDone(this.view(eventKey({ type: 'peer', kind: 'new_peer_request', datasite: ds, peer: e }))) &&
            isDone(this.view(eventKey({ type: 'peer', kind: 'peer_request_sent', datasite: ds, peer: e })))),
      );
    if (JSON.stringify(next) !== JSON.stringify(j.peers)) {
      j.setPeers(next);
      this.pyDirty = true;
    }
  }

  private async pollPeers(): Promise<void> {
    const current = await this.listPeers();
    if (!current) return;
    const j = this.o.journal;
    if (j.peers === undefined) {
      // First snapshot ever (e.g. Drive was unreachable at the first start): seed, mail nothing.
      j.appendMany(peerSeedEvents(this.o.doEmail, current).filter((e) => !isDone(this.view(eventKey(e)))).map((e) => ({ k: eventKey(e), s: 'seen' as const })));
      j.setPeers(current.map((p) => p.email));
      this.pyDirty = true;
    }
    this.peersNow = current;
    this.updatePeerSnapshot();
  }

  private view(key: string): (EventView & { mid?: string }) | undefined {
    const e = this.o.journal.get(key);
    return e ? { status: e.s, ...(e.tid ? { threadId: e.tid } : {}), ...(e.mid ? { mid: e.mid } : {}) } : undefined;
  }

  private async listPeers(): Promise<PeerEntry[] | undefined> {
    if (!this.o.peers) return undefined;
    try {
      return await this.o.peers.list();
    } catch (e) {
      this.o.logger.warn({ err: e, source: this.o.peers.kind }, `peers not listed: ${(e as Error).message}`);
      return undefined;
    }
  }

  private nextDue(now: number): QueueItem | undefined {
    for (const item of this.queue) {
      const e = this.o.journal.get(item.key);
      if (isDone(e ? { status: e.s } : undefined)) continue;
      if (!item.needs.every((k) => isDone(this.view(k)))) continue;
      if (e?.s === 'failed' && e.next && Date.parse(e.next) > now) continue;
      if (e?.s === 'intent' && e.t && Date.parse(e.t) + this.o.uncertainGraceMs > now) continue;
      return item;
    }
    return undefined;
  }

  private details(ev: JobEvent): JobDetails {
    const { submitter, name } = ev.job;
    const d: JobDetails = {};
    let job: Job;
    try {
      job = readJob(this.o.root, this.o.doEmail, submitter, name);
    } catch {
      return d;
    }
    if (job.config.kind === 'ok') {
      const t = Date.parse(job.config.value.submitted_at);
      if (!Number.isNaN(t)) d.submittedAt = new Date(t);
    }
    if (ev.kind === 'new') d.code = readJobCode(job.paths.codeDir);
    if (ev.kind === 'failed') {
      d.errorOutput = readStderr(job.paths.stderr);
      d.returnCode = readReturnCode(job.paths.returncode);
      if (d.returnCode === null && job.state.kind === 'ok') d.returnCode = job.state.value.return_code;
    }
    if ((ev.kind === 'rejected' || ev.kind === 'rejected_ds') && job.state.kind === 'ok') d.reason = job.state.value.review_reason;
    return d;
  }

  private async deliver(item: QueueItem): Promise<void> {
    const { key, event } = item;
    const j = this.o.journal;
    const mid = eventMessageId(key, this.o.doEmail);
    const prev = j.get(key);
    const attempts = prev?.n ?? 0;
    const log = this.o.logger;
    const what = describe(event);
    if (prev && (prev.s === 'intent' || (prev.s === 'failed' && prev.amb))) {
      // It may have gone out: ask the mailbox before sending it again.
      let found;
      try {
        found = await this.o.transport.find(mid);
      } catch (e) {
        this.fail(item, mid, prev, e, true);
        return;
      }
      if (found) {
        j.append({ k: key, s: 'sent', mid, ...(found.threadId ? { tid: found.threadId } : {}), id: found.id });
        this.pyDirty = this.statusDirty = true;
        log.info({ key, message_id: mid, id: found.id }, `${what}: already delivered before a restart (found by Message-ID); not sent again`);
        return;
      }
    }
    const composed = composeEvent(event, {
      doEmail: this.o.doEmail,
      messageId: mid,
      thread: threadInfo(event, (k) => this.view(k)),
      ...(event.type === 'job' ? { details: this.details(event) } : {}),
      ...(this.o.from ? { from: this.o.from } : {}),
    });
    j.append({ k: key, s: 'intent', mid, n: attempts, to: composed.to, subj: composed.message.subject });
    let r;
    try {
      r = await this.o.transport.send(composed.message, composed.threadId ? { threadId: composed.threadId } : {});
    } catch (e) {
      this.fail(item, mid, { k: key, s: 'intent', n: attempts, to: composed.to, subj: composed.message.subject }, e, false);
      return;
    }
    this.o.afterSend?.(key);
    j.append({ k: key, s: 'sent', mid, ...(r.threadId ? { tid: r.threadId } : {}), id: r.id }, { lazy: true });
    this.consecutiveFailures = 0;
    this.sentCount++;
    this.lastSentAt = this.now();
    this.pyDirty = this.statusDirty = true;
    log.info({ key, to: composed.to, subject: composed.message.subject, message_id: mid, thread_id: r.threadId ?? null, transport: this.o.transport.kind }, `Sent ${what} to ${composed.to}`);
  }

  private fail(item: QueueItem, mid: string, prev: JournalEntry, e: unknown, lookupFailed: boolean): void {
    const now = this.now();
    const n = (prev.n ?? 0) + 1;
    const f = failureKind(e);
    let delay = retryDelayMs(n, this.o.retryBaseMs, this.o.retryCapMs);
    if (f.retryAfterMs !== undefined) delay = Math.max(delay, f.retryAfterMs);
    // Rate limits and repeated failures (dead token, network down) pause the whole outbox, not just this mail.
    this.consecutiveFailures++;
    const pause = f.rateLimited ? Math.max(f.retryAfterMs ?? 0, retryDelayMs(this.consecutiveFailures, this.o.retryBaseMs, this.o.retryCapMs)) : retryDelayMs(this.consecutiveFailures, this.o.retryBaseMs, this.o.retryCapMs);
    this.pausedUntil = Math.max(this.pausedUntil, now + pause);
    const msg = (e as Error)?.message ?? String(e);
    this.o.journal.append({
      k: item.key,
      s: 'failed',
      mid,
      n,
      next: new Date(now + delay).toISOString(),
      err: msg.slice(0, 500),
      ...(f.ambiguous || lookupFailed || prev.amb ? { amb: true } : {}),
      ...(prev.to ? { to: prev.to } : {}),
      ...(prev.subj ? { subj: prev.subj } : {}),
    });
    this.statusDirty = true;
    this.o.logger.error(
      { key: item.key, attempts: n, retry_in_s: Math.round(delay / 1000), ambiguous: f.ambiguous, rate_limited: f.rateLimited, err: e },
      `${describe(item.event)} not sent (attempt ${n}; retry in ${Math.round(delay / 1000)} s): ${msg}`,
    );
  }

  private flushFiles(force: boolean): void {
    const now = this.now();
    if (this.o.statusFile && this.statusDirty && (force || now - this.lastStatusWrite >= 1000)) {
      try {
        writeFileAtomic(this.o.statusFile, JSON.stringify(this.status(), null, 2) + '\n', { mode: 0o600 });
        this.statusDirty = false;
        this.lastStatusWrite = now;
      } catch (e) {
        this.o.logger.warn({ err: e }, `status file not written: ${(e as Error).message}`);
      }
    }
    if (this.o.pythonStatePath && this.pyDirty && (force || now - this.lastPyWrite >= 2000)) {
      try {
        const journal = this.o.journal;
        // Streamed into the merge (a 10,000-job journal holds ~60,000 records).
        const done = function* (): Generator<{ event: NotifyEvent; threadId?: string }> {
          for (const e of journal.entries()) {
            if (e.s !== 'sent' && e.s !== 'seen') continue;
            const ev = parseEventKey(e.k);
            if (ev) yield { event: ev, ...(e.tid ? { threadId: e.tid } : {}) };
          }
        };
        writePythonState(this.o.pythonStatePath, mergeIntoPythonState(readPythonState(this.o.pythonStatePath), done(), this.o.journal.peers));
        this.pyDirty = false;
        this.lastPyWrite = now;
      } catch (e) {
        this.o.logger.warn({ err: e }, `Python notify state not written: ${(e as Error).message}`);
      }
    }
  }
}

/** How a send failure is retried. */
export function failureKind(e: unknown): { ambiguous: boolean; rateLimited: boolean; retryAfterMs?: number } {
  if (!(e instanceof GoogleApiError)) return { ambiguous: false, rateLimited: false };
  const c = classify(e);
  const rateLimited = e.status === 429 || (e.status === 403 && /rate|limit|quota/i.test(e.reason ?? ''));
  return { ambiguous: c === 'transient', rateLimited, ...(e.retryAfterMs !== undefined ? { retryAfterMs: e.retryAfterMs } : {}) };
}

function describe(ev: NotifyEvent): string {
  return ev.type === 'job' ? `${ev.kind} notification for ${ev.job.submitter}/${ev.job.name}` : `${ev.kind} notification for peer ${ev.peer}`;
}

/** When this process started (ms since the epoch). */
export function processStartMs(): number {
  return Date.now() - process.uptime() * 1000;
}

export { jobPaths };
