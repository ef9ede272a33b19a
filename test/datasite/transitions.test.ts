import { pyRepr, pySetRepr } from '../../lib/datasite/pyrepr';
import { defaultState, emitState, parseState, type JobState } from '../../lib/datasite/state';
import { clockAt, formatPyTimestamp, normalizePyDatetime, parseUtcIsoMicros, steppingClock, systemClock } from '../../lib/datasite/time';
import {
  acceptByDepositingResult,
  approve,
  checkSubmission,
  finish,
  markRunning,
  receive,
  reject,
  rerun,
  TransitionError,
  type SubmissionEntry,
} from '../../lib/datasite/transitions';
import { DO, DS, loadGolden, readFixture } from './helpers';

const golden = loadGolden();
const state = (job: string): JobState => {
  const r = parseState(readFixture('review', DS, job, 'state.yaml'));
  if (!r.ok) throw new Error(r.problem.message);
  return r.value;
};
const VALID: SubmissionEntry[] = [
  { name: 'config.yaml', type: 'file' },
  { name: 'run.sh', type: 'file' },
  { name: 'code', type: 'dir' },
];

/** `{'a', 'b'}` -> set of names (Python's set order is hash-randomised, so compare as sets). */
function parseSetRepr(s: string): Set<string> {
  if (s === 'set()') return new Set();
  return new Set([...s.slice(1, -1).matchAll(/'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] ?? m[2] ?? ''));
}

describe('reception (JobClient.receive_job)', () => {
  const clock = clockAt('2026-11-25T18:46:23.655584Z');

  it('a valid submission becomes pending with received_at only (= analysis-pending fixture shape)', () => {
    const r = receive(VALID, DO, clockAt('2026-11-25T18:46:23.656253Z'));
    expect(r.kind).toBe('pending');
    expect(r.kind === 'pending' && emitState(r.state)).toBe(readFixture('review', DS, 'analysis-pending', 'state.yaml'));
  });

  it('an extra file is rejected exactly like the invalid-extra-file fixture (set order aside)', () => {
    const r = receive([...VALID, { name: 'notes.txt', type: 'file' }], DO, clock);
    if (r.kind !== 'rejected') throw new Error(r.kind);
    const fixture = state('invalid-extra-file');
    expect({ ...r.state, review_reason: null }).toEqual({ ...fixture, review_reason: null });
    const [exp, got] = r.reason.replace(/^Expected /, '').split(', got ') as [string, string];
    const [fexp, fgot] = fixture.review_reason!.replace(/^Expected /, '').split(', got ') as [string, string];
    expect(parseSetRepr(exp)).toEqual(parseSetRepr(fexp));
    expect(parseSetRepr(got)).toEqual(parseSetRepr(fgot));
    expect(r.reason).toBe("Expected {'config.yaml', 'code', 'run.sh'}, got {'code', 'config.yaml', 'notes.txt', 'run.sh'}");
    // Same length as the fixture's reason, so it folds the same way at 80 columns.
    expect(emitState(r.state).split('\n').length).toBe(readFixture('review', DS, 'invalid-extra-file', 'state.yaml').split('\n').length);
  });

  it.each<[string, SubmissionEntry[], string]>([
    ['missing code/ (half-arrived)', VALID.filter((e) => e.name !== 'code'), "Expected {'config.yaml', 'code', 'run.sh'}, got {'config.yaml', 'run.sh'}"],
    ['only config.yaml', [VALID[0]!], "Expected {'config.yaml', 'code', 'run.sh'}, got {'config.yaml'}"],
    ['code is a file', [VALID[0]!, VALID[1]!, { name: 'code', type: 'file' }], "'code' must be a directory"],
    ['run.sh is a directory', [VALID[0]!, { name: 'run.sh', type: 'dir' }, VALID[2]!], "'run.sh' must be a file"],
    ['config.yaml is a directory', [{ name: 'config.yaml', type: 'dir' }, VALID[1]!, VALID[2]!], "'config.yaml' must be a file"],
    ['run.sh is a FIFO', [VALID[0]!, { name: 'run.sh', type: 'other' }, VALID[2]!], "'run.sh' must be a file"],
    ['hidden file', [...VALID, { name: '.DS_Store', type: 'file' }], "Expected {'config.yaml', 'code', 'run.sh'}, got {'.DS_Store', 'code', 'config.yaml', 'run.sh'}"],
    ["name with a quote", [...VALID, { name: "it's", type: 'file' }], `Expected {'config.yaml', 'code', 'run.sh'}, got {'code', 'config.yaml', "it's", 'run.sh'}`],
  ])('%s', (_n, entries, reason) => {
    const r = receive(entries, DO, clock);
    expect(r).toMatchObject({ kind: 'rejected', reason });
    if (r.kind === 'rejected') {
      expect(r.state).toEqual({ ...defaultState(), status: 'rejected', received_at: '2026-11-25T18:46:23.655584Z', rejected_at: '2026-11-25T18:46:23.655584Z', rejected_by: DO, review_reason: reason });
      expect(parseState(emitState(r.state))).toMatchObject({ ok: true, value: r.state });
    }
  });

  it('syft.pub.yaml is ignored; a symlinked entry is held, never followed', () => {
    expect(checkSubmission([...VALID, { name: 'syft.pub.yaml', type: 'file' }])).toEqual({ valid: true });
    expect(receive([VALID[0]!, VALID[1]!, { name: 'code', type: 'symlink' }], DO, clock)).toEqual({ kind: 'hold', reason: "'code' is a symbolic link; not following it" });
  });
});

describe('approve / reject / run (field by field, against the fixtures)', () => {
  it('approve(manual, reason) from the pending fixture gives the analysis-approved shape', () => {
    const pending = { ...state('analysis-pending'), received_at: state('analysis-approved').received_at };
    const out = approve(pending, { approvedBy: DO, method: 'manual', reason: 'ok, will run tonight' }, clockAt('2026-11-25T18:46:23.752433Z'));
    expect(emitState(out)).toBe(readFixture('review', DS, 'analysis-approved', 'state.yaml'));
  });

  it('reject(reason) gives the analysis-rejected fixture', () => {
    const pending = { ...state('analysis-pending'), received_at: state('analysis-rejected').received_at };
    const out = reject(pending, { rejectedBy: DO, reason: 'uses too much data' }, clockAt('2026-11-25T18:46:23.666898Z'));
    expect(emitState(out)).toBe(readFixture('review', DS, 'analysis-rejected', 'state.yaml'));
  });

  it('auto approval, running, finish(0) gives the bash-done fixture', () => {
    const s0 = { ...defaultState(), status: 'pending' as const, received_at: '2026-11-25T18:46:23.654761Z' };
    const s1 = approve(s0, { approvedBy: DO, method: 'auto' }, clockAt('2026-11-25T18:46:23.668330Z'));
    const s2 = markRunning(s1);
    expect(s2.status).toBe('running');
    expect(emitState(s2)).toBe(emitState(s1).replace('status: approved', 'status: running'));
    const s3 = finish(s2, 0, clockAt('2026-11-25T18:46:23.703576Z'));
    expect(emitState(s3)).toBe(readFixture('review', DS, 'bash-done', 'state.yaml'));
  });

  it('manual approval, running, finish(127) gives the analysis-failed fixture', () => {
    const s0 = { ...defaultState(), status: 'pending' as const, received_at: '2026-11-25T18:46:23.657391Z' };
    const s1 = approve(s0, { approvedBy: DO, reason: 'looks fine' }, clockAt('2026-11-25T18:46:23.667620Z'));
    const s3 = finish(markRunning(s1), 127, clockAt('2026-11-25T18:46:23.733246Z'));
    expect(emitState(s3)).toBe(readFixture('review', DS, 'analysis-failed', 'state.yaml'));
  });

  it('timeout or runner exception: failed with -1', () => {
    const s = finish(markRunning(state('analysis-approved')), -1, clockAt('2026-11-25T19:00:00Z'));
    expect(s).toMatchObject({ status: 'failed', return_code: -1, completed_at: '2026-11-25T19:00:00Z' });
    expect(emitState(s)).toMatch(/^return_code: -1$/m);
  });

  it('approve keeps every other field and clears review_reason when none is given', () => {
    const s = { ...state('analysis-pending'), review_reason: 'earlier note' };
    const out = approve(s, { approvedBy: DO }, clockAt('2026-11-25T19:00:00.000001Z'));
    expect(out).toEqual({ ...s, status: 'approved', approved_by: DO, approved_at: '2026-11-25T19:00:00.000001Z', approval_method: 'manual', review_reason: null });
  });

  it.each(['approved', 'rejected', 'running', 'done', 'failed', 'received'] as const)('approve/reject refuse status %s with the Python message', (status) => {
    const s = { ...defaultState(), status };
    expect(() => approve(s, { approvedBy: DO, jobName: 'j' }, systemClock)).toThrow(new TransitionError(`Job 'j' is not in pending status (current: ${status})`));
    expect(() => reject(s, { rejectedBy: DO }, systemClock)).toThrow(TransitionError);
  });

  it('accept_by_depositing_result and rerun', () => {
    const pending = state('analysis-pending');
    const done = acceptByDepositingResult(pending, { by: DO }, clockAt('2026-11-26T00:00:00Z'));
    expect(done).toMatchObject({ status: 'done', approved_by: DO, approved_at: '2026-11-26T00:00:00Z', completed_at: '2026-11-26T00:00:00Z', return_code: 0 });
    const approvedDone = acceptByDepositingResult(state('analysis-approved'), { by: 'other@x.y' }, clockAt('2026-11-26T00:00:00Z'));
    expect(approvedDone.approved_by).toBe(DO);
    expect(approvedDone.approved_at).toBe('2026-11-25T18:46:23.752433Z');
    expect(() => acceptByDepositingResult(state('bash-done'), { by: DO }, systemClock)).toThrow(/not in pending or approved status \(current: done\)/);
    expect(rerun(state('bash-done'))).toEqual({ ...state('bash-done'), status: 'approved', completed_at: null, return_code: null });
    expect(() => rerun(pending)).toThrow(/Only completed or failed jobs can be rerun/);
  });

  it('finish refuses a non-integer return code', () => {
    expect(() => finish(defaultState(), 1.5, systemClock)).toThrow(TypeError);
  });
});

describe('time: pydantic timestamp format', () => {
  it('six fraction digits, none when zero, Z for UTC', () => {
    expect(formatPyTimestamp(parseUtcIsoMicros('2026-11-25T18:46:23.656253Z')!)).toBe('2026-11-25T18:46:23.656253Z');
    expect(formatPyTimestamp(parseUtcIsoMicros('2026-11-25T18:46:23Z')!)).toBe('2026-11-25T18:46:23Z');
    expect(formatPyTimestamp(parseUtcIsoMicros('2026-11-25T18:46:23.000123Z')!)).toBe('2026-11-25T18:46:23.000123Z');
    expect(formatPyTimestamp(parseUtcIsoMicros('2026-11-25T20:46:23.5+02:00')!)).toBe('2026-11-25T18:46:23.500000Z');
    expect(formatPyTimestamp(0)).toBe('1970-01-01T00:00:00Z');
    expect(formatPyTimestamp(-1)).toBe('1969-12-31T23:59:59.999999Z');
  });
  it('normalizePyDatetime matches pydantic for the forms it accepts and refuses the rest', () => {
    expect(normalizePyDatetime('2026-11-25')).toBe('2026-11-25T00:00:00');
    expect(normalizePyDatetime('2026-11-25T18:46:23.1234567-00:00')).toBe('2026-11-25T18:46:23.123456Z');
    expect(normalizePyDatetime('0001-01-01T00:00:00Z')).toBe('0001-01-01T00:00:00Z');
    expect(normalizePyDatetime(1700000000)).toBe('2023-11-14T22:13:20Z');
    expect(normalizePyDatetime(20000000000)).toBe('2603-10-11T11:33:20Z');
    for (const bad of ['2026-11-25T18:46:23+01', ' 2026-11-25T18:46:23Z', '2026-11-25T18:46:23.Z', '2023-02-29', 'now', 1.5, true, null]) {
      expect(normalizePyDatetime(bad)).toBeUndefined();
    }
  });
  it('clocks', () => {
    expect(formatPyTimestamp(clockAt('2026-11-25T18:46:23.1Z')())).toBe('2026-11-25T18:46:23.100000Z');
    const c = steppingClock('2026-11-25T18:46:23Z', 1);
    expect([c(), c()].map(formatPyTimestamp)).toEqual(['2026-11-25T18:46:23Z', '2026-11-25T18:46:23.000001Z']);
    const now = systemClock();
    expect(Math.abs(now / 1000 - Date.now())).toBeLessThan(5000);
    expect(formatPyTimestamp(now)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$/);
    expect(() => clockAt('yesterday')).toThrow(RangeError);
  });
});

describe('Python repr (golden, CPython 3.11)', () => {
  it.each(golden.repr.map((c) => [JSON.stringify(c.s), c] as const))('repr(%s)', (_n, c) => {
    expect(pyRepr(c.s)).toBe(c.out);
  });
  it.each(golden.setrepr.map((c) => [JSON.stringify(c.items), c] as const))('repr(set(%s)) has the same elements', (_n, c) => {
    const ours = pySetRepr(c.items);
    if (c.items.length === 0) expect(ours).toBe(c.out);
    else expect(parseSetRepr(ours)).toEqual(parseSetRepr(c.out));
  });
});
