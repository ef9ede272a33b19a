import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApproveStateStore, importPython, parseApproveState, recordApproval } from '../../lib/approve/state';
import { AuditLog, readDecisions } from '../../lib/approve/audit';

describe('approve/state.json (shared with the Python syft-bg)', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ast-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads a half-written or corrupt file as empty (Python writes in place)', () => {
    expect(parseApproveState(undefined)).toEqual({});
    expect(parseApproveState('')).toEqual({});
    expect(parseApproveState('{"approved_jobs": {"a": ')).toEqual({});
    expect(parseApproveState('[1,2]')).toEqual({});
  });

  it("imports Python's name-keyed approvals once, keyed by (datasite, submitter, job); peers left alone", () => {
    const py = {
      approved_jobs: {
        'job-a': { approved_at: '2026-01-01T00:00:00+00:00', submitted_by: 'ds@x.org' },
        'peer_bob@y.org': { approved_at: '2026-01-01T00:00:00+00:00', submitted_by: 'y.org' },
      },
    };
    const s = importPython(py, 'do@x.org');
    expect(s.jobs).toEqual({ 'do@x.org/ds@x.org/job-a': { approved_at: '2026-01-01T00:00:00+00:00', source: 'python' } });
    expect(s.approved_jobs).toBe(py.approved_jobs);
    expect(importPython(s, 'do@x.org')).toBe(s); // once
  });

  it('records approvals in both the Python key and ours; the store keeps other writers\' keys and writes 0600', () => {
    const file = path.join(dir, 'approve', 'state.json');
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, JSON.stringify({ approved_jobs: { old: { approved_at: 't0', submitted_by: 'ds@x.org' } }, notified_extra: 1 }, null, 2));
    const store = new ApproveStateStore(file, 'do@x.org');
    // Another writer adds a key meanwhile.
    const cur = JSON.parse(fs.readFileSync(file, 'utf8'));
    cur.approved_jobs.other = { approved_at: 't1', submitted_by: 'z@x.org' };
    fs.writeFileSync(file, JSON.stringify(cur));
    store.update((s) => recordApproval(s, 'do@x.org', 'ds@x.org', 'new', 't2', 'obj'));
    const out = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(Object.keys(out.approved_jobs).sort()).toEqual(['new', 'old', 'other']);
    expect(out.jobs['do@x.org/ds@x.org/new']).toEqual({ approved_at: 't2', object: 'obj', source: 'node' });
    expect(out.jobs['do@x.org/ds@x.org/old'].source).toBe('python');
    expect(out.notified_extra).toBe(1);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });
});

describe('decisions.jsonl', () => {
  it('appends one JSON line per decision and skips a line torn by a crash', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aud-'));
    const file = path.join(dir, 'approve', 'decisions.jsonl');
    const log = new AuditLog(file);
    log.append({ datasite: 'do@x.org', submitter: 'ds@x.org', job: 'j', verdict: 'received' });
    log.append({ datasite: 'do@x.org', submitter: 'ds@x.org', job: 'j', verdict: 'approved', object: 'o', hashes: { 'a.py': 'sha256:00' } });
    log.close();
    fs.appendFileSync(file, '{"time":"2026-');
    const recs = readDecisions(file);
    expect(recs.map((r) => r.verdict)).toEqual(['received', 'approved']);
    expect(recs[1]).toMatchObject({ object: 'o', hashes: { 'a.py': 'sha256:00' } });
    expect(typeof recs[0]!.time).toBe('string');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    fs.rmSync(dir, { recursive: true });
  });
});
