/**
 * lib/sync/lock.ts against real util-linux `flock` processes (the same flock(2) lock Python's fcntl.flock takes).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { acquireFileLock, acquireSyncLock, LockTimeoutError, withFileLock } from '../../lib/sync/lock';

let dir: string;
const children: ChildProcess[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lock-'));
});
afterEach(() => {
  for (const c of children.splice(0)) killGroup(c);
  fs.rmSync(dir, { recursive: true, force: true });
});

function killGroup(c: ChildProcess): void {
  try {
    process.kill(-c.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** `flock -n <file> true`: true when nobody holds the lock. */
function free(file: string): boolean {
  const r = spawnSync('flock', ['-n', file, 'true']);
  return r.status === 0;
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A foreign holder: `flock <file> sleep 30`, as a Python sync() would hold it. */
async function foreignHolder(file: string): Promise<ChildProcess> {
  fs.writeFileSync(file, '');
  // Its own process group: `sleep` inherits the lock descriptor, so the whole group is killed to let go.
  const c = spawn('flock', ['-x', file, 'sleep', '30'], { stdio: 'ignore', detached: true });
  children.push(c);
  await until(() => !free(file));
  return c;
}

test('a real flock holder makes us wait; we get the lock as soon as it exits', async () => {
  const file = path.join(dir, '.sync.lock');
  const holder = await foreignHolder(file);
  await expect(acquireFileLock(file, { timeoutMs: 300 })).rejects.toBeInstanceOf(LockTimeoutError);
  const started = Date.now();
  const pending = acquireSyncLock(dir);
  let got = false;
  void pending.then(() => (got = true));
  await new Promise((r) => setTimeout(r, 300));
  expect(got).toBe(false);
  killGroup(holder);
  const lock = await pending;
  expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  expect(lock.file).toBe(file);
  expect(free(file)).toBe(false);
  await lock.release();
  expect(lock.released).toBe(true);
  expect(free(file)).toBe(true);
});

test('our holder makes a real `flock -n` fail until released; release is idempotent', async () => {
  const file = path.join(dir, 'sub', 'x.lock');
  const lock = await acquireFileLock(file);
  expect(fs.existsSync(file)).toBe(true);
  expect(free(file)).toBe(false);
  // a second holder in this same process is excluded too (separate open file descriptions)
  await expect(acquireFileLock(file, { timeoutMs: 200 })).rejects.toBeInstanceOf(LockTimeoutError);
  await Promise.all([lock.release(), lock.release()]);
  expect(free(file)).toBe(true);
});

test('withFileLock releases on throw; shared locks coexist and exclude an exclusive one', async () => {
  const file = path.join(dir, 'y.lock');
  await expect(withFileLock(file, async () => {
    expect(free(file)).toBe(false);
    throw new Error('boom');
  })).rejects.toThrow('boom');
  expect(free(file)).toBe(true);
  const a = await acquireFileLock(file, { shared: true });
  const b = await acquireFileLock(file, { shared: true, timeoutMs: 2000 });
  await expect(acquireFileLock(file, { timeoutMs: 200 })).rejects.toBeInstanceOf(LockTimeoutError);
  await a.release();
  await b.release();
  expect(free(file)).toBe(true);
});

test('an abort signal stops the wait and leaves no holder behind', async () => {
  const file = path.join(dir, 'z.lock');
  const holder = await foreignHolder(file);
  const ac = new AbortController();
  const p = acquireFileLock(file, { signal: ac.signal });
  setTimeout(() => ac.abort(new Error('stop')), 100);
  await expect(p).rejects.toThrow('stop');
  killGroup(holder);
  await until(() => free(file));
});

test('kill -9 of the node process holding the lock releases it', async () => {
  // Compile lock.ts to plain JS and run it in a separate node process.
  const swc = require('@swc/core') as typeof import('@swc/core');
  const js = swc.transformFileSync(path.join(__dirname, '..', '..', 'lib', 'sync', 'lock.ts'), {
    jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
    module: { type: 'commonjs' },
  }).code;
  fs.writeFileSync(path.join(dir, 'lock.js'), js);
  const file = path.join(dir, '.sync.lock');
  fs.writeFileSync(
    path.join(dir, 'hold.js'),
    `require('./lock.js').acquireSyncLock(${JSON.stringify(dir)}).then((l) => { console.log('HELD ' + l.pid); setInterval(() => {}, 1000); });`,
  );
  const node = spawn(process.execPath, [path.join(dir, 'hold.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(node);
  const flockPid = await new Promise<number>((resolve, reject) => {
    let out = '';
    node.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /HELD (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    node.once('exit', () => reject(new Error(`holder exited: ${out}`)));
  });
  expect(free(file)).toBe(false);
  node.kill('SIGKILL');
  await until(() => free(file));
  // and the flock child is gone too
  await until(() => {
    try {
      process.kill(flockPid, 0);
      return false;
    } catch {
      return true;
    }
  });
});
