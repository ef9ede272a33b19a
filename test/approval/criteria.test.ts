/**
 * Port of the reference's tests/unit/syft_bg/test_criteria.py (21 tests, §12.4), with real temp dirs and files.
 * Titles are the reference's `Class::test_name`. Where the reference asserted one of its bugs (6-digit short
 * hashes), the test asserts the fix and says so.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { hashMatches } from '../../lib/approval/hash';
import { hashFileOnDisk, storedCopyReader } from '../../lib/approval/snapshot';
import { contentReason, validateAgainstObject, validateJob } from '../../lib/approval/validate';
import { ctx, makeEntry, obj, snap, tempDir, writeFile, writeJob } from './helpers';

let t: ReturnType<typeof tempDir>;
beforeEach(() => (t = tempDir()));
afterEach(() => t.cleanup());

const sha = (s: string) => createHash('sha256').update(Buffer.from(s, 'utf8')).digest('hex');

describe('TestComputeFileHash', () => {
  it('TestComputeFileHash::test_hash_matches_manual', () => {
    const content = 'print("hello")\n';
    const script = writeFile(path.join(t.dir, 'main.py'), content);
    expect(hashFileOnDisk(script)).toEqual({ hash: `sha256:${sha(content)}`, binary: false });
  });

  it('TestComputeFileHash::test_nonexistent_file', () => {
    expect(hashFileOnDisk(path.join(t.dir, 'nope.py'))).toBeUndefined();
  });
});

describe('TestHashMatches', () => {
  const full = sha('print("hello")\n');

  it('TestHashMatches::test_full_hash_match', () => {
    expect(hashMatches(full, `sha256:${full}`)).toBe(true);
  });

  it('TestHashMatches::test_full_hash_mismatch', () => {
    expect(hashMatches(full, `sha256:${sha('other')}`)).toBe(false);
    expect(hashMatches('abc123', 'sha256:zzz999')).toBe(false);
  });

  it('TestHashMatches::test_short_hash (fixed: a prefix needs at least 16 hex digits)', () => {
    expect(hashMatches(full, `sha256:${full.slice(0, 16)}`)).toBe(true);
    // The reference accepted `sha256:abc123` (6 digits): refused now.
    expect(hashMatches(full, `sha256:${full.slice(0, 6)}`)).toBe(false);
    expect(hashMatches(full, `sha256:${full.slice(0, 15)}`)).toBe(false);
  });

  it('TestHashMatches::test_without_prefix', () => {
    expect(hashMatches(full, full)).toBe(true);
    expect(hashMatches(full, full.slice(0, 20))).toBe(true);
  });
});

describe('TestContentMatches', () => {
  const content = 'print("hello")\n';
  const reasonFor = (jobContent: string, storedPath: string) =>
    contentReason('main.py', { relative_path: 'main.py', path: storedPath, hash: `sha256:${sha(jobContent)}` }, Buffer.from(jobContent), storedCopyReader());

  it('TestContentMatches::test_matching_content', () => {
    const stored = writeFile(path.join(t.dir, 'stored', 'main.py'), content);
    expect(reasonFor(content, stored)).toBeUndefined();
  });

  it('TestContentMatches::test_mismatched_content', () => {
    const stored = writeFile(path.join(t.dir, 'stored', 'main.py'), 'print("b")\n');
    expect(reasonFor('print("a")\n', stored)).toBe('file content mismatch for main.py against stored copy');
  });

  it('TestContentMatches::test_missing_stored_file', () => {
    expect(reasonFor('code', '/nonexistent/main.py')).toMatch(/^file content mismatch for main\.py against stored copy/);
  });
});

describe('TestValidateAgainstObject', () => {
  const stored = (rel: string) => path.join(t.dir, 'stored', rel);

  it('TestValidateAgainstObject::test_single_file_pass', () => {
    const content = 'print("hello")\n';
    const { codeDir } = writeJob(t.dir, 'job', { files: { 'main.py': content } });
    const o = obj([makeEntry('main.py', content, stored('main.py'))]);
    expect(validateAgainstObject(snap(codeDir), o, ctx({ o }))).toBeUndefined();
    expect(validateJob(snap(codeDir), ctx({ o })).reason).toBe('ok');
  });

  it('TestValidateAgainstObject::test_no_matching_files', () => {
    const { codeDir } = writeJob(t.dir, 'job', { files: { 'params.json': '{}' }, config: null, runSh: null });
    const o = obj([makeEntry('main.py', 'code', stored('main.py'))]);
    const r = validateAgainstObject(snap(codeDir), o, ctx({ o }));
    expect(r).toBe("job files do not match expected filenames: missing files: {'main.py'}; extra files: {'params.json'}");
  });

  it('TestValidateAgainstObject::test_multiple_files_all_match', () => {
    const a = 'print("a")\n';
    const b = 'print("b")\n';
    const { codeDir } = writeJob(t.dir, 'job', { files: { 'main.py': a, 'utils.py': b } });
    const o = obj([makeEntry('main.py', a, stored('main.py')), makeEntry('utils.py', b, stored('utils.py'))]);
    expect(validateAgainstObject(snap(codeDir), o, ctx({ o }))).toBeUndefined();
  });

  it('TestValidateAgainstObject::test_subset_of_approved_files_fails', () => {
    const a = 'print("a")\n';
    const { codeDir } = writeJob(t.dir, 'job', { files: { 'main.py': a } });
    const o = obj([makeEntry('main.py', a, stored('main.py')), makeEntry('utils.py', 'x', stored('utils.py'))]);
    expect(validateAgainstObject(snap(codeDir), o, ctx({ o }))).toBe("job files do not match expected filenames: missing files: {'utils.py'}");
  });

  it('TestValidateAgainstObject::test_unapproved_file', () => {
    const a = 'print("a")\n';
    const { codeDir } = writeJob(t.dir, 'job', { files: { 'main.py': a, 'extra.py': 'extra' } });
    const o = obj([makeEntry('main.py', a, stored('main.py'))]);
    expect(validateAgainstObject(snap(codeDir), o, ctx({ o }))).toBe("job files do not match expected filenames: extra files: {'extra.py'}");
  });

  it('TestValidateAgainstObject::test_hash_mismatch', () => {
    const modified = 'print("modified")\n';
    const { codeDir } = writeJob(t.dir, 'job', { files: { 'main.py': modified } });
    writeFile(stored('main.py'), modified);
    const wrong = `sha256:${sha('print("original")\n')}`;
    const o = obj([{ relative_path: 'main.py', path: stored('main.py'), hash: wrong }]);
    expect(validateAgainstObject(snap(codeDir), o, ctx({ o }))).toBe(`file hash mismatch for main.py: expected ${wrong}, got sha256:${sha(modified)}`);
  });

  it('TestValidateAgainstObject::test_content_mismatch', () => {
    const content = 'print("hello")\n';
    const { codeDir } = writeJob(t.dir, 'job', { files: { 'main.py': content } });
    // Stored copy differs, hash is the job file's.
    writeFile(stored('main.py'), 'print("different")\n');
    const o = obj([{ relative_path: 'main.py', path: stored('main.py'), hash: `sha256:${sha(content)}` }]);
    expect(validateAgainstObject(snap(codeDir), o, ctx({ o }))).toBe('file content mismatch for main.py against stored copy');
  });
});

describe('TestEvaluateAutoApproval', () => {
  const content = 'print("hello")\n';

  it('TestEvaluateAutoApproval::test_non_pending_rejected', () => {
    const { codeDir } = writeJob(t.dir, 'job', { files: { 'main.py': content } });
    const v = validateJob(snap(codeDir, { status: 'approved' }), ctx({}));
    expect(v).toMatchObject({ approved: false, reason: 'status is approved, not pending', reasons: [{ reason: 'status is approved, not pending' }] });
  });

  it('TestEvaluateAutoApproval::test_no_matching_objects', () => {
    const { codeDir } = writeJob(t.dir, 'job', { files: { 'main.py': content } });
    const v = validateJob(snap(codeDir, { submitter: 'unknown@test.com' }), ctx({ obj1: obj([], { peers: ['someone_else@test.com'] }) }));
    expect(v.approved).toBe(false);
    expect(v.reason).toBe('no auto-approval objects match peer: unknown@test.com');
  });

  it('TestEvaluateAutoApproval::test_peer_in_object_passes', () => {
    const { codeDir } = writeJob(t.dir, 'job', { files: { 'main.py': content } });
    const analysis = obj([makeEntry('main.py', content, path.join(t.dir, 'stored', 'main.py'))], { peers: ['alice@test.com'] });
    const v = validateJob(snap(codeDir, { submitter: 'alice@test.com' }), ctx({ analysis }));
    expect(v).toMatchObject({ approved: true, object: 'analysis', reason: 'ok' });
  });

  it('TestEvaluateAutoApproval::test_empty_peers_matches_any', () => {
    const { codeDir } = writeJob(t.dir, 'job', { files: { 'main.py': content } });
    const open = obj([makeEntry('main.py', content, path.join(t.dir, 'stored', 'main.py'))], { peers: [] });
    expect(validateJob(snap(codeDir, { submitter: 'anyone@test.com' }), ctx({ open })).approved).toBe(true);
  });

  it('TestEvaluateAutoApproval::test_filename_mismatch', () => {
    const { codeDir } = writeJob(t.dir, 'job', { files: { 'train.py': content } });
    const o = obj([makeEntry('main.py', content, path.join(t.dir, 'stored', 'main.py'))], { peers: ['alice@test.com'] });
    const v = validateJob(snap(codeDir, { submitter: 'alice@test.com' }), ctx({ obj: o }));
    expect(v.approved).toBe(false);
    expect(v.reason).toBe("[obj] job files do not match expected filenames: missing files: {'main.py'}; extra files: {'train.py'}");
  });
});
