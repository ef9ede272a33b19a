import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseState } from '../../lib/datasite';
import { JobQueue, STOPPED_MARKER, type RunRequest, type RunResult } from '../../lib/runner';
import { approvedJob, exists, read, request, tempDir, waitFor } from './helpers';

const WAIT_FOR_GO = (go: string) => `echo start\nwhile [ ! -e '${go}' ]; do sleep 0.02; done\necho end\n`;

describe('JobQueue', () => {
  it('limit 1 queues a second job until the first finished; the same job is never queued twice', async () => {
    const go = path.join(tempDir(), 'go');
    const a = approvedJob(WAIT_FOR_GO(go), { name: 'a' });
    const b = approvedJob('echo b\n', { name: 'b', root: a.root });
    const q = new JobQueue();
    expect(q.limit).toBe(1);
    const order: string[] = [];
    const pa = q.enqueue(request(a, { onOutput: (_s, c) => order.push(`a:${c.toString().trim()}`) }));
    const pb = q.enqueue(request(b, { onOutput: (_s, c) => order.push(`b:${c.toString().trim()}`) }));
    await waitFor(() => order.includes('a:start'));
    expect(q.running).toBe(1);
    expect(q.queued).toBe(1);
    expect(q.has({ root: a.root, datasite: 'do@example.com', submitter: 'ds@example.org', job: 'b' })).toBe(true);
    // b has not started: still approved, no logs.
    await new Promise((r) => setTimeout(r, 200));
    expect(read(b.paths.state)).toBe(b.stateText);
    expect(exists(b.paths.stdout)).toBe(false);
    // Same job again while queued or running: refused.
    await expect(q.enqueue(request(a))).resolves.toMatchObject({ status: 'not-run', code: 'duplicate' });
    await expect(q.enqueue(request(b))).resolves.toMatchObject({ status: 'not-run', code: 'duplicate' });

    fs.writeFileSync(go, '');
    const [ra, rb] = await Promise.all([pa, pb]);
    expect(ra).toMatchObject({ status: 'done', returnCode: 0 });
    expect(rb).toMatchObject({ status: 'done', returnCode: 0 });
    expect(order).toEqual(['a:start', 'a:end', 'b:b']);
    expect(q.running + q.queued).toBe(0);
    await q.idle();
  });

  it('limit 2 runs two jobs at once', async () => {
    const go = path.join(tempDir(), 'go');
    const a = approvedJob(WAIT_FOR_GO(go), { name: 'a' });
    const b = approvedJob(WAIT_FOR_GO(go), { name: 'b', root: a.root });
    const q = new JobQueue(2);
    const pa = q.enqueue(request(a));
    const pb = q.enqueue(request(b));
    await waitFor(() => exists(a.paths.stdout) && exists(b.paths.stdout) && read(a.paths.stdout) + read(b.paths.stdout) === 'start\nstart\n');
    expect(q.running).toBe(2);
    fs.writeFileSync(go, '');
    expect(await pa).toMatchObject({ status: 'done' });
    expect(await pb).toMatchObject({ status: 'done' });
  });

  it('stop(): queued jobs are not run (still approved), the running one is killed as "stopped", new work refused', async () => {
    const a = approvedJob('echo start\nsleep 100\n', { name: 'a' });
    const b = approvedJob('echo b\n', { name: 'b', root: a.root });
    const q = new JobQueue(1);
    const pa = q.enqueue(request(a));
    const pb = q.enqueue(request(b));
    await waitFor(() => exists(a.paths.stdout) && read(a.paths.stdout) === 'start\n');
    const t0 = Date.now();
    await q.stop();
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(await pa).toMatchObject({ status: 'failed', returnCode: -1, stopped: true, reason: 'stopped' });
    expect(await pb).toMatchObject({ status: 'not-run', code: 'stopped' });
    expect(read(a.paths.stdout)).toBe(`start\n${STOPPED_MARKER}`);
    const st = parseState(read(a.paths.state));
    expect(st.ok && st.value.status).toBe('failed');
    expect(read(b.paths.state)).toBe(b.stateText);
    await expect(q.enqueue(request(b))).resolves.toMatchObject({ status: 'not-run', code: 'stopped' });
  });

  it('stop({ abortRunning: false }) lets the running job finish', async () => {
    const go = path.join(tempDir(), 'go');
    const a = approvedJob(WAIT_FOR_GO(go), { name: 'a' });
    const q = new JobQueue();
    const pa = q.enqueue(request(a));
    await waitFor(() => exists(a.paths.stdout) && read(a.paths.stdout) === 'start\n');
    let stopped = false;
    const ps = q.stop({ abortRunning: false }).then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(stopped).toBe(false);
    fs.writeFileSync(go, '');
    await ps;
    expect(await pa).toMatchObject({ status: 'done' });
  });

  it('a runner that throws rejects that request only; the queue keeps going', async () => {
    let n = 0;
    const fake = async (req: RunRequest): Promise<RunResult> => {
      n += 1;
      if (req.job === 'bad') throw new Error('boom');
      return { status: 'done', returnCode: 0, timedOut: false, stopped: false, stateWritten: true, warnings: [] };
    };
    const q = new JobQueue(1, fake);
    const base = { root: '/r', datasite: 'd@x', submitter: 's@x' } as const;
    const mk = (job: string) => ({ ...base, job }) as unknown as RunRequest;
    const bad = q.enqueue(mk('bad'));
    const good = q.enqueue(mk('good'));
    await expect(bad).rejects.toThrow('boom');
    await expect(good).resolves.toMatchObject({ status: 'done' });
    expect(n).toBe(2);
  });

  it('refuses a limit below 1', () => {
    expect(() => new JobQueue(0)).toThrow(RangeError);
  });
});
