import * as crypto from 'node:crypto';
import { parseState } from '../../lib/datasite';
import { runJob, STOPPED_MARKER, TIMEOUT_MARKER, type RunResult } from '../../lib/runner';
import { approvedJob, exists, read, request, taggedProcesses, waitFor } from './helpers';

const LINUX = process.platform === 'linux';

function ran(r: RunResult): Extract<RunResult, { status: 'done' | 'failed' }> {
  if (r.status === 'not-run') throw new Error(`not run: ${r.code}: ${r.reason}`);
  return r;
}

/** A job that never ends and leaves a tree: background children, a subshell with a child, one that left the group. */
const FOREVER = [
  'sleep 100 &',
  '( sleep 100; true ) &',
  'setsid sleep 100 &',
  'bash -c "sleep 100 & sleep 100; wait" &',
  'echo started',
  'echo err-started >&2',
  'sleep 100 & sleep 100; wait',
  '',
].join('\n');

(LINUX ? describe : describe.skip)('killing the process tree', () => {
  it('timeout: the whole tree is killed, rc -1, the marker ends both logs, state failed', async () => {
    const tag = crypto.randomUUID();
    const job = approvedJob(FOREVER);
    // The most tagged processes seen while the job runs (sampled: under load the background children appear
    // some time after 'started' is printed).
    let seen = 0;
    const sampler = setInterval(() => (seen = Math.max(seen, taggedProcesses(tag).length)), 25);
    const started = Date.now();
    const p = runJob(
      request(job, {
        timeoutMs: 2500,
        env: { PATH: process.env.PATH ?? '', TAG: tag },
      }),
    );
    const r = ran(await p);
    clearInterval(sampler);
    expect(Date.now() - started).toBeLessThan(10000);
    expect(seen).toBeGreaterThanOrEqual(8); // the tree really was there
    expect(r).toMatchObject({ status: 'failed', returnCode: -1, timedOut: true, stopped: false, stateWritten: true });
    expect(r.reason).toMatch(/timed out/);
    expect(r.warnings).toEqual([]);
    expect(taggedProcesses(tag)).toEqual([]);
    expect(read(job.paths.stdout)).toBe(`started\n${TIMEOUT_MARKER}`);
    expect(read(job.paths.stderr)).toBe(`err-started\n${TIMEOUT_MARKER}`);
    expect(read(job.paths.returncode)).toBe('-1');
    const st = parseState(read(job.paths.state));
    expect(st.ok && st.value).toMatchObject({ status: 'failed', return_code: -1 });
  });

  it('abort (service stopping): the tree is killed, rc -1, reason "stopped"', async () => {
    const tag = crypto.randomUUID();
    const job = approvedJob(FOREVER);
    const ac = new AbortController();
    const req = request(job, { signal: ac.signal, env: { PATH: process.env.PATH ?? '', TAG: tag } });
    const p = runJob(req);
    await waitFor(() => exists(job.paths.stdout) && read(job.paths.stdout).includes('started') && taggedProcesses(tag).length >= 8);
    ac.abort();
    const r = ran(await p);
    expect(r).toMatchObject({ status: 'failed', returnCode: -1, timedOut: false, stopped: true, reason: 'stopped' });
    expect(taggedProcesses(tag)).toEqual([]);
    expect(read(job.paths.stdout)).toBe(`started\n${STOPPED_MARKER}`);
    expect(exists(req.runDir)).toBe(false);
  });

  it('processes left behind by a job that exited are killed too', async () => {
    const tag = crypto.randomUUID();
    const job = approvedJob('sleep 100 >/dev/null 2>&1 &\necho bye\n');
    const r = ran(await runJob(request(job, { env: { PATH: process.env.PATH ?? '', TAG: tag } })));
    expect(r).toMatchObject({ status: 'done', returnCode: 0 });
    expect(taggedProcesses(tag)).toEqual([]);
  });

  it('a background child holding stdout keeps the job open until the timeout (Python reads to EOF)', async () => {
    const tag = crypto.randomUUID();
    const job = approvedJob('sleep 100 &\necho bye\n');
    const r = ran(await runJob(request(job, { timeoutMs: 800, env: { PATH: process.env.PATH ?? '', TAG: tag } })));
    expect(r).toMatchObject({ status: 'failed', returnCode: -1, timedOut: true });
    expect(read(job.paths.stdout)).toBe(`bye\n${TIMEOUT_MARKER}`);
    expect(taggedProcesses(tag)).toEqual([]);
  });

  it('a daemon that left both the group and the tree (double fork + setsid) cannot hold the runner: it returns', async () => {
    const tag = crypto.randomUUID();
    const job = approvedJob('(setsid sleep 30 &)\necho bye\n');
    const started = Date.now();
    try {
      const r = ran(await runJob(request(job, { timeoutMs: 500, killGraceMs: 200, env: { PATH: process.env.PATH ?? '', TAG: tag } })));
      expect(r).toMatchObject({ status: 'failed', returnCode: -1, timedOut: true });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(read(job.paths.stdout)).toBe(`bye\n${TIMEOUT_MARKER}`);
      // Documented limitation (as with syft-job's psutil walk): it is out of reach.
      expect(taggedProcesses(tag).length).toBe(1);
    } finally {
      for (const pid of taggedProcesses(tag)) process.kill(pid, 'SIGKILL');
    }
  });

  it('a job that ignores SIGTERM is SIGKILLed after the grace', async () => {
    const tag = crypto.randomUUID();
    const job = approvedJob("trap '' TERM\nbash -c \"trap '' TERM; sleep 100\" &\necho ready\nwhile true; do sleep 0.1; done\n");
    const started = Date.now();
    const r = ran(await runJob(request(job, { timeoutMs: 500, killGraceMs: 300, env: { PATH: process.env.PATH ?? '', TAG: tag } })));
    expect(r).toMatchObject({ returnCode: -1, timedOut: true });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(taggedProcesses(tag)).toEqual([]);
  });
});
