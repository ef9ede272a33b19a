import { runDashboard, type DashboardDeps } from '../../cli/tui/dashboard';
import { lineText, type Line } from '../../cli/tui/screen';
import type { Screen } from '../../cli/tui/terminal';
import type { Snapshot, Sources } from '../../cli/tui/sources';
import type { FeedRow } from '../../cli/tui/model';
import type { ServiceStatus, StatusReport } from '../../lib/status';

/** The dashboard's shell with a recording screen and scripted sources: what each key leads to. */

class FakeScreen implements Screen {
  frames: string[][] = [];
  closed = 0;
  private key: (n: string) => void = () => {};
  private resized: (w: number, h: number) => void = () => {};
  constructor(
    public width: number,
    public height: number,
  ) {}
  paint(lines: Line[]): void {
    expect(lines).toHaveLength(this.height);
    this.frames.push(lines.map(lineText));
  }
  onKey(fn: (n: string) => void): void {
    this.key = fn;
  }
  onResize(fn: (w: number, h: number) => void): void {
    this.resized = fn;
  }
  close(): void {
    this.closed++;
  }
  press(k: string): void {
    this.key(k);
  }
  resize(w: number, h: number): void {
    this.width = w;
    this.height = h;
    this.resized(w, h);
  }
  get last(): string {
    return (this.frames[this.frames.length - 1] ?? []).join('\n');
  }
}

function status(notify: Partial<ServiceStatus>): StatusReport {
  const svc = (name: 'notify' | 'approve', o: Partial<ServiceStatus> = {}): ServiceStatus => ({
    name,
    pm2Name: `syft-bg-${name}`,
    state: 'not started',
    pid: null,
    uptimeMs: null,
    restarts: 0,
    memoryBytes: null,
    cpuPercent: null,
    exitCode: null,
    detail: null,
    ...o,
  });
  return {
    home: '/h',
    environment: 'local',
    config: { email: 'do@example.com', syftboxRoot: '/box' } as StatusReport['config'],
    pm2: { home: '/p', daemon: 'running', daemonVersion: '7.0.4', reason: null },
    tokens: [],
    services: [svc('notify', notify), svc('approve')],
  };
}

const FEED: FeedRow[] = [{ key: 'd1', time: Date.UTC(2026, 10, 25, 11), source: 'approve', label: 'received', tone: 'neutral', subject: 'ds/j1', detail: '', job: { datasite: 'do@example.com', submitter: 'ds', name: 'j1' } }];

function setup(w = 100, h = 24) {
  const screen = new FakeScreen(w, h);
  let notify: Partial<ServiceStatus> = {};
  let snapshots = 0;
  const logCalls: string[] = [];
  const sources: Sources = {
    snapshot: async (): Promise<Snapshot> => {
      snapshots++;
      return { status: status(notify), feed: FEED, lastActivity: { notify: null, approve: null }, now: Date.UTC(2026, 10, 25, 12) };
    },
    logTail: (s) => {
      logCalls.push(s);
      return [`${s} line 1`, `${s} line 2`];
    },
    decisions: undefined as never,
    emails: undefined as never,
  };
  const control: Array<[string, string]> = [];
  let release: () => void = () => {};
  const deps: DashboardDeps = {
    screen,
    sources,
    refreshMs: 20,
    control: (verb, service) => {
      control.push([verb, service]);
      return new Promise((resolve) =>
        (release = () => {
          notify = { state: 'online', pid: 77, uptimeMs: 1000 };
          resolve({ text: `Started ${service} (pid 77).`, tone: 'good' });
        }),
      );
    },
    explain: (row, root) => ({ title: `Explain: ${row.subject}`, lines: [`root ${root}`, 'Verdict: not approved: x'] }),
  };
  const done = runDashboard(deps);
  current = screen;
  return { screen, done, control, release: () => release(), snapshots: () => snapshots, logCalls };
}

let current: FakeScreen | undefined;
afterEach(() => current?.press('q')); // a failed test must not leave its refresh loop running

const until = async (what: string, pred: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

test('refreshes about every refreshMs; q closes the screen and resolves 0', async () => {
  const t = setup();
  await until('first frame', () => t.screen.frames.length > 0);
  expect(t.screen.last).toContain('do@example.com');
  expect(t.screen.last).toContain('○ not started');
  await until('a few refreshes', () => t.snapshots() >= 4);
  t.screen.press('q');
  expect(await t.done).toBe(0);
  expect(t.screen.closed).toBe(1);
  const n = t.snapshots();
  await new Promise((r) => setTimeout(r, 60));
  expect(t.snapshots()).toBe(n); // stopped refreshing
});

test('s: busy line while the command runs, its result after, the card online', async () => {
  const t = setup();
  await until('first frame', () => t.screen.frames.length > 0);
  t.screen.press('s');
  expect(t.control).toEqual([['start', 'notify']]);
  expect(t.screen.last).toContain('… starting notify…');
  t.screen.press('r'); // refused while busy
  expect(t.control).toHaveLength(1);
  expect(t.screen.last).toContain('… starting notify…');
  t.release();
  await until('result', () => t.screen.last.includes('Started notify (pid 77).'));
  expect(t.screen.last).toContain('● online');
  expect(t.screen.last).toContain('pid 77');
  t.screen.press('q');
  await t.done;
});

test('l shows the selected service log, e explains the selected row with the SyftBox folder', async () => {
  const t = setup();
  await until('first frame', () => t.screen.frames.length > 0);
  t.screen.press('RIGHT');
  t.screen.press('l');
  expect(t.logCalls).toContain('approve');
  expect(t.screen.last).toContain('Logs: approve');
  expect(t.screen.last).toContain('approve line 2');
  t.screen.press('ESCAPE');
  t.screen.press('e');
  expect(t.screen.last).toContain('Explain: ds/j1');
  expect(t.screen.last).toContain('root /box');
  t.screen.press('CTRL_C');
  expect(await t.done).toBe(0);
});

test('a resize repaints at the new size', async () => {
  const t = setup(100, 24);
  await until('first frame', () => t.screen.frames.length > 0);
  t.screen.resize(50, 30);
  const f = t.screen.frames[t.screen.frames.length - 1]!;
  expect(f).toHaveLength(30);
  expect(f.every((l) => [...l].length === 50)).toBe(true);
  expect(f[8]).toMatch(/^┌─ approve ─+┐$/);
  t.screen.press('q');
  await t.done;
});
