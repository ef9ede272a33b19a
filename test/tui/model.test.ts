import { buildCards, buildFeed, decisionRow, emailRows, initialState, keyToAction, outboxNote, reconcileFeed, reduce, type FeedRow, type UiState } from '../../cli/tui/model';
import type { ServiceStatus } from '../../lib/status';
import type { DecisionRecord } from '../../lib/approve/audit';

const NOW = Date.parse('2026-11-25T12:00:00Z');

function svc(name: 'notify' | 'approve', over: Partial<ServiceStatus> = {}): ServiceStatus {
  return { name, pm2Name: `syft-bg-${name}`, state: 'not started', pid: null, uptimeMs: null, restarts: 0, memoryBytes: null, cpuPercent: null, exitCode: null, detail: null, ...over };
}

const jkey = (ds: string, sub: string, job: string, kind: string) => JSON.stringify(['job', ds, sub, job, kind]);

describe('buildCards', () => {
  test('one card per service in registry order, with the runtime of an online service', () => {
    const cards = buildCards(
      [svc('approve', { state: 'errored', restarts: 16, exitCode: 78, detail: 'last exit code 78: invalid configuration (see syft-bg logs)' }), svc('notify', { state: 'online', pid: 4242, uptimeMs: 125_000, restarts: 2, memoryBytes: 52 * 1024 * 1024, cpuPercent: 3 })],
      { notify: NOW - 12_000, approve: null },
      NOW,
    );
    expect(cards.map((c) => c.name)).toEqual(['notify', 'approve']);
    expect(cards[0]).toMatchObject({ state: 'online', tone: 'good', pid: '4242', uptime: '2m 5s', restarts: '2', memory: '52.0 MB', cpu: '3%', lastActivity: '12s ago', detail: null });
    expect(cards[1]).toMatchObject({ state: 'errored', tone: 'bad', pid: '-', uptime: '-', restarts: '16', memory: '-', cpu: '-', lastActivity: 'never' });
    expect(cards[1]!.detail).toContain('exit code 78');
  });

  test('a service PM2 does not know is "not started"; hostile detail text is made safe', () => {
    const cards = buildCards([svc('notify', { state: 'stopped', detail: 'boom\x1b[2J\x07' })], {}, NOW);
    expect(cards[1]).toMatchObject({ name: 'approve', state: 'not started', tone: 'neutral', lastActivity: 'never' });
    expect(cards[0]!.detail).toBe('boom?[2J?');
  });

  test('a service that serves another syft-bg home (same PM2 daemon) says so on its card', () => {
    const cards = buildCards([svc('notify', { state: 'online', pid: 7, home: '/home/a/.syft-bg', otherHome: true })], {}, NOW);
    expect(cards[0]!.note).toEqual({ text: 'serves another syft-bg home: /home/a/.syft-bg', tone: 'bad' });
    expect(buildCards([svc('notify', { state: 'online', pid: 7, home: '/home/b/.syft-bg', otherHome: false })], {}, NOW)[0]!.note).toBeNull();
  });
});

describe('decisionRow', () => {
  const base = { time: '2026-11-25T11:59:00.000Z', datasite: 'do@x.org', submitter: 'ds@y.org', job: 'j1' };

  test('job decisions: label, tone, detail and the job to explain', () => {
    const ok = decisionRow({ ...base, verdict: 'approved', object: 'obj1', reason: 'ok' } as DecisionRecord, 0)!;
    expect(ok).toMatchObject({ label: 'approved', tone: 'good', subject: 'ds@y.org/j1', detail: 'by obj1', source: 'approve', time: NOW - 60_000 });
    expect(ok.job).toEqual({ datasite: 'do@x.org', submitter: 'ds@y.org', name: 'j1' });
    expect(decisionRow({ ...base, verdict: 'not-approved', reason: 'no object matches' } as DecisionRecord, 1)).toMatchObject({ tone: 'warn', detail: 'no object matches' });
    expect(decisionRow({ ...base, verdict: 'ran', status: 'failed', return_code: 2 } as DecisionRecord, 2)).toMatchObject({ tone: 'bad', detail: 'failed: exit 2' });
    expect(decisionRow({ ...base, verdict: 'ran', status: 'done', return_code: 0 } as DecisionRecord, 3)).toMatchObject({ tone: 'good', detail: 'done: exit 0' });
  });

  test('peer decisions are not jobs', () => {
    const r = decisionRow({ ...base, job: '', kind: 'peer', verdict: 'peer-refused', reason: 'wrong owner' } as DecisionRecord, 0)!;
    expect(r).toMatchObject({ subject: 'peer ds@y.org', tone: 'bad', detail: 'wrong owner' });
    expect(r.job).toBeUndefined();
  });

  test('records without a time or verdict are skipped; control characters never reach the screen', () => {
    expect(decisionRow({ ...base, time: 'yesterday', verdict: 'approved' } as DecisionRecord, 0)).toBeUndefined();
    expect(decisionRow({ ...base, verdict: undefined } as unknown as DecisionRecord, 0)).toBeUndefined();
    expect(decisionRow(null as unknown as DecisionRecord, 0)).toBeUndefined();
    const r = decisionRow({ ...base, job: 'x\x1b]0;pwned\x07', verdict: 'rejected', reason: 'bad\nshape' } as DecisionRecord, 0)!;
    expect(r.subject).toBe('ds@y.org/x?]0;pwned?');
    expect(r.detail).toBe('bad?shape');
  });
});

describe('emailRows', () => {
  test('the last record of a key wins; seen records and the peer snapshot are left out', () => {
    const text = [
      JSON.stringify({ k: jkey('do@x.org', 'ds@y.org', 'j1', 'new'), s: 'intent', n: 0, t: '2026-11-25T11:00:00Z' }),
      JSON.stringify({ k: jkey('do@x.org', 'ds@y.org', 'j1', 'new'), s: 'sent', t: '2026-11-25T11:00:01Z' }),
      JSON.stringify({ k: jkey('do@x.org', 'ds@y.org', 'j0', 'new'), s: 'seen', t: '2026-11-25T10:00:00Z' }),
      JSON.stringify({ k: jkey('do@x.org', 'ds@y.org', 'j1', 'submitted'), s: 'failed', n: 2, err: 'quota', t: '2026-11-25T11:00:02Z' }),
      JSON.stringify({ k: JSON.stringify(['peer', 'do@x.org', 'p@z.org', 'new_peer_request']), s: 'intent', t: '2026-11-25T11:00:03Z' }),
      JSON.stringify({ k: '@peers', emails: ['p@z.org'] }),
      '{"k": "torn',
    ].join('\n');
    const rows = emailRows(text);
    expect(rows.map((r) => [r.label, r.subject, r.detail, r.tone])).toEqual([
      ['mail sent', 'ds@y.org/j1', 'new job (to you)', 'good'],
      ['mail failed', 'ds@y.org/j1', 'job submitted (to DS): quota (attempt 2)', 'bad'],
      ['sending', 'peer p@z.org', 'new peer request (to you)', 'warn'],
    ]);
    expect(rows[0]!.job).toEqual({ datasite: 'do@x.org', submitter: 'ds@y.org', name: 'j1' });
    expect(rows[2]!.job).toBeUndefined();
    expect(rows[0]!.time).toBe(Date.parse('2026-11-25T11:00:01Z'));
  });

  test('empty, garbage and keys of another shape give no rows', () => {
    expect(emailRows('')).toEqual([]);
    expect(emailRows('not json\n[1,2]\n{"k":"[\\"job\\",1]","s":"sent","t":"2026-11-25T11:00:00Z"}\n{"k":"x","s":"sent","t":"2026-11-25T11:00:00Z"}')).toEqual([]);
  });
});

describe('buildFeed', () => {
  const row = (key: string, time: number): FeedRow => ({ key, time, source: 'approve', label: 'x', tone: 'neutral', subject: key, detail: '' });

  test('newest first, limited, equal times keep the file order (later first)', () => {
    const feed = buildFeed([row('d1', 10), row('d2', 30)], [row('m1', 20), row('m2', 30)], 3);
    expect(feed.map((r) => r.key)).toEqual(['m2', 'd2', 'm1']);
    expect(buildFeed([row('a', 1)], [], 0)).toEqual([]);
  });
});

describe('keys', () => {
  const feed: FeedRow[] = ['a', 'b', 'c', 'd'].map((k, i) => ({ key: k, time: 100 - i, source: 'approve', label: 'approved', tone: 'good', subject: `s/${k}`, detail: '', job: { datasite: 'd', submitter: 's', name: k } }));
  const press = (st: UiState, key: string, rows = feed) => {
    const a = keyToAction(key, st.panel?.kind ?? null, 10);
    return a ? reduce(st, a, rows) : { state: st };
  };

  test('q and Ctrl+C quit from anywhere', () => {
    expect(press(initialState(), 'q').effect).toEqual({ type: 'quit' });
    expect(press(initialState(), 'CTRL_C').effect).toEqual({ type: 'quit' });
    const inLogs = press(initialState(), 'l').state;
    expect(press(inLogs, 'q').effect).toEqual({ type: 'quit' });
  });

  test('left/right select the service (wrapping); s t r act on it', () => {
    let st = initialState();
    expect(press(st, 's').effect).toEqual({ type: 'control', verb: 'start', service: 'notify' });
    st = press(st, 'RIGHT').state;
    expect(st.selectedService).toBe(1);
    expect(press(st, 't').effect).toEqual({ type: 'control', verb: 'stop', service: 'approve' });
    expect(press(st, 'r').effect).toEqual({ type: 'control', verb: 'restart', service: 'approve' });
    expect(press(st, 'RIGHT').state.selectedService).toBe(0);
    expect(press(initialState(), 'LEFT').state.selectedService).toBe(1);
  });

  test('an action in flight refuses another', () => {
    const busy = { ...initialState(), busy: 'starting notify…' };
    const r = press(busy, 's');
    expect(r.effect).toBeUndefined();
    expect(r.state.message).toEqual({ text: 'Wait: starting notify…', tone: 'warn' });
  });

  test('up/down/page/home/end move in the feed and stay inside it', () => {
    let st = reconcileFeed(initialState(), feed);
    expect(st.feedKey).toBe('a');
    st = press(st, 'DOWN').state;
    expect([st.feedIndex, st.feedKey]).toEqual([1, 'b']);
    st = press(st, 'PAGE_DOWN').state;
    expect(st.feedIndex).toBe(3);
    st = press(st, 'DOWN').state;
    expect(st.feedIndex).toBe(3);
    st = press(st, 'HOME').state;
    expect(st.feedIndex).toBe(0);
    st = press(st, 'UP').state;
    expect(st.feedIndex).toBe(0);
    expect(press(st, 'END').state.feedKey).toBe('d');
    expect(press(initialState(), 'DOWN', []).state.feedIndex).toBe(0);
  });

  test('the selection follows its row when newer rows arrive, and is clamped when its row is gone', () => {
    let st = reconcileFeed(initialState(), feed);
    st = press(st, 'DOWN').state; // b
    const newer: FeedRow = { ...feed[0]!, key: 'z', time: 1000 };
    st = reconcileFeed(st, [newer, ...feed]);
    expect([st.feedIndex, st.feedKey]).toEqual([2, 'b']);
    st = reconcileFeed(st, [newer]);
    expect([st.feedIndex, st.feedKey]).toEqual([0, 'z']);
    expect(reconcileFeed(st, [])).toMatchObject({ feedIndex: 0, feedKey: null });
  });

  test('e explains the selected job; not for peer rows or an empty feed; e/Esc close the panel', () => {
    let st = reconcileFeed(initialState(), feed);
    st = press(st, 'DOWN').state;
    expect(press(st, 'e').effect).toEqual({ type: 'explain', row: feed[1] });
    const peer: FeedRow = { ...feed[0]!, subject: 'peer p@z.org', job: undefined };
    expect(press(reconcileFeed(initialState(), [peer]), 'e', [peer]).state.message?.text).toContain('not a job');
    expect(press(initialState(), 'e', []).state.message?.text).toContain('feed is empty');
    const open: UiState = { ...st, panel: { kind: 'explain', title: 't', lines: ['1', '2', '3'], scroll: 0 } };
    expect(press(open, 'e').state.panel).toBeNull();
    expect(press(open, 'ESCAPE').state.panel).toBeNull();
    expect(press(open, 'DOWN').state.panel).toMatchObject({ scroll: 1 });
    expect(press(open, 'l').effect).toEqual({ type: 'logs', service: 'notify' });
    expect(keyToAction('ESCAPE', null, 10)).toBeUndefined();
  });

  test('l opens the log of the selected service, left/right switch it, up scrolls back, l closes', () => {
    let r = press(press(initialState(), 'RIGHT').state, 'l');
    expect(r.effect).toEqual({ type: 'logs', service: 'approve' });
    let st: UiState = { ...r.state, panel: { kind: 'logs', service: 'approve', lines: ['1', '2', '3', '4'], scroll: 0 } };
    st = press(st, 'UP').state;
    expect(st.panel).toMatchObject({ scroll: 1 });
    st = press(st, 'HOME').state;
    expect(st.panel).toMatchObject({ scroll: 3 });
    expect(press(st, 'END').state.panel).toMatchObject({ scroll: 0 });
    expect(press(st, 's').effect).toEqual({ type: 'control', verb: 'start', service: 'approve' });
    r = press(st, 'LEFT');
    expect(r.effect).toEqual({ type: 'logs', service: 'notify' });
    expect(r.state.panel).toMatchObject({ kind: 'logs', service: 'notify', scroll: 0 });
    expect(press(st, 'l').state.panel).toBeNull();
  });

  test('unknown keys do nothing', () => {
    expect(keyToAction('x', null, 10)).toBeUndefined();
    expect(keyToAction('F1', 'logs', 10)).toBeUndefined();
  });
});

describe('outbox note on the notify card', () => {
  const health = { updatedAt: null, pending: 0, sentSinceStart: 3, pausedUntil: null, failing: [] as Array<{ event: string; to: string | null; subject: string | null; attempts: number; lastError: string; nextAttemptAt: string | null }> };

  test('quiet outbox: no note; pending, failing and a pause are shown', () => {
    expect(outboxNote(null)).toBeNull();
    expect(outboxNote(health)).toBeNull();
    expect(outboxNote({ ...health, pending: 2 })).toEqual({ text: 'outbox: 2 pending', tone: 'warn' });
    const failing = { ...health, pending: 1, pausedUntil: '2026-11-25T12:05:00Z', failing: [{ event: 'e', to: null, subject: null, attempts: 3, lastError: 'quota', nextAttemptAt: null }] };
    expect(outboxNote(failing)).toEqual({ text: 'outbox: 1 pending, 1 failing, paused until 2026-11-25T12:05:00Z', tone: 'bad' });
    const cards = buildCards([], {}, NOW, failing);
    expect(cards[0]!.note?.tone).toBe('bad');
    expect(cards[1]!.note).toBeNull();
  });
});
