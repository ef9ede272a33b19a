import * as fs from 'node:fs';
import * as path from 'node:path';
import { clockAt, emitState, markRunning, parseState } from '../../lib/datasite';
import { INTERRUPTED_MARKER, recoverInterrupted } from '../../lib/runner';
import { approvedJob, DO, DS, exists, read, tempDir } from './helpers';

describe('recoverInterrupted', () => {
  it('turns a job left running into failed rc -1, records why in the logs, shares them; other jobs untouched', () => {
    const running = approvedJob('echo hi\n', { name: 'crashed' });
    const st = parseState(running.stateText);
    if (!st.ok) throw new Error('state');
    fs.writeFileSync(running.paths.state, emitState(markRunning(st.value)));
    fs.writeFileSync(running.paths.stdout, 'partial out\n');
    fs.mkdirSync(running.paths.outputsDir);
    const approved = approvedJob('echo hi\n', { name: 'waiting', root: running.root });

    const runs = path.join(tempDir(), 'runs');
    fs.mkdirSync(path.join(runs, DS, 'crashed-20261125T184623Z', 'code'), { recursive: true });
    fs.writeFileSync(path.join(runs, DS, 'crashed-20261125T184623Z', 'run.sh'), 'x');

    const r = recoverInterrupted({ root: running.root, datasite: DO, clock: clockAt('2026-11-25T19:00:00.000001Z'), runsDir: runs });
    expect(r.jobs).toEqual([{ submitter: DS, job: 'crashed', recovered: true }]);
    expect(r.removedRunDirs).toEqual([path.join(runs, DS, 'crashed-20261125T184623Z')]);
    expect(fs.readdirSync(path.join(runs, DS))).toEqual([]);

    expect(read(running.paths.state)).toBe(
      [
        'approval_method: auto',
        "approved_at: '2026-11-25T18:46:23.668330Z'",
        'approved_by: do@example.com',
        "completed_at: '2026-11-25T19:00:00.000001Z'",
        "received_at: '2026-11-25T18:46:23.654761Z'",
        'rejected_at: null',
        'rejected_by: null',
        'return_code: -1',
        'review_reason: null',
        'status: failed',
        '',
      ].join('\n'),
    );
    expect(read(running.paths.stdout)).toBe(`partial out\n${INTERRUPTED_MARKER}`);
    expect(read(running.paths.stderr)).toBe(INTERRUPTED_MARKER);
    expect(read(running.paths.returncode)).toBe('-1');
    const perms = read(path.join(running.paths.reviewDir, '..', 'syft.pub.yaml'));
    for (const pat of ['crashed/outputs/**', 'crashed/stdout.txt', 'crashed/stderr.txt', 'crashed/returncode.txt']) expect(perms).toContain(`pattern: ${pat}`);
    expect(perms).not.toContain('waiting/');

    expect(read(approved.paths.state)).toBe(approved.stateText);
    expect(exists(approved.paths.stdout)).toBe(false);

    // Idempotent: nothing is running any more.
    expect(recoverInterrupted({ root: running.root, datasite: DO }).jobs).toEqual([]);
  });

  it('with no runs dir and nothing running, does nothing', () => {
    const job = approvedJob('echo hi\n');
    expect(recoverInterrupted({ root: job.root, datasite: DO, runsDir: path.join(tempDir(), 'absent') })).toEqual({ jobs: [], problems: [], removedRunDirs: [] });
    expect(read(job.paths.state)).toBe(job.stateText);
  });
});
