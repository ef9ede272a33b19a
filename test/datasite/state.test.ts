import { defaultState, emitState, parseState, STATE_KEYS, type JobState } from '../../lib/datasite/state';
import { FIXTURE_JOBS, DS, loadGolden, readFixture } from './helpers';

const golden = loadGolden();

function mustParse(text: string): JobState {
  const r = parseState(text);
  if (!r.ok) throw new Error(`${r.problem.code}: ${r.problem.message}`);
  return r.value;
}

describe('state.yaml golden round trip', () => {
  it.each(FIXTURE_JOBS)('fixture %s: parse then emit gives the same bytes', (job) => {
    const text = readFixture('review', DS, job, 'state.yaml');
    expect(emitState(mustParse(text))).toBe(text);
  });

  it('fixture values are read as written', () => {
    expect(mustParse(readFixture('review', DS, 'bash-done', 'state.yaml'))).toEqual({
      status: 'done',
      received_at: '2026-11-25T18:46:23.654761Z',
      approved_by: 'do@example.com',
      approved_at: '2026-11-25T18:46:23.668330Z',
      approval_method: 'auto',
      rejected_by: null,
      rejected_at: null,
      review_reason: null,
      completed_at: '2026-11-25T18:46:23.703576Z',
      return_code: 0,
    });
    const r = mustParse(readFixture('review', DS, 'invalid-extra-file', 'state.yaml'));
    expect(r.review_reason).toBe("Expected {'config.yaml', 'code', 'run.sh'}, got {'config.yaml', 'notes.txt', 'code', 'run.sh'}");
    expect(r.rejected_at).toBe(r.received_at);
  });
});

describe('state.yaml: what JobState(**yaml.safe_load(text)) + yaml.dump does (golden, pydantic 2)', () => {
  // Deliberate differences, each safer than Python's behaviour (we refuse to act; Python would guess):
  const STRICTER: Record<string, string> = {
    'truncated line': 'no status key: Python defaults to received; syft-job always writes status last, so it was cut short',
    'merge key': 'merge keys (<<) are not supported',
  };
  it.each(golden.state.map((c) => [c.name, c] as const))('%s', (name, c) => {
    const r = parseState(c.text);
    if (c.out !== undefined && !(name in STRICTER)) {
      if (!r.ok) throw new Error(`expected ok, got ${r.problem.code}: ${r.problem.message}`);
      expect(emitState(r.value)).toBe(c.out);
      return;
    }
    expect(r.ok).toBe(false);
    if (r.ok) return;
    if (name === 'truncated line') expect(r.problem.code).toBe('incomplete');
    else if (['empty', 'blank', 'truncated quote'].includes(name)) expect(r.problem.code).toBe('incomplete');
    else expect(['malformed', 'invalid']).toContain(r.problem.code);
  });
});

describe('state.yaml: constructed cases', () => {
  const base = (over: Partial<JobState>): JobState => ({ ...defaultState(), status: 'rejected', received_at: '2026-11-25T18:46:23.655584Z', ...over });

  it('all 10 keys, sorted, nulls written', () => {
    const text = emitState(defaultState());
    expect(text.split('\n').filter(Boolean).map((l) => l.split(':')[0])).toEqual([...STATE_KEYS]);
    expect(text).toBe(STATE_KEYS.map((k) => `${k}: ${k === 'status' ? 'received' : 'null'}`).join('\n') + '\n');
  });

  it.each([
    ['long reason with spaces folds at 80 columns', 'word '.repeat(40).trim()],
    ['reason with ": "', 'bad: uses os.system'],
    ['reason with " #"', 'see ticket #42'],
    ['reason with quotes', `it's "fine"`],
    ['reason with newlines', 'line one\nline two\n'],
    ['reason with leading spaces', '   indented'],
    ['unicode reason', 'données trop sensibles 😀'],
    ['reason "null"', 'null'],
    ['reason "true"', 'true'],
    ['reason "123"', '123'],
    ['reason "-"', '-'],
    ['empty reason', ''],
  ])('%s: round-trips through parse', (_n, reason) => {
    const s = base({ review_reason: reason, rejected_by: 'do@example.com', rejected_at: '2026-11-25T18:46:23.666898Z' });
    const text = emitState(s);
    expect(mustParse(text)).toEqual(s);
    expect(text.endsWith('status: rejected\n')).toBe(true);
  });

  it('exact bytes for quoting rules (checked against PyYAML 6.0.3)', () => {
    const line = (reason: string) =>
      emitState(base({ review_reason: reason }))
        .split('status:')[0]!
        .split('review_reason:')[1];
    expect(line('null')).toBe(" 'null'\n");
    expect(line('true')).toBe(" 'true'\n");
    expect(line('123')).toBe(" '123'\n");
    expect(line('a: b')).toBe(" 'a: b'\n");
    expect(line('a #b')).toBe(" 'a #b'\n");
    expect(line('a#b')).toBe(' a#b\n');
    expect(line("it's")).toBe(" it's\n");
    expect(line("'q'")).toBe(" '''q'''\n");
    expect(line(' lead')).toBe(" ' lead'\n");
    expect(line('a\nb')).toBe(" 'a\n\n  b'\n");
    expect(line('café')).toBe(' "caf\\xE9"\n');
    expect(line('tab\there')).toBe(' "tab\\there"\n');
  });

  it('timestamps are normalised as pydantic writes them', () => {
    const s = mustParse("received_at: '2026-11-25T18:46:23.5+00:00'\nstatus: pending\n");
    expect(s.received_at).toBe('2026-11-25T18:46:23.500000Z');
    expect(mustParse("received_at: '2026-11-25T18:46:23.000000Z'\nstatus: pending\n").received_at).toBe('2026-11-25T18:46:23Z');
  });

  it('unknown keys are reported and dropped, like pydantic', () => {
    const r = parseState("status: pending\nrejection_reason: old\napprovals: []\n");
    expect(r.ok && r.notes[0]).toMatch(/unknown keys ignored.*rejection_reason, approvals/);
    expect(r.ok && emitState(r.value)).not.toMatch(/approvals/);
  });
});

describe('state.yaml: hostile and half-written files never throw', () => {
  const full = readFixture('review', DS, 'analysis-approved', 'state.yaml');
  it('every strict prefix of a real file (what a reader sees while Python writes in place) is incomplete', () => {
    // (The last prefix, everything but the final newline, means the same and is accepted.)
    for (let i = 0; i < full.length - 1; i++) {
      const r = parseState(full.slice(0, i));
      expect(r.ok).toBe(false);
      if (!r.ok) expect([i, r.problem.code]).toEqual([i, 'incomplete']);
    }
    expect(parseState(full).ok).toBe(true);
  });
  it('typed problems for wrong content', () => {
    const cases: Array<[string, string]> = [
      ['', 'incomplete'],
      ['   \n', 'incomplete'],
      ['status: pending', 'incomplete'],
      ['status: pending\n', 'ok'],
      ["received_at: '2026-11-2", 'incomplete'],
      ['- a\n- b\n', 'invalid'],
      ['status: maybe\n', 'invalid'],
      ['status: pending\nreturn_code: lots\n', 'invalid'],
      ['status: pending\napproved_by: 12\n', 'invalid'],
      ["status: pending\nreceived_at: 'not a date'\n", 'invalid'],
      ['status: [pending\n', 'incomplete'],
      ['a: "x"y\nstatus: pending\n', 'malformed'],
      ['status: pending\n---\nstatus: done\n', 'malformed'],
      ['status: !!python/object:os.system x\n', 'malformed'],
      ['\x00\x01\x02\n', 'malformed'],
      ['status: pending\n' + 'x: ' + 'a'.repeat(100000) + '\n', 'ok'],
    ];
    for (const [text, code] of cases) {
      const r = parseState(text);
      expect([text.slice(0, 40), r.ok ? 'ok' : r.problem.code]).toEqual([text.slice(0, 40), code]);
    }
  });
  it('emitState refuses values no Python state could hold', () => {
    expect(() => emitState({ ...defaultState(), status: 'paused' as never })).toThrow(TypeError);
    expect(() => emitState({ ...defaultState(), received_at: 'yesterday' })).toThrow(TypeError);
    expect(() => emitState({ ...defaultState(), return_code: 1.5 })).toThrow(TypeError);
  });
});
