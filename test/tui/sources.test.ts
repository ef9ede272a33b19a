import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TailCache, parseDecisionLines, lastLogWrite, createSources } from '../../cli/tui/sources';

/** The dashboard's readers on real files in a temp dir (no PM2 daemon: its socket does not exist). */

let dir: string;
const saved = { SYFT_BG_HOME: process.env.SYFT_BG_HOME, PM2_HOME: process.env.PM2_HOME };

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tui-src-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

const rec = (job: string, verdict: string, time = '2026-11-25T11:00:00.000Z') => JSON.stringify({ time, datasite: 'do@x.org', submitter: 'ds@y.org', job, verdict });

describe('TailCache', () => {
  test('missing file → empty; parsed once per change (append, rewrite by rename, removal)', () => {
    const file = path.join(dir, 'decisions.jsonl');
    const c = new TailCache(file, 2, parseDecisionLines, []);
    expect(c.get()).toEqual([]);
    expect(c.reads).toBe(0);

    fs.writeFileSync(file, rec('j1', 'received') + '\n' + rec('j1', 'approved') + '\n{"time": "2026-11');
    expect(c.get().map((r) => r.label)).toEqual(['approved']); // the tail is 2 lines: one record and a torn line
    const first = c.get();
    expect(c.reads).toBe(1);
    expect(c.get()).toBe(first);

    fs.appendFileSync(file, '"}\n' + rec('j2', 'rejected') + '\n');
    expect(c.get().map((r) => `${r.subject} ${r.label}`)).toEqual(['ds@y.org/j2 rejected']);
    expect(c.reads).toBe(2);

    const tmp = file + '.tmp';
    fs.writeFileSync(tmp, rec('j3', 'ran') + '\n');
    fs.renameSync(tmp, file);
    expect(c.get().map((r) => r.subject)).toEqual(['ds@y.org/j3']);
    expect(c.reads).toBe(3);

    fs.rmSync(file);
    expect(c.get()).toEqual([]);
  });

  test('a large log is read from its tail only', () => {
    const file = path.join(dir, 'big.jsonl');
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++) lines.push(rec(`job_${i}`, 'received', new Date(Date.UTC(2026, 10, 25, 0, 0, i)).toISOString()));
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const rows = new TailCache(file, 300, parseDecisionLines, []).get();
    expect(rows).toHaveLength(300);
    expect(rows[0]!.subject).toBe('ds@y.org/job_19700');
    expect(rows[299]!.subject).toBe('ds@y.org/job_19999');
  });
});

describe('lastLogWrite', () => {
  test('no folder → null; newest rotated file; current.log symlink when present', () => {
    const logs = path.join(dir, 'logs');
    expect(lastLogWrite(logs, 'notify')).toBeNull();
    const d = path.join(logs, 'notify');
    fs.mkdirSync(d, { recursive: true });
    expect(lastLogWrite(logs, 'notify')).toBeNull();
    fs.writeFileSync(path.join(d, 'notify.1.log'), 'a\n');
    fs.writeFileSync(path.join(d, 'notify.2.log'), 'b\n');
    fs.utimesSync(path.join(d, 'notify.1.log'), new Date(1_000_000), new Date(1_000_000));
    fs.utimesSync(path.join(d, 'notify.2.log'), new Date(2_000_000), new Date(2_000_000));
    expect(lastLogWrite(logs, 'notify')).toBe(2_000_000);
    fs.symlinkSync('notify.1.log', path.join(d, 'current.log'));
    expect(lastLogWrite(logs, 'notify')).toBe(1_000_000);
  });
});

describe('createSources', () => {
  test('snapshot without a daemon or config: services not started, feed from the audit log and the journal', async () => {
    const home = path.join(dir, 'home');
    process.env.SYFT_BG_HOME = home;
    process.env.PM2_HOME = path.join(dir, 'pm2');
    fs.mkdirSync(path.join(home, 'approve'), { recursive: true });
    fs.mkdirSync(path.join(home, 'notify'), { recursive: true });
    fs.writeFileSync(path.join(home, 'approve', 'decisions.jsonl'), rec('j1', 'approved', '2026-11-25T11:00:00.000Z') + '\n');
    fs.writeFileSync(
      path.join(home, 'notify', 'journal.jsonl'),
      JSON.stringify({ k: JSON.stringify(['job', 'do@x.org', 'ds@y.org', 'j1', 'new']), s: 'sent', t: '2026-11-25T11:00:05.000Z' }) + '\n',
    );
    const src = createSources({ now: () => Date.parse('2026-11-25T12:00:00Z') });
    const snap = await src.snapshot();
    expect(snap.status.pm2.daemon).toBe('not running');
    expect(snap.status.services.map((s) => `${s.name}:${s.state}`)).toEqual(['notify:not started', 'approve:not started']);
    expect(snap.status.config.exists).toBe(false);
    expect(snap.feed.map((r) => `${r.source} ${r.label} ${r.subject}`)).toEqual(['notify mail sent ds@y.org/j1', 'approve approved ds@y.org/j1']);
    expect(snap.lastActivity).toEqual({ notify: null, approve: null });
    expect(snap.now).toBe(Date.parse('2026-11-25T12:00:00Z'));
  });

  test('the notify journal may be absent: decisions only', async () => {
    process.env.SYFT_BG_HOME = path.join(dir, 'home2');
    process.env.PM2_HOME = path.join(dir, 'pm2');
    const snap = await createSources().snapshot();
    expect(snap.feed).toEqual([]);
  });

  test('logTail pretty-prints pino lines, keeps other lines, and makes them safe', () => {
    const home = path.join(dir, 'home');
    process.env.SYFT_BG_HOME = home;
    const d = path.join(home, 'logs', 'approve');
    fs.mkdirSync(d, { recursive: true });
    const t = Date.UTC(2026, 10, 25, 11, 0, 0);
    fs.writeFileSync(
      path.join(d, 'approve.1.log'),
      [JSON.stringify({ level: 30, time: t, service: 'approve', msg: 'approve started', objects: 2 }), 'plain \x1b[31mtext', JSON.stringify({ level: 50, time: t, service: 'approve', msg: 'boom' })].join('\n') + '\n',
    );
    const src = createSources();
    const lines = src.logTail('approve', 10);
    expect(lines[0]).toMatch(/^\[2026-11-25 \d\d:00:00\.000\] INFO: \[approve\] approve started$/);
    expect(lines).toContain('    objects: 2');
    expect(lines).toContain('plain ?[31mtext');
    expect(lines[lines.length - 1]).toMatch(/ERROR: \[approve\] boom$/);
    expect(src.logTail('approve', 1)).toHaveLength(1);
    expect(src.logTail('notify', 10)).toEqual([]);
  });
});
