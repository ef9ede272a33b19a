/// <reference types="jest" />
/**
 * The emulator's command line (`npm run emulator -- …`), as a real process: built with tsc from
 * test/emulator/tsconfig.json into a temporary directory (not .emulator-build/, which `npm run emulator` and the
 * benchmarks use) and run with node. Usage errors exit 2, a port that cannot be used exits 1; each prints one line.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { DEFAULT_CLIENT_ID } from './core';

const ROOT = path.resolve(__dirname, '../..');
let out: string;
let main: string;
const children: ChildProcess[] = [];

beforeAll(() => {
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'emulator-build-'));
  const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'test/emulator/tsconfig.json'), '--outDir', out], { encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`tsc failed: ${tsc.stdout}${tsc.stderr}`);
  main = path.join(out, 'test/emulator/main.js');
  expect(fs.existsSync(main)).toBe(true);
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(out, { recursive: true, force: true });
});

// The build lives outside the project: its `require('mailparser')` etc. resolve through NODE_PATH.
const childEnv = () => ({ ...process.env, NODE_PATH: path.join(ROOT, 'node_modules') });

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env: childEnv(), timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Start the emulator and collect stdout until `lines` lines arrived. */
async function start(args: string[], lines: number): Promise<{ child: ChildProcess; lines: string[]; exit: Promise<number | null> }> {
  const child = spawn(process.execPath, [main, ...args], { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  let text = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const got = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`emulator printed only: ${text} / ${err}`)), 15_000);
    child.stdout!.on('data', (d: Buffer) => {
      text += d.toString();
      const ls = text.split('\n').filter(Boolean);
      if (ls.length >= lines && text.endsWith('\n')) {
        clearTimeout(timer);
        resolve(ls);
      }
    });
    child.on('exit', () => reject(new Error(`emulator exited: ${text} / ${err}`)));
  });
  return { child, lines: got, exit };
}

function busyPort(): Promise<net.Server> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

describe('emulator command line', () => {
  it('a port already in use: one clear line on stderr, exit 1, no stack trace', async () => {
    const s = await busyPort();
    const port = (s.address() as net.AddressInfo).port;
    try {
      const r = run(['--port', String(port)]);
      expect(r).toEqual({ code: 1, stdout: '', stderr: `emulator: port ${port} is in use\n` });
    } finally {
      await new Promise<void>((r) => s.close(() => r()));
    }
  });

  it('usage errors: one line, exit 2', () => {
    const cases: [string[], string][] = [
      [['--port', 'abc'], "emulator: --port must be a port number (0-65535), got 'abc'"],
      [['--port', '70000'], "emulator: --port must be a port number (0-65535), got '70000'"],
      [['--port'], 'emulator: --port needs a value'],
      [['--token-lifetime', '0'], "emulator: --token-lifetime must be a number of seconds (1-31536000), got '0'"],
      [['--token-lifetime', '1.5'], "emulator: --token-lifetime must be a number of seconds (1-31536000), got '1.5'"],
      [['--users'], 'emulator: --users needs a value'],
      [['--prot', '1'], "emulator: unknown argument '--prot'"],
    ];
    for (const [args, line] of cases) {
      const r = run(args);
      expect([args, r.code, r.stdout]).toEqual([args, 2, '']);
      expect(r.stderr.split('\n')).toEqual([expect.stringMatching(new RegExp('^' + line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))), '']);
    }
    expect(run(['--help'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^usage: emulator /) });
  });

  it('--users and --token-lifetime: tokens of the default client that expire after that many seconds; SIGTERM ends it', async () => {
    const e = await start(['--port', '0', '--users', 'do@example.com,ds@example.org', '--token-lifetime', '3'], 3);
    const url = /^Google API emulator listening on (http:\/\/127\.0\.0\.1:\d+\/)$/.exec(e.lines[0]!)![1]!;
    const users = e.lines.slice(1).map((l) => JSON.parse(/^user [^:]+: (.*)$/.exec(l)![1]!) as { email: string; accessToken: string; refreshToken: string; clientId: string; clientSecret: string });
    expect(users.map((u) => [u.email, u.clientId])).toEqual([
      ['do@example.com', DEFAULT_CLIENT_ID],
      ['ds@example.org', DEFAULT_CLIENT_ID],
    ]);
    const about = (t: string) => fetch(`${url}drive/v3/about?fields=user`, { headers: { authorization: `Bearer ${t}` } });
    expect((await about(users[0]!.accessToken)).status).toBe(200);
    const r = await fetch(`${url}token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: users[1]!.refreshToken, client_id: users[1]!.clientId, client_secret: users[1]!.clientSecret }),
    });
    expect(((await r.json()) as { expires_in: number }).expires_in).toBe(3);
    await new Promise((res) => setTimeout(res, 3300));
    expect((await about(users[0]!.accessToken)).status).toBe(401);
    e.child.kill('SIGTERM');
    expect(await e.exit).toBe(0);
  });
});
