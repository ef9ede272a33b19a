import * as fs from 'node:fs';
import * as path from 'node:path';
import { snapshotDir } from '../../lib/datasite/fsread';
import { fingerprint, settle, SETTLE_DEFAULTS, SettleTracker, submissionShape, topLevelEntries, type JobDirSnapshot, type SnapshotEntry } from '../../lib/datasite/settle';
import { receive } from '../../lib/datasite/transitions';
import { clockAt } from '../../lib/datasite/time';
import { DO, tempDir } from './helpers';

/** An in-memory job directory written by a simulated syncer, one file at a time, with a fake clock. */
class FakeJobDir {
  private entries = new Map<string, SnapshotEntry>();
  constructor(now: number) {
    this.entries.set('.', { path: '.', type: 'dir', size: 0, mtimeMs: now });
  }
  private touchParent(p: string, now: number): void {
    const parent = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '.';
    this.entries.get(parent)!.mtimeMs = now;
  }
  mkdir(p: string, now: number): void {
    if (this.entries.has(p)) return;
    if (p.includes('/')) this.mkdir(p.slice(0, p.lastIndexOf('/')), now);
    this.entries.set(p, { path: p, type: 'dir', size: 0, mtimeMs: now });
    this.touchParent(p, now);
  }
  write(p: string, size: number, now: number, mtimeMs = now): void {
    if (p.includes('/')) this.mkdir(p.slice(0, p.lastIndexOf('/')), now);
    const isNew = !this.entries.has(p);
    this.entries.set(p, { path: p, type: 'file', size, mtimeMs });
    if (isNew) this.touchParent(p, now);
  }
  snapshot(takenAtMs: number): JobDirSnapshot {
    return { takenAtMs, entries: [...this.entries.values()].map((e) => ({ ...e })) };
  }
}

const T0 = Date.UTC(2026, 10, 25, 18, 46, 23);
const PYTHON_JOB = [
  ['config.yaml', 268],
  ['code/main.py', 141],
  ['code/params.json', 13],
  ['run.sh', 205],
] as const;

/**
 * Run a syncer that writes `files` (one every `gapMs`, optionally stopping early) while a poller scans every
 * `pollMs`. Returns every verdict with its time and what had been written by then.
 */
function simulate(opts: { files: ReadonlyArray<readonly [string, number]>; gapMs: number; pollMs: number; stopAfter?: number; untilMs: number; preserveMtime?: boolean; manifest?: string[] }) {
  const dir = new FakeJobDir(T0);
  const writes = opts.files.slice(0, opts.stopAfter ?? opts.files.length).map(([p, size], i) => ({ p, size, at: T0 + 1 + i * opts.gapMs }));
  const out: Array<{ t: number; written: number; settled: boolean; shape: string; reason?: string }> = [];
  const tracker = new SettleTracker();
  let w = 0;
  for (let t = T0; t <= T0 + opts.untilMs; t += 10) {
    while (w < writes.length && writes[w]!.at <= t) {
      const x = writes[w]!;
      // A syncer that keeps the remote modification time writes an old mtime.
      dir.write(x.p, x.size, x.at, opts.preserveMtime ? T0 - 86_400_000 : x.at);
      w++;
    }
    if ((t - T0) % opts.pollMs === 0) {
      const v = tracker.observe('ds@example.org/job', dir.snapshot(t), opts.manifest ? { manifest: opts.manifest } : {});
      out.push({ t: t - T0, written: w, settled: v.settled, shape: v.shape, ...(v.settled ? {} : { reason: v.reason }) });
    }
  }
  return { out, lastWriteAt: writes.length ? writes[writes.length - 1]!.at - T0 : 0, total: writes.length };
}

describe('settle: a syncer writing files one by one', () => {
  it('never settles while files are still arriving; settles once complete and quiet', () => {
    const { out, lastWriteAt, total } = simulate({ files: PYTHON_JOB, gapMs: 300, pollMs: 1000, untilMs: 20_000 });
    const first = out.find((v) => v.settled)!;
    expect(first).toBeDefined();
    expect(first.written).toBe(total);
    expect(first.shape).toBe('valid');
    expect(first.t).toBeGreaterThanOrEqual(lastWriteAt + SETTLE_DEFAULTS.quietMs);
    expect(first.t).toBeLessThanOrEqual(lastWriteAt + SETTLE_DEFAULTS.quietMs + 1000);
    for (const v of out) if (v.written < total) expect(v.settled).toBe(false);
  });

  it.each([
    [50, 200],
    [700, 1000],
    [1500, 1000],
    [4000, 1000],
    [4999, 250],
  ])('gap %i ms, poll %i ms: no verdict before the last file, whatever the timing', (gapMs, pollMs) => {
    const { out, total } = simulate({ files: PYTHON_JOB, gapMs, pollMs, untilMs: 40_000 });
    for (const v of out) if (v.written < total) expect(v).toMatchObject({ settled: false });
    expect(out.some((v) => v.settled && v.shape === 'valid')).toBe(true);
  });

  it('a syncer that stopped half-way (no code/ yet) is rejected only after the long window, with the Python reason', () => {
    const { out } = simulate({ files: [['config.yaml', 268], ['run.sh', 205]], gapMs: 100, pollMs: 1000, untilMs: 70_000 });
    const first = out.find((v) => v.settled)!;
    expect(first.shape).toBe('partial');
    expect(first.t).toBeGreaterThanOrEqual(SETTLE_DEFAULTS.rejectQuietMs);
    const r = receive([{ name: 'config.yaml', type: 'file' }, { name: 'run.sh', type: 'file' }], DO, clockAt('2026-11-25T18:47:30Z'));
    expect(r).toMatchObject({ kind: 'rejected', reason: "Expected {'config.yaml', 'code', 'run.sh'}, got {'config.yaml', 'run.sh'}" });
  });

  it('a syncer that stopped inside code/ waits the long window when the manifest says files are missing', () => {
    const files = [['config.yaml', 268], ['run.sh', 205], ['code/main.py', 141], ['code/params.json', 13]] as const;
    const manifest = ['main.py', 'params.json'];
    const stopped = simulate({ files, gapMs: 100, pollMs: 1000, stopAfter: 3, untilMs: 70_000, manifest });
    const first = stopped.out.find((v) => v.settled)!;
    expect(first.t).toBeGreaterThanOrEqual(SETTLE_DEFAULTS.rejectQuietMs);
    expect(stopped.out.find((v) => !v.settled && v.t > 10_000)!.reason).toMatch(/lists 1 file\(s\) not under code\/ yet, e.g. "params.json"/);
    const complete = simulate({ files, gapMs: 100, pollMs: 1000, untilMs: 70_000, manifest });
    expect(complete.out.find((v) => v.settled)!.t).toBeLessThan(10_000);
  });

  it('a syncer that preserves old mtimes still needs two identical scans a second apart', () => {
    const { out, total } = simulate({ files: PYTHON_JOB, gapMs: 300, pollMs: 1000, untilMs: 20_000, preserveMtime: true });
    for (const v of out) if (v.written < total) expect(v.settled).toBe(false);
    expect(out.find((v) => v.settled)!.written).toBe(total);
  });
});

describe('settle: rules', () => {
  const entry = (p: string, type: SnapshotEntry['type'], mtimeMs: number, size = 1): SnapshotEntry => ({ path: p, type, size, mtimeMs });
  const snap = (takenAtMs: number, entries: SnapshotEntry[], truncated?: string): JobDirSnapshot => ({ takenAtMs, entries, ...(truncated ? { truncated } : {}) });
  const valid = (m: number) => [entry('.', 'dir', m), entry('config.yaml', 'file', m), entry('run.sh', 'file', m), entry('code', 'dir', m), entry('code/a.py', 'file', m)];

  it('shapes', () => {
    expect(submissionShape([])).toBe('not-a-job');
    expect(submissionShape([{ name: 'run.sh', type: 'file' }])).toBe('not-a-job');
    expect(submissionShape([{ name: 'config.yaml', type: 'file' }])).toBe('partial');
    expect(submissionShape(topLevelEntries(snap(0, valid(0))))).toBe('valid');
    expect(submissionShape([...topLevelEntries(snap(0, valid(0))), { name: 'syft.pub.yaml', type: 'file' }])).toBe('valid');
    expect(submissionShape([...topLevelEntries(snap(0, valid(0))), { name: 'x', type: 'file' }])).toBe('invalid');
    expect(submissionShape([{ name: 'config.yaml', type: 'dir' }])).toBe('invalid');
    expect(submissionShape([{ name: 'config.yaml', type: 'file' }, { name: 'code', type: 'symlink' }])).toBe('invalid');
  });

  it('first scan never settles; a change resets; scans must be minScanGapMs apart', () => {
    const a = snap(100_000, valid(0));
    expect(settle(a, undefined)).toMatchObject({ settled: false, reason: expect.stringMatching(/first scan/) });
    expect(settle(snap(100_500, valid(0)), a)).toMatchObject({ settled: false, reason: 'scans only 500 ms apart', retryInMs: 500 });
    expect(settle(snap(101_000, valid(0)), a)).toEqual({ settled: true, shape: 'valid' });
    const grown = valid(0).map((e) => (e.path === 'code/a.py' ? { ...e, size: 2 } : e));
    expect(settle(snap(101_000, grown), a)).toMatchObject({ settled: false, reason: 'changed since the previous scan' });
  });

  it('future mtimes (clock skew) settle once two identical scans span the window', () => {
    const future = valid(10_000_000);
    const a = snap(0, future);
    expect(settle(snap(1_000, future), a).settled).toBe(false);
    expect(settle(snap(5_000, future), a)).toEqual({ settled: true, shape: 'valid' });
  });

  it('truncated scans never settle; not-a-job never settles', () => {
    const t = snap(100_000, valid(0), 'more than 10000 entries');
    expect(settle(t, t)).toMatchObject({ settled: false, reason: /incomplete/ });
    const nj = snap(100_000, [entry('.', 'dir', 0), entry('run.sh', 'file', 0)]);
    expect(settle(nj, { ...nj, takenAtMs: 0 })).toMatchObject({ settled: false, shape: 'not-a-job' });
  });

  it('SettleTracker compares with the oldest identical scan, so fast polling still settles', () => {
    const t = new SettleTracker();
    const v = valid(0);
    expect(t.observe('k', snap(100_000, v)).settled).toBe(false);
    for (let i = 1; i < 5; i++) expect(t.observe('k', snap(100_000 + i * 200, v)).settled).toBe(false);
    expect(t.observe('k', snap(101_000, v))).toEqual({ settled: true, shape: 'valid' });
    // A change restarts the comparison.
    expect(t.observe('k', snap(101_200, [...v, entry('code/b.py', 'file', 0)]))).toMatchObject({ settled: false, reason: 'changed since the previous scan' });
    expect(t.observe('k', snap(101_400, [...v, entry('code/b.py', 'file', 0)]))).toMatchObject({ settled: false, reason: 'scans only 200 ms apart' });
    expect(t.size).toBe(1);
    t.forget('k');
    expect(t.size).toBe(0);
  });

  it('fingerprint ignores entry order and scan time', () => {
    const e = valid(5);
    expect(fingerprint(snap(1, e))).toBe(fingerprint(snap(2, [...e].reverse())));
  });
});

describe('settle on a real directory (snapshotDir)', () => {
  it('files written one by one on disk', () => {
    const dir = path.join(tempDir(), 'job');
    fs.mkdirSync(dir);
    const at = (ms: number) => new Date(ms);
    const scans: JobDirSnapshot[] = [];
    const scan = (t: number) => {
      const s = snapshotDir(dir, t);
      scans.push(s);
      return settle(s, scans[scans.length - 2]);
    };
    fs.writeFileSync(path.join(dir, 'config.yaml'), 'name: job\n');
    fs.utimesSync(path.join(dir, 'config.yaml'), at(T0), at(T0));
    fs.utimesSync(dir, at(T0), at(T0));
    expect(scan(T0 + 1000).settled).toBe(false);
    // Only config.yaml so far: a partial shape waits for the long window (60 s), not the short one.
    expect(scan(T0 + 30_000)).toMatchObject({ settled: false, shape: 'partial', reason: expect.stringMatching(/waiting for 60000 ms of quiet/) });
    fs.mkdirSync(path.join(dir, 'code'));
    fs.writeFileSync(path.join(dir, 'code', 'main.py'), 'print(1)\n');
    fs.writeFileSync(path.join(dir, 'run.sh'), '#!/bin/bash\n');
    const now = Date.now();
    expect(scan(now)).toMatchObject({ settled: false, reason: 'changed since the previous scan' });
    expect(scan(now + 1000)).toMatchObject({ settled: false, shape: 'valid' });
    expect(scan(now + 6000)).toEqual({ settled: true, shape: 'valid' });
  });

  it('symlinks are recorded, not followed; caps truncate', () => {
    const dir = path.join(tempDir(), 'job');
    fs.mkdirSync(path.join(dir, 'code'), { recursive: true });
    fs.symlinkSync('/etc', path.join(dir, 'code', 'etc'));
    const s = snapshotDir(dir, 0);
    expect(s.entries.find((e) => e.path === 'code/etc')).toMatchObject({ type: 'symlink' });
    expect(s.entries.some((e) => e.path.startsWith('code/etc/'))).toBe(false);
    for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(dir, `f${i}`), '');
    expect(snapshotDir(dir, 0, { maxEntries: 10 }).truncated).toBe('more than 10 entries');
    let deep = dir;
    for (let i = 0; i < 5; i++) fs.mkdirSync((deep = path.join(deep, 'd')));
    expect(snapshotDir(dir, 0, { maxDepth: 3 }).truncated).toBe('nested deeper than 3 levels');
    expect(snapshotDir(path.join(dir, 'missing'), 0).entries).toEqual([]);
  });
});
