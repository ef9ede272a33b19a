import { renderScreen, lineText, windowStart, fitLine, type ScreenInput } from '../../cli/tui/screen';
import { buildCards, initialState, type FeedRow, type UiState } from '../../cli/tui/model';
import { fit, safeText, textWidth, truncate, formatAgo } from '../../cli/tui/text';

const NOW = new Date(2026, 10, 25, 12, 0, 0).getTime();

function feed(n: number): FeedRow[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `k${i}`,
    time: NOW - i * 60_000,
    source: i % 2 ? 'notify' : 'approve',
    label: i % 2 ? 'mail sent' : 'approved',
    tone: 'good',
    subject: `ds@example.org/job_${i}`,
    detail: `detail ${i}`,
    job: { datasite: 'do@example.com', submitter: 'ds@example.org', name: `job_${i}` },
  }));
}

function input(over: Partial<ScreenInput> = {}, state: Partial<UiState> = {}): ScreenInput {
  return {
    email: 'do@example.com',
    daemon: 'PM2 daemon running (pm2 7.0.4)',
    cards: buildCards(
      [{ name: 'notify', pm2Name: 'syft-bg-notify', state: 'online', pid: 101, uptimeMs: 5000, restarts: 0, memoryBytes: 1024 * 1024, cpuPercent: 0, exitCode: null, detail: null }],
      { notify: NOW - 2000 },
      NOW,
    ),
    feed: feed(3),
    state: { ...initialState(), ...state },
    now: NOW,
    ...over,
  };
}

const text = (inp: ScreenInput, w: number, h: number, prev = 0) => renderScreen(inp, w, h, prev).lines.map(lineText);

describe('renderScreen', () => {
  test.each([
    [100, 30],
    [60, 40],
    [20, 5],
    [3, 2],
    [1, 1],
  ])('exactly %i × %i cells, whatever the content', (w, h) => {
    const lines = text(input({ feed: feed(50) }), w, h);
    expect(lines).toHaveLength(h);
    for (const l of lines) expect(textWidth(l)).toBe(w);
  });

  test('zero size renders nothing', () => {
    expect(renderScreen(input(), 0, 0).lines).toEqual([]);
  });

  test('wide terminal: title, two cards side by side (the selected one heavy), feed, footer', () => {
    const lines = text(input(), 100, 20);
    expect(lines[0]).toMatch(/^ syft-bg  do@example\.com  ·  PM2 daemon running \(pm2 7\.0\.4\)\s+12:00:00 $/);
    expect(lines[1]).toMatch(/^┏━ notify ◀ ━+┓┌─ approve ─+┐$/);
    expect(lines[2]).toMatch(/^┃ ● online\s+┃│ ○ not started\s+│$/);
    expect(lines[3]).toMatch(/^┃ pid 101\s+up 5s\s+┃│ pid -\s+up -\s+│$/);
    expect(lines[4]).toMatch(/^┃ restarts 0\s+mem 1\.0 MB\s+cpu 0%\s+┃/);
    expect(lines[5]).toMatch(/^┃ last activity 2s ago\s+┃│ last activity never\s+│$/);
    expect(lines[7]).toMatch(/^┗━+┛└─+┘$/);
    expect(lines[8]).toContain('Activity: approve decisions and notify e-mails (3)');
    expect(lines[9]).toMatch(/^▶ 12:00:00\s+approve\s+approved\s+ds@example\.org\/job_0\s+detail 0/);
    expect(lines[10]).toMatch(/^  11:59:00\s+notify\s+mail sent\s+ds@example\.org\/job_1/);
    expect(lines[19]).toContain('s start  t stop  r restart  l logs  e explain  q quit');
  });

  test('narrow terminal: cards stacked; selection on the second card', () => {
    const lines = text(input({}, { selectedService: 1 }), 50, 30);
    expect(lines[1]).toMatch(/^┌─ notify ─+┐$/);
    expect(lines[8]).toMatch(/^┏━ approve ◀ ━+┓$/);
    expect(lines[15]).toContain('Activity:');
  });

  test('the feed scrolls to keep the selected row visible, as little as needed', () => {
    const inp = input({ feed: feed(40) }, { feedIndex: 25, feedKey: 'k25' });
    const r = renderScreen(inp, 100, 20);
    const lines = r.lines.map(lineText);
    // 20 rows: title 1, cards 7, heading 1, footer 2 → 9 feed rows
    expect(lines.filter((l) => l.includes('job_')).length).toBe(9);
    expect(lines[17]).toMatch(/^▶ .*job_25/);
    expect(r.feedStart).toBe(17);
    const up = renderScreen({ ...inp, state: { ...inp.state, feedIndex: 24 } }, 100, 20, r.feedStart);
    expect(up.feedStart).toBe(17);
  });

  test('empty feed, busy and message lines', () => {
    let lines = text(input({ feed: [] }, { busy: 'starting notify…' }), 80, 20);
    expect(lines.join('\n')).toContain('No decisions or e-mails yet.');
    expect(lines[18]).toMatch(/^ … starting notify…/);
    lines = text(input({}, { message: { text: 'Started notify (pid 7).', tone: 'good' } }), 80, 20);
    expect(lines[18]).toMatch(/^ Started notify \(pid 7\)\.\s*$/);
  });

  test('log panel: follows the end, scrolls back, says when empty', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i}`);
    let out = text(input({}, { panel: { kind: 'logs', service: 'notify', lines, scroll: 0 } }), 80, 10);
    // 10 rows: title, panel heading, 6 lines, footer 2
    expect(out[1]).toMatch(/^ Logs: notify  \(95-100 of 100\)/);
    expect(out.slice(2, 8).map((l) => l.trim())).toEqual(['line 94', 'line 95', 'line 96', 'line 97', 'line 98', 'line 99']);
    expect(out[9]).toContain('l/Esc close');
    out = text(input({}, { panel: { kind: 'logs', service: 'notify', lines, scroll: 10 } }), 80, 10);
    expect(out[7]!.trim()).toBe('line 89');
    out = text(input({}, { panel: { kind: 'logs', service: 'notify', lines, scroll: 1000 } }), 80, 10);
    expect(out[2]!.trim()).toBe('line 0');
    out = text(input({}, { panel: { kind: 'logs', service: 'approve', lines: [], scroll: 0 } }), 80, 10);
    expect(out[2]!.trim()).toBe('No log lines yet for approve.');
  });

  test('explain panel scrolls from the top', () => {
    const lines = Array.from({ length: 30 }, (_, i) => `x${i}`);
    const out = text(input({}, { panel: { kind: 'explain', title: 'Explain: s/j', lines, scroll: 5 } }), 80, 10);
    expect(out[1]).toMatch(/^ Explain: s\/j  \(6-11 of 30\)/);
    expect(out[2]!.trim()).toBe('x5');
    expect(out[9]).toContain('e/Esc close');
  });
});

describe('text helpers', () => {
  test('wide characters count two cells; truncation marks the cut', () => {
    expect(textWidth('ab')).toBe(2);
    expect(textWidth('日本')).toBe(4);
    expect(textWidth('e\u0301')).toBe(1);
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('日本語', 4)).toBe('日…');
    expect(fit('日本語', 4)).toBe('日… ');
    expect(fit('ab', 4)).toBe('ab  ');
    expect(truncate('abc', 0)).toBe('');
  });

  test('fitLine cuts segments at the width and pads', () => {
    const l = fitLine([{ text: 'abc', style: 'good' }, { text: 'defg', style: 'bad' }], 5);
    expect(l).toEqual([
      { text: 'abc', style: 'good' },
      { text: 'd…', style: 'bad' },
    ]);
    expect(lineText(fitLine([{ text: 'a', style: 'plain' }], 3))).toBe('a  ');
  });

  test('safeText removes terminal controls and bidi overrides', () => {
    expect(safeText('a\x1b[31mb\x9bc\u202ed\te\r\n')).toBe('a?[31mb?c?d e??');
  });

  test('formatAgo', () => {
    expect([formatAgo(null), formatAgo(500), formatAgo(59_000), formatAgo(61_000), formatAgo(3 * 3600_000), formatAgo(50 * 3600_000)]).toEqual(['-', 'just now', '59s ago', '1m ago', '3h ago', '2d ago']);
  });

  test('windowStart', () => {
    expect(windowStart(0, 5, 10)).toBe(0);
    expect(windowStart(12, 20, 5)).toBe(8);
    expect(windowStart(9, 20, 5, 8)).toBe(8);
    expect(windowStart(3, 20, 5, 8)).toBe(3);
    expect(windowStart(19, 20, 5, 100)).toBe(15);
  });
});

test('short and narrow: only the selected card, so the feed keeps some rows', () => {
  const lines = text(input({ feed: feed(10) }, { selectedService: 1, feedIndex: 0, feedKey: 'k0' }), 50, 14);
  expect(lines[1]).toMatch(/^┏━ approve ◀ ━+┓$/);
  expect(lines.join('\n')).not.toContain('notify ─');
  expect(lines[8]).toContain('Activity:');
  expect(lines.slice(9, 12).every((l) => l.includes('ds@example'))).toBe(true);
});

test('the notify card shows its outbox when mails are pending or failing', () => {
  const inp = input();
  inp.cards = buildCards(
    [{ name: 'notify', pm2Name: 'syft-bg-notify', state: 'online', pid: 1, uptimeMs: 1, restarts: 0, memoryBytes: null, cpuPercent: null, exitCode: null, detail: null }],
    {},
    NOW,
    { updatedAt: null, pending: 4, sentSinceStart: 0, pausedUntil: null, failing: [] },
  );
  expect(text(inp, 100, 20)[6]).toMatch(/^┃ outbox: 4 pending\s+┃│ Auto-approve jobs and peer requests\s+│$/);
});
