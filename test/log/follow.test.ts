import * as fs from 'node:fs';
import * as path from 'node:path';
import { followLog, type FollowOptions } from '../../lib/log/follow';
import { createServiceLogger } from '../../lib/log/logger';
import { listLogFiles } from '../../lib/log/files';
import { cleanupTmp, runNode, sleep, tmpDir, waitFor } from './helpers';

const running: Follower[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((f) => f.stop()));
});
afterAll(cleanupTmp);

interface Follower {
  lines: string[];
  numbers: () => number[];
  stop: () => Promise<void>;
  done: Promise<void>;
}

function follow(opts: Omit<FollowOptions, 'onLine' | 'signal'>): Follower {
  const lines: string[] = [];
  const ac = new AbortController();
  const done = followLog({ ...opts, onLine: (l) => lines.push(l), signal: ac.signal });
  const f: Follower = {
    lines,
    numbers: () => lines.map((l) => (JSON.parse(l) as { n: number }).n),
    stop: async () => {
      ac.abort();
      await done;
    },
    done,
  };
  running.push(f);
  return f;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/** A child process logging lines {n} for n in [from, to), in small bursts, through rotations of `maxSize`. */
function writerProcess(logsDir: string, from: number, to: number, maxSize: string, maxFiles: number) {
  return runNode(
    `
    const { createServiceLogger } = require(process.env.LOGLIB + '/logger.js');
    const [logsDir, from, to, maxSize, maxFiles] = process.argv.slice(1);
    (async () => {
      const log = await createServiceLogger({ service: 'svc', logsDir, stdout: false, maxSize, maxFiles: Number(maxFiles) });
      for (let n = Number(from); n < Number(to); n++) {
        log.logger.info({ n }, 'line ' + n);
        if (n % 20 === 0) await new Promise((r) => setTimeout(r, 1));
        else await new Promise((r) => setImmediate(r));
      }
      await log.close();
    })();
    `,
    [logsDir, String(from), String(to), maxSize, String(maxFiles)],
  );
}

describe('followLog', () => {
  it('follows 5,000 lines from another process through ~100 rotations and a restart: each exactly once, in order', async () => {
    // Not even <logs> exists when following starts.
    const logs = path.join(tmpDir(), 'logs');
    const f = follow({ logsDir: logs, service: 'svc', fromLines: 10, pollIntervalMs: 1000 });
    const a = await writerProcess(logs, 0, 2500, '4k', 500);
    expect(a.stderr).toBe('');
    const b = await writerProcess(logs, 2500, 5000, '4k', 500); // a restart appends to the newest file
    expect(b.stderr).toBe('');
    await waitFor(() => f.lines.length >= 5000, 'all 5,000 lines', 20_000);
    await sleep(100);
    await f.stop();
    expect(listLogFiles(logs, 'svc').length).toBeGreaterThan(80);
    expect(f.numbers()).toEqual(range(0, 5000));
  });

  it('keeps up with an in-process logger rotating every ~10 lines, on polling alone (no fs.watch)', async () => {
    const logs = tmpDir();
    const log = await createServiceLogger({ service: 'svc', logsDir: logs, stdout: false, maxSize: '1k', maxFiles: 1000 });
    for (let n = 0; n < 50; n++) log.logger.info({ n }, 'before');
    const f = follow({ logsDir: logs, service: 'svc', fromLines: 20, watch: false, pollIntervalMs: 20 });
    await waitFor(() => f.lines.length >= 20, 'the last 20 lines');
    for (let n = 50; n < 3000; n++) {
      log.logger.info({ n }, 'line');
      if (n % 10 === 0) await sleep(1);
    }
    await log.close();
    await waitFor(() => f.lines.length >= 2970, 'all lines', 20_000);
    await sleep(100);
    await f.stop();
    expect(listLogFiles(logs, 'svc').length).toBeGreaterThan(200);
    expect(f.numbers()).toEqual(range(30, 3000));
  });

  it('wakes up on fs.watch events, not only on the timer', async () => {
    const logs = tmpDir();
    const log = await createServiceLogger({ service: 'svc', logsDir: logs, stdout: false });
    log.logger.info({ n: 0 }, 'first');
    const f = follow({ logsDir: logs, service: 'svc', fromLines: 1, pollIntervalMs: 60_000 });
    await waitFor(() => f.lines.length === 1, 'the first line');
    const t0 = Date.now();
    log.logger.info({ n: 1 }, 'second');
    await waitFor(() => f.lines.length === 2, 'the appended line', 5000);
    expect(Date.now() - t0).toBeLessThan(2000);
    await log.close();
    await f.stop();
    expect(f.numbers()).toEqual([0, 1]);
  });

  it('prints the last fromLines lines across files, then new ones, with nothing repeated', async () => {
    const logs = tmpDir();
    const dir = path.join(logs, 'svc');
    fs.mkdirSync(dir, { recursive: true });
    const json = (n: number) => `{"n":${n}}\n`;
    fs.writeFileSync(path.join(dir, 'svc.1.log'), range(0, 5).map(json).join(''));
    fs.writeFileSync(path.join(dir, 'svc.2.log'), range(5, 8).map(json).join('') + '{"n":8'); // 8 is being written
    const f = follow({ logsDir: logs, service: 'svc', fromLines: 5, pollIntervalMs: 50 });
    await waitFor(() => f.lines.length >= 5, 'the tail');
    expect(f.numbers()).toEqual([3, 4, 5, 6, 7]);
    fs.appendFileSync(path.join(dir, 'svc.2.log'), '}\n' + json(9));
    await waitFor(() => f.lines.length >= 7, 'the completed and the new line');
    await sleep(100);
    await f.stop();
    expect(f.numbers()).toEqual([3, 4, 5, 6, 7, 8, 9]);
  });

  it('fromLines larger than the log prints it all; fromLines 0 prints only new lines', async () => {
    const logs = tmpDir();
    const dir = path.join(logs, 'svc');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'svc.3.log'), 'a\nb\n');
    const all = follow({ logsDir: logs, service: 'svc', fromLines: 50, pollIntervalMs: 50 });
    const none = follow({ logsDir: logs, service: 'svc', fromLines: 0, pollIntervalMs: 50 });
    await waitFor(() => all.lines.length === 2, 'both lines');
    await sleep(100);
    fs.appendFileSync(path.join(dir, 'svc.3.log'), 'c\n');
    await waitFor(() => all.lines.length === 3 && none.lines.length === 1, 'the new line');
    await Promise.all([all.stop(), none.stop()]);
    expect(all.lines).toEqual(['a', 'b', 'c']);
    expect(none.lines).toEqual(['c']);
  });

  it('emits a line only once complete, and decodes characters split across writes', async () => {
    const logs = tmpDir();
    const dir = path.join(logs, 'svc');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'svc.1.log');
    fs.writeFileSync(file, '');
    const f = follow({ logsDir: logs, service: 'svc', pollIntervalMs: 20 });
    await sleep(100);
    const bytes = Buffer.from('héllo 日本 😀\n');
    for (let i = 0; i < bytes.length - 1; i++) {
      fs.appendFileSync(file, bytes.subarray(i, i + 1));
      if (i % 4 === 0) await sleep(25);
    }
    await sleep(100);
    expect(f.lines).toEqual([]);
    fs.appendFileSync(file, bytes.subarray(bytes.length - 1));
    await waitFor(() => f.lines.length === 1, 'the completed line');
    await f.stop();
    expect(f.lines).toEqual(['héllo 日本 😀']);
  });

  it('reads a file pruned while it is being followed to its end (the handle stays open)', async () => {
    const logs = tmpDir();
    const dir = path.join(logs, 'svc');
    fs.mkdirSync(dir, { recursive: true });
    const one = path.join(dir, 'svc.1.log');
    fs.writeFileSync(one, 'start\n');
    const f = follow({ logsDir: logs, service: 'svc', fromLines: 1, pollIntervalMs: 20 });
    await waitFor(() => f.lines.length === 1, 'the first line');
    // In one go (the follower cannot run in between): 1,000 more lines, rotate, prune the old file.
    fs.appendFileSync(one, range(0, 1000).map((n) => `old ${n}\n`).join(''));
    fs.writeFileSync(path.join(dir, 'svc.2.log'), 'new 0\n');
    fs.unlinkSync(one);
    await waitFor(() => f.lines.length === 1002, 'all lines');
    await f.stop();
    expect(f.lines).toEqual(['start', ...range(0, 1000).map((n) => `old ${n}`), 'new 0']);
  });

  it('starts again from .1.log when the folder is wiped and logging restarts', async () => {
    const logs = tmpDir();
    const dir = path.join(logs, 'svc');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'svc.7.log'), 'seven\n');
    const f = follow({ logsDir: logs, service: 'svc', fromLines: 5, pollIntervalMs: 20 });
    await waitFor(() => f.lines.length === 1, 'the first line');
    fs.rmSync(dir, { recursive: true });
    await sleep(100);
    const log = await createServiceLogger({ service: 'svc', logsDir: logs, stdout: false });
    log.logger.info({ n: 1 }, 'after the wipe');
    await log.close();
    await waitFor(() => f.lines.length === 2, 'the line after the wipe');
    await f.stop();
    expect(JSON.parse(f.lines[1]!)).toMatchObject({ n: 1, msg: 'after the wipe' });
  });

  it('stops on abort: resolves, emits nothing more; an already aborted signal resolves at once', async () => {
    const logs = tmpDir();
    const log = await createServiceLogger({ service: 'svc', logsDir: logs, stdout: false });
    const f = follow({ logsDir: logs, service: 'svc', pollIntervalMs: 20 });
    log.logger.info({ n: 0 }, 'seen');
    await waitFor(() => f.lines.length === 1, 'the first line');
    await f.stop();
    log.logger.info({ n: 1 }, 'not seen');
    await sleep(150);
    expect(f.numbers()).toEqual([0]);
    await log.close();

    const ac = new AbortController();
    ac.abort();
    const seen: string[] = [];
    await followLog({ logsDir: logs, service: 'svc', fromLines: 10, onLine: (l) => seen.push(l), signal: ac.signal });
    expect(seen).toEqual([]);
  });

  it('rejects when onLine throws', async () => {
    const logs = tmpDir();
    const dir = path.join(logs, 'svc');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'svc.1.log'), 'x\n');
    await expect(
      followLog({
        logsDir: logs,
        service: 'svc',
        fromLines: 1,
        onLine: () => {
          throw new Error('EPIPE');
        },
      }),
    ).rejects.toThrow('EPIPE');
  });
});
