import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, makeSandbox, Sandbox, statusJson, waitFor } from '../helpers/sandbox';
import { DO, DS, writeBashJob } from '../helpers/datasite';
import { KEYS, PtyApp } from './pty';

/**
 * The real `syft-bg` (dist/cli/main.js) with no command, on a real pty (util-linux `script`), a sandbox home and a
 * real PM2 daemon: what the screen shows after each key. Bare `syft-bg` through a pipe prints the status instead.
 */

/** The text inside the card of `service` (between its borders), row by row, found by its title on screen. */
function card(lines: string[], service: string): string[] {
  const top = lines.findIndex((l) => new RegExp(`[┌┏][─━] ${service}\\b`).test(l));
  if (top < 0) return [];
  const col = lines[top]!.search(new RegExp(`[┌┏][─━] ${service}\\b`));
  const chars = [...lines[top]!];
  const start = [...lines[top]!.slice(0, col)].length;
  let end = start + 1;
  while (end < chars.length && chars[end] !== '┐' && chars[end] !== '┓') end++;
  const out: string[] = [];
  for (let r = top + 1; r < lines.length; r++) {
    const row = [...(lines[r] ?? '')];
    const c = row[start];
    if (c === '└' || c === '┗' || c === undefined) break;
    out.push(row.slice(start + 1, end).join('').trim());
  }
  return out;
}

const cardState = (lines: string[], service: string) => card(lines, service)[0] ?? '';

describe('syft-bg dashboard on a terminal (real binary, pty, PM2)', () => {
  let sb: Sandbox;
  let app: PtyApp | undefined;
  let root: string;

  beforeAll(() => {
    sb = makeSandbox('tui');
    const r = sb.cli(['init', '-e', DO]);
    if (r.code !== 0) throw new Error(`init failed: ${r.stderr}`);
    root = path.join(sb.home, `SyftBox_${DO}`);
  });

  afterEach(() => app?.kill());
  afterAll(() => sb.cleanup());

  test('not a terminal: bare syft-bg prints the status and exits 0', () => {
    const r = sb.cli([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('syft-bg status');
    expect(r.stdout).toMatch(/notify\s+\S+ not started/);
    expect(r.stdout).not.toContain('\x1b['); // no alternate screen, no cursor moves
    expect(r.stdout).toBe(sb.cli(['status']).stdout);
  });

  test('cards, start, feed, logs, explain, stop, resize, quit', async () => {
    // An earlier job (notify's first start seeds it: not mailed), and an approve decision in the audit log.
    writeBashJob(root, DS, 'old_job', 'echo old\n');
    const auditDir = path.join(sb.syftBgHome, 'approve');
    fs.mkdirSync(auditDir, { recursive: true });
    const decided = new Date(Date.now() - 60_000).toISOString();
    fs.writeFileSync(
      path.join(auditDir, 'decisions.jsonl'),
      JSON.stringify({ time: decided, datasite: DO, submitter: DS, job: 'tui_job', verdict: 'not-approved', reason: 'no auto-approval objects match peer' }) + '\n{"time": "torn',
    );

    app = new PtyApp([process.execPath, CLI], { env: sb.env, cwd: sb.dir, cols: 100, rows: 30 });
    let lines = (await app.waitFor('both cards', (_s, l) => cardState(l, 'notify').includes('not started') && cardState(l, 'approve').includes('not started')), app.lines());
    expect(lines[0]).toContain(DO);
    expect(lines[lines.length - 1]).toContain('s start');
    // Side by side at 100 columns, notify selected (heavy border).
    expect(lines[1]).toMatch(/^┏━ notify ◀ ━+┓┌─ approve ─+┐$/);
    expect([...lines[1]!].length).toBe(100);
    // The decision is in the feed, the torn line is not.
    expect(app.screen()).toMatch(/▶ \d\d:\d\d:\d\d\s+approve\s+not-approved\s+ds@example\.org\/tui_job/);

    // s: start the selected service (notify); its card turns online.
    const t0 = Date.now();
    app.send('s');
    await app.waitFor('notify online', (_s, l) => cardState(l, 'notify').includes('● online'), 15_000);
    const startMs = Date.now() - t0;
    lines = app.lines();
    expect(card(lines, 'notify')[1]).toMatch(/^pid \d+\s+up \d+s$/);
    const st = statusJson(sb);
    expect(st.services.find((s) => s.name === 'notify')?.state).toBe('online');
    expect(card(lines, 'notify')[1]).toContain(`pid ${st.services.find((s) => s.name === 'notify')?.pid}`);
    expect(cardState(lines, 'approve')).toContain('not started');
    expect(app.screen()).toContain('Started notify');

    // A job arrives once notify has seeded its journal; notify mails about it: the journal shows up in the feed.
    await waitFor('notify journal', () => fs.existsSync(path.join(sb.syftBgHome, 'notify', 'journal.jsonl')));
    writeBashJob(root, DS, 'tui_job', 'echo hello\n');
    await app.waitFor('the mail in the feed', (s) => /notify\s+mail sent\s+ds@example\.org\/tui_job\s+new job \(to you\)/.test(s), 15_000);

    // l: the notify log.
    app.send('l');
    await app.waitFor('the log view', (s) => s.includes('Logs: notify') && /INFO: \[notify\]/.test(s));
    app.send(KEYS.escape);
    await app.waitFor('back to the cards', (s) => s.includes('Activity:') && !s.includes('Logs: notify'));

    // e: explain the selected feed row (move to the decision row first: End selects the oldest row).
    app.send('\x1b[F'); // End
    await app.waitFor('decision row selected', (s) => /▶ \d\d:\d\d:\d\d\s+approve\s+not-approved/.test(s));
    app.send('e');
    const explained = await app.waitFor('the explanation', (s) => s.includes('Explain: ds@example.org/tui_job') && s.includes('Verdict:'));
    expect(explained).toContain('would not be approved');
    expect(explained).toMatch(/script\.sh\s+sha256:[0-9a-f]{20}/);
    app.send('e');
    await app.waitFor('explain closed', (s) => s.includes('Activity:'));

    // t: stop it.
    app.send('t');
    await app.waitFor('notify stopped', (_s, l) => cardState(l, 'notify').includes('○ stopped'), 15_000);
    expect(statusJson(sb).services.find((s) => s.name === 'notify')?.state).toBe('stopped');

    // Resize narrower and taller: the cards stack, nothing of the old layout is left.
    app.resize(60, 40);
    lines = (await app.waitFor('stacked cards', (_s, l) => /^┌─ approve ─+┐$/.test(l[8] ?? '')), app.lines());
    expect(lines[1]).toMatch(/^┏━ notify ◀ ━+┓$/);
    expect(lines.every((l) => [...l].length <= 60)).toBe(true);
    for (let r = 1; r <= 14; r++) expect([...lines[r]!].length).toBe(60); // full-width borders, no stray columns
    expect(lines[39]).toContain('s start');
    expect(app.screen().match(/Activity:/g)).toHaveLength(1);

    // Wider again: side by side, and the rows where the stacked approve card was hold no box drawing any more.
    app.resize(120, 30);
    lines = (await app.waitFor('side by side', (_s, l) => /^┏━ notify ◀ ━+┓┌─ approve ─+┐$/.test(l[1] ?? '')), app.lines());
    expect([...lines[1]!].length).toBe(120);
    for (let r = 8; r < 28; r++) expect(lines[r]).not.toMatch(/[│┃┌┐└┘┏┓┗┛]/);
    expect(lines[29]).toContain('q quit');
    expect(app.vt.unknown.size).toBe(0);

    // Right + l: the approve log (it never ran).
    app.send(KEYS.right + 'l');
    await app.waitFor('approve log view', (s) => s.includes('Logs: approve') && s.includes('No log lines yet for approve.'));

    // q: quit, exit 0, the terminal is given back (alternate screen left, cursor shown).
    app.send('q');
    expect(await app.exited).toBe(0);
    expect(app.raw).toContain('\x1b[?1049l');
    expect(app.raw.lastIndexOf('\x1b[?25h')).toBeGreaterThan(app.raw.lastIndexOf('\x1b[?25l'));
    expect(startMs).toBeLessThan(15_000);
  }, 45_000);
});
