import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runLoop } from '../../lib/service/loop';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('runLoop', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loop-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs a pass at once, then within ~debounce of a file event, long before the interval', async () => {
    const ac = new AbortController();
    const passes: number[] = [];
    const t0 = Date.now();
    const done = runLoop({ cycle: async () => void passes.push(Date.now() - t0), intervalMs: 60_000, watch: () => [dir], debounceMs: 20, signal: ac.signal, onError: () => {} });
    await sleep(100);
    expect(passes).toHaveLength(1);
    const tEvent = Date.now() - t0;
    fs.writeFileSync(path.join(dir, 'job'), 'x');
    await sleep(300);
    expect(passes).toHaveLength(2);
    expect(passes[1]! - tEvent).toBeLessThan(250);
    ac.abort();
    await done;
  });

  it('coalesces a burst of events into one extra pass', async () => {
    const ac = new AbortController();
    let n = 0;
    const done = runLoop({ cycle: async () => void n++, intervalMs: 60_000, watch: () => [dir], debounceMs: 50, signal: ac.signal, onError: () => {} });
    await sleep(50);
    for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(dir, `f${i}`), 'x');
    await sleep(400);
    expect(n).toBe(2);
    ac.abort();
    await done;
  });

  it('falls back to the interval when the folder does not exist yet, and watches it once it does', async () => {
    const ac = new AbortController();
    const missing = path.join(dir, 'later');
    let n = 0;
    const done = runLoop({ cycle: async () => void n++, intervalMs: 150, watch: () => [missing], debounceMs: 10, signal: ac.signal, onError: () => {} });
    await sleep(400);
    expect(n).toBeGreaterThanOrEqual(3); // periodic passes
    fs.mkdirSync(missing);
    await sleep(200); // next periodic pass starts watching it
    ac.abort();
    await done;
  });

  it('watches a folder a pass discovered right after that pass (and looks once more), not at the next period', async () => {
    const ac = new AbortController();
    const job = path.join(dir, 'job-1');
    const passes: string[] = [];
    let discovered = false;
    const done = runLoop({
      cycle: async () => {
        passes.push(fs.existsSync(path.join(job, 'config.yaml')) ? 'config' : 'no-config');
        if (fs.existsSync(job)) discovered = true; // what the engine's pass does: it lists the new job folder
      },
      intervalMs: 60_000,
      watch: () => (discovered ? [dir, job] : [dir]),
      debounceMs: 10,
      signal: ac.signal,
      onError: () => {},
    });
    await sleep(50);
    fs.mkdirSync(job); // the syncer creates the job folder: the watched parent fires
    await sleep(150);
    expect(passes).toEqual(['no-config', 'no-config', 'no-config']); // event pass, then the re-look after watching job-1
    fs.writeFileSync(path.join(job, 'config.yaml'), 'x'); // only job-1's own watcher sees this
    await sleep(150);
    expect(passes[passes.length - 1]).toBe('config');
    ac.abort();
    await done;
  });

  it('keeps going after a failing pass, reporting the error', async () => {
    const ac = new AbortController();
    const errors: unknown[] = [];
    let n = 0;
    const done = runLoop({
      cycle: async () => {
        n++;
        if (n === 1) throw new Error('boom');
      },
      intervalMs: 30,
      signal: ac.signal,
      onError: (e) => errors.push(e),
    });
    await sleep(150);
    ac.abort();
    await done;
    expect(errors).toHaveLength(1);
    expect(n).toBeGreaterThan(2);
  });

  it('stops promptly on abort, even mid-wait', async () => {
    const ac = new AbortController();
    const done = runLoop({ cycle: async () => {}, intervalMs: 60_000, signal: ac.signal, onError: () => {} });
    await sleep(50);
    const t = Date.now();
    ac.abort();
    await done;
    expect(Date.now() - t).toBeLessThan(100);
  });
});
