import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  eventKey, eventMessageId, jobEvents, jobKey, parseEventKey, peerEvents, pendingEvents, type JobSnapshot, type NotifyEvent,
} from '../../lib/notify/events';
import { isExcludedPath, parseReturnCode, readJobCode, readStderr, selectCode, stderrTail, MAX_FILE_CHARS } from '../../lib/notify/jobfiles';
import { retryDelayMs, TokenBucket, rateFromConfig, GMAIL_RATE } from '../../lib/notify/pacing';
import { Journal } from '../../lib/notify/journal';
import { importPythonState, isPythonStateEmpty, mergeIntoPythonState, parsePythonState } from '../../lib/notify/python-state';
import { peerSnapshot } from '../../lib/notify/peers';
import { tmpDir } from './helpers';

const snap = (status: JobSnapshot['status'], o: Partial<JobSnapshot> = {}): JobSnapshot => ({
  datasite: 'do@example.com', submitter: 'ds@example.org', name: 'j', hasConfig: true, complete: true, status, ...o,
});
const kinds = (s: JobSnapshot) => jobEvents(s).map((e) => e.kind);

describe('events', () => {
  it.each<[JobSnapshot['status'], string[]]>([
    ['received', ['new', 'submitted']],
    ['pending', ['new', 'submitted']],
    ['approved', ['new', 'submitted', 'approved', 'approved_do']],
    ['running', ['new', 'submitted', 'approved', 'approved_do']],
    ['done', ['new', 'submitted', 'approved', 'approved_do', 'executed', 'completed_do']],
    ['failed', ['new', 'submitted', 'approved', 'approved_do', 'failed']],
    ['rejected', ['new', 'submitted', 'rejected', 'rejected_ds']],
    [null, ['new', 'submitted']],
  ])('status %s → %j', (status, want) => {
    expect(kinds(snap(status))).toEqual(want);
  });

  it('nothing without metadata or while the listed files are still arriving', () => {
    expect(kinds(snap('done', { hasConfig: false }))).toEqual([]);
    expect(kinds(snap('done', { complete: false }))).toEqual([]);
  });

  it('keys are (datasite, submitter, job, event): no collision between names, submitters, separators', () => {
    const a = jobKey({ datasite: 'd@x', submitter: 'a@x', name: 'j' }, 'new');
    const b = jobKey({ datasite: 'd@x', submitter: 'b@x', name: 'j' }, 'new');
    const c = jobKey({ datasite: 'd@x', submitter: 'a@x', name: 'j' }, 'submitted');
    const tricky1 = jobKey({ datasite: 'd@x', submitter: 'a@x","j', name: 'k' }, 'new');
    const tricky2 = jobKey({ datasite: 'd@x', submitter: 'a@x', name: 'j","k' }, 'new');
    expect(new Set([a, b, c, tricky1, tricky2]).size).toBe(5);
    const ev: NotifyEvent = { type: 'job', kind: 'failed', job: { datasite: 'd@x', submitter: 'a@x', name: 'j:1/"2' } };
    expect(parseEventKey(eventKey(ev))).toEqual(ev);
    const pe: NotifyEvent = { type: 'peer', kind: 'peer_granted', datasite: 'd@x', peer: 'p@y' };
    expect(parseEventKey(eventKey(pe))).toEqual(pe);
    expect(parseEventKey('["job","a","b","c","nope"]')).toBeUndefined();
    expect(parseEventKey('{')).toBeUndefined();
  });

  it('Message-IDs are stable per key, distinct across keys, and valid msg-ids on the DO domain', () => {
    expect(eventMessageId('k1', 'do@Example.COM')).toBe(eventMessageId('k1', 'do@Example.COM'));
    expect(eventMessageId('k1', 'do@example.com')).not.toBe(eventMessageId('k2', 'do@example.com'));
    expect(eventMessageId('k1', 'do@example.com')).toMatch(/^<syft-bg\.[0-9a-f]{32}@example\.com>$/);
  });

  it('a mail waits for the earlier mails of its chain; chains are independent', () => {
    const evs = jobEvents(snap('done'));
    const done = new Set<string>();
    const look = (k: string) => (done.has(k) ? { status: 'sent' as const } : undefined);
    const ready = () => pendingEvents(evs, look).filter((p) => p.ready).map((p) => (p.event as { kind: string }).kind);
    expect(ready()).toEqual(['new', 'submitted']);
    done.add(eventKey(evs[1]!)); // submitted
    expect(ready()).toEqual(['new', 'approved']);
    done.add(eventKey(evs[0]!));
    expect(ready()).toEqual(['approved', 'approved_do']);
    // failed job: DO chain skips "completed"
    const f = jobEvents(snap('failed'));
    const seen = (k: string) => (k.includes('"failed"') ? undefined : { status: 'seen' as const });
    expect(pendingEvents(f, seen)).toEqual([{ event: f[4], key: eventKey(f[4]!), ready: true }]);
  });

  it('peers: new e-mails in the snapshot → request mails; accepted → granted; duplicates and case folded', () => {
    const ev = peerEvents('do@x', ['old@y'], [
      { email: 'old@y', state: 'accepted' },
      { email: 'New@Y', state: 'requested_by_peer' },
      { email: 'new@y', state: 'requested_by_peer' },
    ]);
    expect(ev.map((e) => `${e.kind}:${e.peer}`)).toEqual(['new_peer_request:new@y', 'peer_request_sent:new@y', 'peer_granted:old@y']);
    expect(peerSnapshot(new Map([['a@x', 'accepted'], ['r@x', 'rejected'], ['m@x', 'requested_by_me']]), ['R@x', 'b@x', 'a@x'])).toEqual([
      { email: 'a@x', state: 'accepted' },
      { email: 'b@x', state: 'requested_by_peer' },
    ]);
  });
});

describe('job files in mails', () => {
  let dir: string;
  beforeEach(() => (dir = tmpDir('jobfiles-')));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('hidden and generated paths are excluded', () => {
    for (const p of ['.venv/x.py', 'a/__pycache__/b.pyc', '.git/HEAD', 'node_modules/x.js', 'x/.DS_Store', '.env', 'private/k', 'a/.hidden/b']) expect(isExcludedPath(p)).toBe(true);
    for (const p of ['main.py', 'sub/dir/x.py', 'privatex/y']) expect(isExcludedPath(p)).toBe(false);
  });

  it('per-file 50 KiB cut with the reference marker, sorted walk, no symlinks followed, excluded files left out', () => {
    const code = path.join(dir, 'code');
    fs.mkdirSync(path.join(code, 'sub'), { recursive: true });
    fs.mkdirSync(path.join(code, '__pycache__'));
    fs.writeFileSync(path.join(code, 'b.py'), 'é'.repeat(60_000)); // 120,000 bytes, 60,000 chars
    fs.writeFileSync(path.join(code, 'a.py'), 'print(1)\n');
    fs.writeFileSync(path.join(code, 'sub', 'c.txt'), 'bad \xff'.replace('\xff', '') + '\u0000');
    fs.writeFileSync(path.join(code, '__pycache__', 'x.pyc'), 'x');
    fs.writeFileSync(path.join(dir, 'secret'), 'TOP SECRET');
    fs.symlinkSync(path.join(dir, 'secret'), path.join(code, 'link.py'));
    const files = readJobCode(code)!;
    expect(files.map((f) => f.name)).toEqual(['a.py', 'b.py', 'sub/c.txt']);
    expect(files[0]!.content).toBe('print(1)\n');
    expect(files[1]!.content).toBe('é'.repeat(MAX_FILE_CHARS) + '\n\n[... truncated, full file is 117 KB]');
    expect(JSON.stringify(files)).not.toContain('TOP SECRET');
    expect(readJobCode(path.join(dir, 'missing'))).toBeUndefined();
  });

  it('500 KiB in total, then "..." with the number of files not shown (filtered ones counted)', () => {
    const cands = Array.from({ length: 15 }, (_, i) => ({ name: `f${String(i).padStart(2, '0')}.py`, size: 40_000, read: () => 'x'.repeat(40_000) }));
    cands.splice(1, 0, { name: '.venv/lib.py', size: 1, read: () => 'y' });
    const out = selectCode(cands)!;
    expect(out).toHaveLength(13);
    expect(out.slice(0, 12).every((f) => f.content.length === 40_000)).toBe(true);
    expect(out[12]).toEqual({ name: '...', content: '[... 4 more files not shown]' });
    expect(selectCode([])).toBeUndefined();
    expect(selectCode([{ name: 'x', size: 3, read: () => { throw new Error('EACCES'); } }])).toEqual([{ name: 'x', content: '[unable to read file: EACCES]' }]);
  });

  it('stderr: whole text stripped, or the last 50 KiB with the marker; return codes as Python int()', () => {
    expect(stderrTail(Buffer.from('  \nboom\n\n'), 9)).toBe('boom');
    expect(stderrTail(Buffer.from(' \n'), 2)).toBeNull();
    const f = path.join(dir, 'stderr.txt');
    fs.writeFileSync(f, 'A'.repeat(100_000) + 'END');
    const t = readStderr(f)!;
    expect(t.startsWith('[... truncated, showing last 50 KB of 97 KB total]\n\n')).toBe(true);
    expect(t.endsWith('END')).toBe(true);
    expect(t.length).toBe('[... truncated, showing last 50 KB of 97 KB total]\n\n'.length + 51200);
    expect(readStderr(path.join(dir, 'none'))).toBeNull();
    expect(parseReturnCode(' 1\n')).toBe(1);
    expect(parseReturnCode('-15')).toBe(-15);
    expect(parseReturnCode('1_000')).toBe(1000);
    expect(parseReturnCode('abc')).toBeNull();
    expect(parseReturnCode('')).toBeNull();
  });
});

describe('pacing', () => {
  it('token bucket: a burst, then the steady rate', () => {
    const b = new TokenBucket({ ratePerSecond: 2, burst: 3 }, 0);
    expect([b.tryTake(0), b.tryTake(0), b.tryTake(0), b.tryTake(0)]).toEqual([true, true, true, false]);
    expect(b.delay(0)).toBe(500);
    expect(b.tryTake(499)).toBe(false);
    expect(b.tryTake(500)).toBe(true);
    b.pauseUntil(10_000);
    expect(b.tryTake(9_999)).toBe(false);
    expect(b.delay(10_000)).toBe(500);
    expect(b.tryTake(10_500)).toBe(true);
    expect(() => new TokenBucket({ ratePerSecond: 0, burst: 1 }, 0)).toThrow(RangeError);
  });

  it('retry delays double from 30 s and cap at 1 h; rate settings from config', () => {
    expect([1, 2, 3, 4, 8, 100].map((n) => retryDelayMs(n))).toEqual([30_000, 60_000, 120_000, 240_000, 3_600_000, 3_600_000]);
    expect(rateFromConfig({}, GMAIL_RATE)).toEqual(GMAIL_RATE);
    expect(rateFromConfig({ notify: { send_rate_per_second: 0.5, send_burst: 4 } }, GMAIL_RATE)).toEqual({ ratePerSecond: 0.5, burst: 4 });
    expect(rateFromConfig({ notify: { send_rate_per_second: -1, send_burst: 'x' } }, GMAIL_RATE)).toEqual(GMAIL_RATE);
  });
});

describe('journal', () => {
  let dir: string;
  beforeEach(() => (dir = tmpDir('journal-')));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('fresh until initialised (atomically, with its seed); last record wins; torn lines skipped; compacted on open', () => {
    const f = path.join(dir, 'n', 'journal.jsonl');
    const j = Journal.open(f);
    expect(j.fresh).toBe(true);
    expect(fs.existsSync(f)).toBe(false);
    j.initialise([{ k: 'a', s: 'seen' }], ['p@x']);
    expect(fs.statSync(f).mode & 0o777).toBe(0o600);
    j.append({ k: 'b', s: 'intent', mid: '<m@x>' });
    j.append({ k: 'b', s: 'sent', mid: '<m@x>', tid: 'T' });
    j.append({ k: 'c', s: 'intent', mid: '<c@x>' });
    j.close();
    fs.appendFileSync(f, '{"k":"d","s":"se'); // a crash mid-append
    const j2 = Journal.open(f);
    expect(j2.fresh).toBe(false);
    expect(j2.get('a')?.s).toBe('seen');
    expect(j2.get('b')).toMatchObject({ s: 'sent', tid: 'T' });
    expect(j2.get('c')?.s).toBe('intent');
    expect(j2.get('d')).toBeUndefined();
    expect(j2.peers).toEqual(['p@x']);
    expect(fs.readFileSync(f, 'utf8').trim().split('\n')).toHaveLength(4);
    j2.append({ k: 'd', s: 'seen' });
    j2.close();
    expect(Journal.open(f).get('d')?.s).toBe('seen');
  });
});

describe('Python notify/state.json', () => {
  const jobs = [
    { datasite: 'do@x', submitter: 'a@x', name: 'j1' },
    { datasite: 'do@x', submitter: 'b@x', name: 'j1' },
    { datasite: 'do@x', submitter: 'a@x', name: 'j2' },
  ];
  const py = parsePythonState(JSON.stringify({
    notified_jobs: { j1: ['new', 'approved'], j2: ['new'], 'peer_new_p@y_to_do': ['new_peer_request'], 'peer_new_p@y_to_ds': ['peer_request_sent'], 'peer_granted_p@y': ['peer_granted'], junk: 'x' },
    thread_ids: { j1: 'T1' },
    peer_snapshot: ['P@y'],
    other: 1,
  }))!;

  it('parses leniently; emptiness as is_empty()', () => {
    expect(parsePythonState('{bad')).toBeUndefined();
    expect(parsePythonState('[]')).toBeUndefined();
    expect(isPythonStateEmpty(undefined)).toBe(true);
    expect(isPythonStateEmpty({ notified_jobs: {}, thread_ids: { a: 'b' }, peer_snapshot: ['x'] })).toBe(true);
    expect(isPythonStateEmpty({ approved_jobs: { a: {} } })).toBe(false);
    expect(isPythonStateEmpty(py)).toBe(false);
  });

  it('import: a name covers every submitter; events map to their companion mails; thread ids kept; peers', () => {
    const { records, peers } = importPythonState(py, 'do@x', jobs);
    const keys = new Set(records.map((r) => r.k));
    for (const j of jobs.slice(0, 2)) for (const k of ['new', 'submitted', 'approved', 'approved_do'] as const) expect(keys.has(jobKey(j, k))).toBe(true);
    expect(keys.has(jobKey(jobs[0]!, 'executed'))).toBe(false);
    expect(keys.has(jobKey(jobs[2]!, 'new'))).toBe(true);
    expect(keys.has(jobKey(jobs[2]!, 'approved'))).toBe(false);
    expect(records.find((r) => r.k === jobKey(jobs[1]!, 'new'))?.tid).toBe('T1');
    for (const kind of ['new_peer_request', 'peer_request_sent', 'peer_granted'] as const) expect(keys.has(eventKey({ type: 'peer', kind, datasite: 'do@x', peer: 'p@y' }))).toBe(true);
    expect(peers).toEqual(['p@y']);
  });

  it('export merges into the existing file without dropping anything', () => {
    const out = mergeIntoPythonState(py, [
      { event: { type: 'job', kind: 'new', job: jobs[2]! }, threadId: 'T2' },
      { event: { type: 'job', kind: 'executed', job: jobs[0]! } },
      { event: { type: 'job', kind: 'completed_do', job: jobs[0]! } },
      { event: { type: 'peer', kind: 'peer_granted', datasite: 'do@x', peer: 'q@y' } },
    ], ['p@y', 'q@y']);
    expect(out.notified_jobs!.j1).toEqual(['new', 'approved', 'executed']);
    expect(out.notified_jobs!.j2).toEqual(['new']);
    expect(out.notified_jobs!['peer_granted_q@y']).toEqual(['peer_granted']);
    expect(out.thread_ids).toEqual({ j1: 'T1', j2: 'T2' });
    expect(out.peer_snapshot).toEqual(['p@y', 'q@y']);
    expect(out.other).toBe(1);
  });
});
