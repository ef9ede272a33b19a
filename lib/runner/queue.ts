/**
 * At most `limit` jobs at once (default 1, as syft-job runs approved jobs one after the other), first come first
 * served, never the same job twice at once (a second request for a queued or running job is refused with
 * `duplicate`). `stop()` refuses new work, resolves queued requests as `not-run`/`stopped`, aborts the running
 * ones (rc -1, "stopped") unless told to let them finish, and resolves when none is left.
 */

import { runJob, type RunRequest, type RunResult } from './run';

type Runner = (req: RunRequest) => Promise<RunResult>;

interface Entry {
  key: string;
  req: RunRequest;
  resolve: (r: RunResult) => void;
  reject: (e: unknown) => void;
}

/** The identity of a job: root, datasite, submitter, name. */
export function jobKey(req: Pick<RunRequest, 'root' | 'datasite' | 'submitter' | 'job'>): string {
  return JSON.stringify([req.root, req.datasite, req.submitter, req.job]);
}

export class JobQueue {
  private readonly waiting: Entry[] = [];
  private readonly active = new Map<string, AbortController>();
  private readonly idleWaiters: Array<() => void> = [];
  private stopping = false;

  constructor(
    readonly limit = 1,
    private readonly run: Runner = runJob,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`JobQueue limit must be a positive integer, got ${limit}`);
  }

  /** Jobs executing now. */
  get running(): number {
    return this.active.size;
  }

  /** Jobs waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** True when this job is queued or running. */
  has(req: Pick<RunRequest, 'root' | 'datasite' | 'submitter' | 'job'>): boolean {
    const key = jobKey(req);
    return this.active.has(key) || this.waiting.some((e) => e.key === key);
  }

  /** Queue a run; the promise settles with its result (or with `not-run` duplicate / stopped). */
  enqueue(req: RunRequest): Promise<RunResult> {
    if (this.stopping) return Promise.resolve({ status: 'not-run', code: 'stopped', reason: 'the job queue is stopping', warnings: [] });
    if (this.has(req)) {
      return Promise.resolve({ status: 'not-run', code: 'duplicate', reason: `${req.submitter}/${req.job} is already queued or running`, warnings: [] });
    }
    return new Promise<RunResult>((resolve, reject) => {
      this.waiting.push({ key: jobKey(req), req, resolve, reject });
      this.pump();
    });
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.active.size === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Stop: refuse new work, drop what waits, abort (or, with `abortRunning: false`, await) what runs. */
  async stop(opts: { abortRunning?: boolean } = {}): Promise<void> {
    this.stopping = true;
    for (const e of this.waiting.splice(0)) e.resolve({ status: 'not-run', code: 'stopped', reason: 'the job queue stopped before the job started', warnings: [] });
    if (opts.abortRunning ?? true) for (const c of this.active.values()) c.abort();
    await this.idle();
  }

  private pump(): void {
    while (this.active.size < this.limit && this.waiting.length > 0) {
      const e = this.waiting.shift() as Entry;
      const controller = new AbortController();
      this.active.set(e.key, controller);
      const signal = e.req.signal ? AbortSignal.any([e.req.signal, controller.signal]) : controller.signal;
      let p: Promise<RunResult>;
      try {
        p = this.run({ ...e.req, signal });
      } catch (err) {
        p = Promise.reject(err);
      }
      p.then(e.resolve, e.reject).finally(() => {
        this.active.delete(e.key);
        this.pump();
        if (this.active.size === 0 && this.waiting.length === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }
}
