import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, makeSandbox, Sandbox, statusJson, waitFor } from '../helpers/sandbox';
import { DO } from '../helpers/datasite';
import { PtyApp } from './pty';

/** What the scenario needs from a terminal: type keys, read the screen, resize, and the program's exit code. */
interface Terminal {
  kind: string;
  send(key: string): void;
  screen(): string;
  resize(cols: number, rows: number): void;
  exitCode(): string | undefined;
  close(): void;
}

// SYFT_BG_TEST_NO_TMUX=1 takes the pty path on a machine that has tmux (to check that path).
const hasTmux = !process.env.SYFT_BG_TEST_NO_TMUX && spawnSync('tmux', ['-V'], { encoding: 'utf8' }).status === 0;

/** tmux, as a user would drive it: new-session, send-keys, capture-pane, resize-window. */
function tmuxTerminal(sb: Sandbox, cols: number, rows: number): Terminal {
  const socket = `syft-bg-test-${process.pid}`;
  const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8', timeout: 10_000 });
  const env = Object.entries(sb.env)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(' ');
  const marker = path.join(sb.dir, 'exit-code');
  const cmd = `env -i ${env} TERM=xterm-256color ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)}; echo $? > ${JSON.stringify(marker)}; sleep 30`;
  const r = tmux('new-session', '-d', '-s', 'dash', '-x', String(cols), '-y', String(rows), cmd);
  if (r.status !== 0) throw new Error(`tmux new-session failed: ${r.stderr}`);
  return {
    kind: 'tmux',
    send: (key) => void tmux('send-keys', '-t', 'dash', key),
    screen: () => tmux('capture-pane', '-p', '-t', 'dash').stdout,
    resize: (c, h) => void tmux('resize-window', '-t', 'dash', '-x', String(c), '-y', String(h)),
    exitCode: () => (fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8').trim() || undefined : undefined),
    close: () => void tmux('kill-server'),
  };
}

/** Without tmux (a bare machine): the same scenario on a util-linux `script` pty (see pty.ts). */
function ptyTerminal(sb: Sandbox, cols: number, rows: number): Terminal {
  const app = new PtyApp([process.execPath, CLI], { env: sb.env, cwd: sb.dir, cols, rows });
  let code: number | null | undefined;
  void app.exited.then((c) => (code = c));
  return {
    kind: 'pty',
    send: (key) => app.send(key),
    screen: () => app.screen(),
    resize: (c, h) => app.resize(c, h),
    exitCode: () => (code === undefined ? undefined : String(code)),
    close: () => app.kill(),
  };
}

/**
 * The real `syft-bg` dashboard driven through a terminal multiplexer: tmux when the machine has it (.ci/run
 * installs it, so CI always takes this path), else the same scenario on a pty. dashboard-pty.test.ts goes
 * deeper (feed, logs, explain, exact layouts).
 */
describe(`syft-bg dashboard under ${hasTmux ? 'tmux' : 'a pty (no tmux on this machine)'}`, () => {
  let sb: Sandbox;
  let term: Terminal | undefined;

  beforeAll(() => {
    sb = makeSandbox('tmux');
    expect(sb.cli(['init', '-e', DO]).code).toBe(0);
  });
  afterAll(() => {
    term?.close();
    sb.cleanup();
  });

  it('shows the cards, starts and stops a service with s/t, re-lays out on resize, quits with q and exit code 0', async () => {
    term = hasTmux ? tmuxTerminal(sb, 100, 30) : ptyTerminal(sb, 100, 30);
    const t = term;
    await waitFor('both cards', () => /notify/.test(t.screen()) && /approve/.test(t.screen()) && /not started/.test(t.screen()), 15_000);
    expect(t.screen()).toContain(DO);

    t.send('s');
    await waitFor('notify online on screen', () => /● online/.test(t.screen()), 20_000);
    expect(statusJson(sb).services.find((s) => s.name === 'notify')?.state).toBe('online');

    t.resize(60, 40);
    await waitFor('narrow layout', () => {
      const lines = t.screen().split('\n');
      return lines.some((l) => /^┌─ approve ─+┐\s*$/.test(l)) && lines.every((l) => [...l.trimEnd()].length <= 60);
    }, 10_000);

    t.send('t');
    await waitFor('notify stopped on screen', () => /○ stopped/.test(t.screen()), 20_000);
    expect(statusJson(sb).services.find((s) => s.name === 'notify')?.state).toBe('stopped');

    t.send('q');
    expect(await waitFor('the dashboard exited', () => t.exitCode(), 10_000)).toBe('0');
  }, 60_000);
});
