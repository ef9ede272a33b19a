import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { MaildirTransport, listMaildir, ensureMaildir, maildirHost, type MaildirSendResult } from '../../lib/mail/maildir';
import type { MailTransport } from '../../lib/mail/transport';
import type { EmailMessage } from '../../lib/mail/message';
import { parse, mailboxes } from './parse';

// link(2) can be made to fail (filesystems without hard links); everything else is the real fs/promises.
const mockLink: { error?: NodeJS.ErrnoException; calls: number } = { calls: 0 };
jest.mock('node:fs/promises', () => {
  const actual = jest.requireActual<typeof import('node:fs/promises')>('node:fs/promises');
  return {
    ...actual,
    link: (from: string, to: string) => {
      mockLink.calls++;
      return mockLink.error ? Promise.reject(mockLink.error) : actual.link(from, to);
    },
  };
});

const ROOT = path.resolve(__dirname, '../..');
const BUILT = path.join(ROOT, 'dist/lib/mail/maildir.js');
const NAME_RE = /^(\d+)\.M(\d+)P(\d+)Q(\d+)\.(.+)$/;

let tmpRoot: string;
beforeAll(() => {
  tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'syft-bg-maildir-'));
});
afterAll(() => {
  fs.rmSync(tmpRoot, { recursive: true, force: true });
});
let n = 0;
const freshDir = () => path.join(tmpRoot, `box${n++}`, 'mail');

function message(over: Partial<EmailMessage> = {}): EmailMessage {
  return { from: 'syft-bg <do@example.org>', to: ['do@example.org'], subject: 'Job: census', text: 'A new job.\n', ...over };
}
const mode = (p: string) => fs.statSync(p).mode & 0o777;

describe('MaildirTransport', () => {
  it('implements MailTransport with kind "maildir"', () => {
    const t: MailTransport = new MaildirTransport(freshDir());
    expect(t.kind).toBe('maildir');
  });

  it('creates tmp/ new/ cur/ with mode 0700 and delivers a 0600 file into new/ under a unique Maildir name', async () => {
    const dir = freshDir();
    const t = new MaildirTransport(dir, { hostname: 'box.example' });
    const r = await t.send(message({ subject: 'Job: análisis-ü 🚀', html: '<p>hi</p>' }));
    for (const sub of ['', 'tmp', 'new', 'cur']) expect(mode(path.join(dir, sub))).toBe(0o700);
    expect(r.path).toBe(path.join(dir, 'new', r.id));
    expect(mode(r.path)).toBe(0o600);
    const m = NAME_RE.exec(r.id);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(1_700_000_000);
    expect(Number(m![2])).toBeLessThan(1_000_000);
    expect(m![3]).toBe(String(process.pid));
    expect(m![5]).toBe('box.example');
    expect(fs.readdirSync(path.join(dir, 'tmp'))).toEqual([]);
    expect(fs.readdirSync(path.join(dir, 'new'))).toEqual([r.id]);
    expect(fs.readdirSync(path.join(dir, 'cur'))).toEqual([]);
    // Stored as a Unix Maildir file: LF line endings, and mailparser reads it back.
    const bytes = fs.readFileSync(r.path);
    expect(bytes.includes(0x0d)).toBe(false);
    const p = await parse(bytes);
    expect(p.subject).toBe('Job: análisis-ü 🚀');
    expect(p.messageId).toBe(r.messageId);
    expect(mailboxes(p.from)).toEqual([{ name: 'syft-bg', address: 'do@example.org' }]);
    expect(p.text).toBe('A new job.\n');
    expect(p.html).toBe('<p>hi</p>');
    expect(r.messageId).toMatch(/^<[0-9a-f]{32}@box\.example>$/);
  });

  it.each([0o000, 0o022, 0o277])('keeps the modes whatever the umask (%o)', async (umask) => {
    const old = process.umask(umask);
    try {
      const dir = freshDir();
      const r = await new MaildirTransport(dir).send(message());
      for (const sub of ['', 'tmp', 'new', 'cur']) expect(mode(path.join(dir, sub))).toBe(0o700);
      expect(mode(r.path)).toBe(0o600);
    } finally {
      process.umask(old);
    }
  });

  it('uses an existing Maildir as it is', async () => {
    const dir = freshDir();
    fs.mkdirSync(dir, { recursive: true });
    for (const sub of ['tmp', 'new', 'cur']) fs.mkdirSync(path.join(dir, sub), { mode: 0o750 });
    fs.chmodSync(path.join(dir, 'new'), 0o750);
    fs.writeFileSync(path.join(dir, 'cur', '1.old:2,S'), 'Subject: old\n\nold\n');
    await new MaildirTransport(dir).send(message());
    expect(mode(path.join(dir, 'new'))).toBe(0o750);
    expect(fs.readdirSync(path.join(dir, 'cur'))).toEqual(['1.old:2,S']);
    expect(fs.readdirSync(path.join(dir, 'new'))).toHaveLength(1);
  });

  it('writes the Date header from its clock and escapes "/" and ":" in the host part of the name', async () => {
    const dir = freshDir();
    const r = await new MaildirTransport(dir, { hostname: 'a/b:c', clock: () => Date.parse('2026-03-04T05:06:07.891Z') }).send(message());
    expect(r.id).toMatch(/^1772600767\.M891\d{3}P\d+Q\d+\.a\\057b\\072c$/);
    expect((await parse(fs.readFileSync(r.path))).date?.toISOString()).toBe('2026-03-04T05:06:07.000Z');
    expect(maildirHost('')).toBe('localhost');
  });

  it('delivers 200 concurrent sends from one process to 200 distinct files', async () => {
    const dir = freshDir();
    const t = new MaildirTransport(dir);
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => t.send(message({ subject: `Job: n${i}` }))));
    expect(new Set(results.map((r) => r.id)).size).toBe(200);
    expect(new Set(results.map((r) => r.messageId)).size).toBe(200);
    expect(fs.readdirSync(path.join(dir, 'new')).sort()).toEqual(results.map((r) => r.id).sort());
    expect(fs.readdirSync(path.join(dir, 'tmp'))).toEqual([]);
    const subjects = await Promise.all(results.map(async (r) => (await parse(fs.readFileSync(r.path))).subject));
    expect(subjects).toEqual(results.map((_, i) => `Job: n${i}`));
  });

  it('never overwrites: names already taken in tmp/ or new/ are skipped', async () => {
    const dir = freshDir();
    // Frozen clock + a fake pid: the next names are predictable, so we can occupy them.
    const t = new MaildirTransport(dir, { pid: 77777, clock: () => 1_800_000_000_000, hostname: 'h' });
    const first = await t.send(message({ subject: 'first' }));
    const q = Number(NAME_RE.exec(first.id)![4]);
    const usec = Number(NAME_RE.exec(first.id)![2]);
    const occupied: string[] = [];
    for (let k = 1; k <= 60; k++) {
      const name = `1800000000.M${Math.min(usec + k, 999)}P77777Q${q + k}.h`;
      const where = k % 3 === 0 ? 'tmp' : 'new';
      fs.writeFileSync(path.join(dir, where, name), `occupied ${k}`);
      occupied.push(path.join(dir, where, name));
    }
    const second = await t.send(message({ subject: 'second' }));
    expect(Number(NAME_RE.exec(second.id)![4])).toBeGreaterThan(q + 60);
    for (const [k, p] of occupied.entries()) expect(fs.readFileSync(p, 'utf8')).toBe(`occupied ${k + 1}`);
    expect((await parse(fs.readFileSync(second.path))).subject).toBe('second');
    expect(fs.readdirSync(path.join(dir, 'tmp')).filter((f) => !f.includes('P77777Q'))).toEqual([]);
  });
});

describe('MaildirTransport on a filesystem without hard links', () => {
  afterEach(() => {
    mockLink.error = undefined;
  });

  it('falls back to rename, still refusing to replace a taken name', async () => {
    mockLink.error = Object.assign(new Error('operation not permitted'), { code: 'EPERM' });
    const calls = mockLink.calls;
    const dir = freshDir();
    const t = new MaildirTransport(dir, { pid: 88888, clock: () => 1_900_000_000_000, hostname: 'fuse' });
    const first = await t.send(message({ subject: 'one' }));
    expect(mockLink.calls).toBeGreaterThan(calls);
    expect(mode(first.path)).toBe(0o600);
    const m = NAME_RE.exec(first.id)!;
    // Occupy the next name in new/: the fallback must skip it rather than rename over it.
    const next = `1900000000.M${Number(m[2]) + 1}P88888Q${Number(m[4]) + 1}.fuse`;
    fs.writeFileSync(path.join(dir, 'new', next), 'taken');
    const second = await t.send(message({ subject: 'two' }));
    expect(second.id).not.toBe(next);
    expect(fs.readFileSync(path.join(dir, 'new', next), 'utf8')).toBe('taken');
    expect(fs.readdirSync(path.join(dir, 'tmp'))).toEqual([]);
    expect((await parse(fs.readFileSync(second.path))).subject).toBe('two');
  });

  it('reports other link errors and cleans up tmp/', async () => {
    mockLink.error = Object.assign(new Error('disk on fire'), { code: 'EIO' });
    const dir = freshDir();
    await expect(new MaildirTransport(dir).send(message())).rejects.toThrow('disk on fire');
    expect(fs.readdirSync(path.join(dir, 'tmp'))).toEqual([]);
    expect(fs.readdirSync(path.join(dir, 'new'))).toEqual([]);
  });
});

describe('listMaildir', () => {
  it('returns [] for a missing folder', () => {
    expect(listMaildir(path.join(tmpRoot, 'does-not-exist'))).toEqual([]);
  });

  it('lists new/ and cur/ by delivery time, with flags, skipping dot files and tmp/', async () => {
    const dir = freshDir();
    let clock = Date.parse('2026-01-01T00:00:00.000Z');
    const t = new MaildirTransport(dir, { clock: () => clock });
    const sent: MaildirSendResult[] = [];
    for (const step of [0, 1, 1, 0, 999, 1000, 60_000]) {
      clock += step;
      sent.push(await t.send(message({ subject: `m${sent.length}` })));
    }
    // A reader (mutt) marks the third message as seen: moves it to cur/ with an info suffix.
    const seen = sent[2]!;
    fs.renameSync(seen.path, path.join(dir, 'cur', `${seen.id}:2,S`));
    fs.writeFileSync(path.join(dir, 'new', '.hidden'), 'x');
    fs.writeFileSync(path.join(dir, 'tmp', '1.in-progress.h'), 'x');
    const list = listMaildir(dir);
    expect(list.map((e) => e.id)).toEqual(sent.map((s) => s.id));
    expect(list[2]).toEqual({ id: seen.id, path: path.join(dir, 'cur', `${seen.id}:2,S`), folder: 'cur', flags: 'S', deliveredAt: new Date('2026-01-01T00:00:00.002Z') });
    expect(list[0]!.deliveredAt.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(list[6]!.deliveredAt.toISOString()).toBe('2026-01-01T00:01:02.001Z');
    expect(list.filter((e) => e.folder === 'new')).toHaveLength(6);
  });

  it('orders names from other delivery agents by their leading timestamp', () => {
    const dir = freshDir();
    fs.mkdirSync(path.join(dir, 'new'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'cur'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'new', '1700000300.12345_1.otherhost'), 'x');
    fs.writeFileSync(path.join(dir, 'cur', '1700000100.M5P9Q1.h:2,RS'), 'x');
    fs.writeFileSync(path.join(dir, 'new', '1700000200.M5P9Q2.h'), 'x');
    expect(listMaildir(dir).map((e) => [e.id, e.flags])).toEqual([
      ['1700000100.M5P9Q1.h', 'RS'],
      ['1700000200.M5P9Q2.h', ''],
      ['1700000300.12345_1.otherhost', ''],
    ]);
  });
});

describe('ensureMaildir', () => {
  it('is idempotent and safe to race', async () => {
    const dir = freshDir();
    await Promise.all(Array.from({ length: 20 }, () => ensureMaildir(dir)));
    expect(fs.readdirSync(dir).sort()).toEqual(['cur', 'new', 'tmp']);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Two processes delivering at the same time, through the built module.

function newestMtime(files: string[]): number {
  return Math.max(...files.map((f) => fs.statSync(f).mtimeMs));
}

function ensureBuilt(): void {
  const sources = ['message', 'maildir', 'transport'].map((f) => path.join(ROOT, 'lib/mail', `${f}.ts`));
  const outputs = ['message', 'maildir', 'transport'].map((f) => path.join(ROOT, 'dist/lib/mail', `${f}.js`));
  const fresh = () => outputs.every((o) => fs.existsSync(o)) && Math.min(...outputs.map((o) => fs.statSync(o).mtimeMs)) >= newestMtime(sources);
  if (fresh()) return;
  try {
    execFileSync('npx', ['tsc', '-p', path.join(ROOT, 'tsconfig.json')], { cwd: ROOT, stdio: 'pipe' });
  } catch {
    // tsc exits non-zero for type errors anywhere in the project (other work in progress) but still emits.
  }
  if (!fresh()) throw new Error(`build did not produce an up-to-date ${BUILT}`);
}

const CHILD = `
const { MaildirTransport } = require(process.argv[2]);
const [dir, label, count, collide] = process.argv.slice(3);
const t = new MaildirTransport(dir, collide === '1' ? { pid: 4242, clock: () => 1800000000123, hostname: 'shared' } : {});
process.stdout.write('ready\\n');
process.stdin.once('data', async () => {
  try {
    const sends = [];
    for (let i = 0; i < Number(count); i++) {
      sends.push(t.send({ from: 'do@example.org', to: ['do@example.org'], subject: label + ' ' + i, text: label + ' body ' + i + '\\n' }));
    }
    const res = await Promise.all(sends);
    process.stdout.write(JSON.stringify(res.map((r) => r.id)) + '\\n');
    process.exit(0);
  } catch (e) {
    process.stderr.write(String(e && e.stack || e));
    process.exit(1);
  }
});
`;

interface Child {
  ready: Promise<void>;
  done: Promise<string[]>;
  go: () => void;
}

function startChild(script: string, dir: string, label: string, count: number, collide: boolean): Child {
  const cp = spawn(process.execPath, [script, BUILT, dir, label, String(count), collide ? '1' : '0'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let onReady: () => void;
  const ready = new Promise<void>((res) => (onReady = res));
  cp.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.startsWith('ready\n')) onReady();
  });
  cp.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<string[]>((res, rej) => {
    cp.on('exit', (code) => {
      if (code !== 0) return rej(new Error(`child ${label} exited ${code}: ${err}`));
      const line = out.split('\n')[1] ?? '';
      res(JSON.parse(line) as string[]);
    });
  });
  return { ready, done, go: () => cp.stdin.end('go\n') };
}

describe('concurrent delivery from two processes', () => {
  let script: string;
  beforeAll(() => {
    ensureBuilt();
    script = path.join(tmpRoot, 'deliver.js');
    fs.writeFileSync(script, CHILD);
  });

  async function race(collide: boolean): Promise<{ dir: string; a: string[]; b: string[] }> {
    const dir = freshDir();
    const N = 150;
    const A = startChild(script, dir, 'A', N, collide);
    const B = startChild(script, dir, 'B', N, collide);
    await Promise.all([A.ready, B.ready]);
    A.go();
    B.go();
    const [a, b] = await Promise.all([A.done, B.done]);
    expect(a).toHaveLength(N);
    expect(b).toHaveLength(N);
    return { dir, a, b };
  }

  async function assertAllDelivered(dir: string, ids: string[]): Promise<void> {
    expect(new Set(ids).size).toBe(300);
    expect(fs.readdirSync(path.join(dir, 'new')).sort()).toEqual([...ids].sort());
    expect(fs.readdirSync(path.join(dir, 'tmp'))).toEqual([]);
    const subjects = new Set<string>();
    for (const e of listMaildir(dir)) {
      const p = await parse(fs.readFileSync(e.path));
      expect(p.text).toBe(`${p.subject!.replace(' ', ' body ')}\n`);
      subjects.add(p.subject!);
    }
    const want = ['A', 'B'].flatMap((l) => Array.from({ length: 150 }, (_, i) => `${l} ${i}`));
    expect([...subjects].sort()).toEqual(want.sort());
  }

  it('150 + 150 messages from two processes with their own pids: 300 files, none lost', async () => {
    const { dir, a, b } = await race(false);
    await assertAllDelivered(dir, [...a, ...b]);
  });

  it('even when both processes produce the very same names (same fake pid, frozen clock), nothing is overwritten', async () => {
    const { dir, a, b } = await race(true);
    for (const id of [...a, ...b]) expect(id).toMatch(/^1800000000\.M123\d{3}P4242Q\d+\.shared$/);
    // Identical name sequences in both processes: one of them must have hit taken names and moved on.
    expect(Math.max(...[...a, ...b].map((id) => Number(NAME_RE.exec(id)![4])))).toBeGreaterThan(150);
    await assertAllDelivered(dir, [...a, ...b]);
  });
});
