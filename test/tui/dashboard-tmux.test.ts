import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { CLI, makeSandbox, Sandbox, statusJson, waitFor } from '../helpers/sandbox';
import { DO } from '../helpers/datasite';

/**
 * The real `syft-bg` dashboard under tmux, as a user would drive it: send-keys, capture-pane, resize-window.
 * (.ci/run installs tmux when the machine lacks it; dashboard-pty.test.ts covers the same with util-linux `script`.)
 */
describe('syft-bg dashboard under tmux', () => {
  let sb: Sandbox;
  const socket = `syft-bg-test-${process.pid}`;
  const tmux = (...args: string[]) => {
    const r = spawnSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8', timeout: 10_000 });
    if (r.error) throw r.error;
    return r;
  };
  const screen = () => tmux('capture-pane', '-p', '-t', 'dash').stdout;

  beforeAll(() => {
    sb = makeSandbox('tmux');
    expect(sb.cli(['init', '-e', DO]).code).toBe(0);
  });
  afterAll(() => {
    tmux('kill-server');
    sb.cleanup();
  });

  it('shows the cards, starts and stops a service with s/t, re-lays out on resize, quits with q and exit code 0', async () => {
    const env = Object.entries(sb.env)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(' ');
    const marker = path.join(sb.dir, 'exit-code');
    const cmd = `env -i ${env} TERM=xterm-256color ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)}; echo $? > ${JSON.stringify(marker)}; sleep 30`;
    expect(tmux('new-session', '-d', '-s', 'dash', '-x', '100', '-y', '30', cmd).status).toBe(0);

    await waitFor('both cards', () => /notify/.test(screen()) && /approve/.test(screen()) && /not started/.test(screen()), 15_000);
    expect(screen()).toContain(DO);

    tmux('send-keys', '-t', 'dash', 's');
    await waitFor('notify online on screen', () => /● online/.test(screen()), 20_000);
    expect(statusJson(sb).services.find((s) => s.name === 'notify')?.state).toBe('online');

    tmux('resize-window', '-t', 'dash', '-x', '60', '-y', '40');
    await waitFor('narrow layout', () => {
      const lines = screen().split('\n');
      return lines.some((l) => /^┌─ approve ─+┐$/.test(l)) && lines.every((l) => [...l].length <= 60);
    }, 10_000);

    tmux('send-keys', '-t', 'dash', 't');
    await waitFor('notify stopped on screen', () => /○ stopped/.test(screen()), 20_000);
    expect(statusJson(sb).services.find((s) => s.name === 'notify')?.state).toBe('stopped');

    tmux('send-keys', '-t', 'dash', 'q');
    const fs = await import('node:fs');
    const code = await waitFor('the dashboard exited', () => fs.existsSync(marker) && fs.readFileSync(marker, 'utf8').trim(), 10_000);
    expect(code).toBe('0');
  }, 60_000);
});
