import * as fs from 'node:fs';
import * as path from 'node:path';
import { JobIndex, JobTree, peekStatus, sigTimeMs, slotOf, statSig, statusFromText, sweepSlicesFor } from '../../lib/datasite/job-index';
import { DO, DS, jobDirs, setState, tmpDir, writeBashJob } from './helpers';

// lib/datasite/job-index.ts: the incremental job index under the notify service (real files in a temp dir).
describe('job index', () => {
  let dir: string;
  let root: string;
  beforeEach(() => {
    dir = tmpDir('jobindex-');
    root = path.join(dir, 'SyftBox');
    fs.mkdirSync(path.join(root, DO, 'app_data', 'job', 'inbox'), { recursive: true });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const keys = (xs: Array<{ entry: { key: string } }>) => xs.map((x) => x.entry.key).sort();

  it('peeks finished jobs by their status line, reads the others in full, and reads nothing when nothing changed', () => {
    writeBashJob(root, DS, 'done1', 'x\n');
    setState(root, DS, 'done1', 'done');
    writeBashJob(root, DS, 'pend1', 'x\n');
    setState(root, DS, 'pend1', 'pending');
    writeBashJob(root, 'other@example.net', 'new1', 'x\n'); // no state.yaml: received
    const ix = new JobIndex({ root, datasite: DO, sweepSlices: 4 });
    const p1 = ix.pass();
    expect(p1.first).toBe(true);
    expect(keys(p1.changed)).toEqual([`${DS}/done1`, `${DS}/pend1`, 'other@example.net/new1']);
    const done1 = p1.changed.find((c) => c.entry.key === `${DS}/done1`)!;
    expect(done1.job).toBeUndefined();
    expect(done1.entry).toMatchObject({ peeked: true, status: 'done' });
    expect(p1.changed.find((c) => c.entry.key === `${DS}/pend1`)!.job?.status).toBe('pending');
    expect(p1.changed.find((c) => c.entry.key === 'other@example.net/new1')!.job?.status).toBe('received');
    expect(ix.reads).toBe(2);
    ix.settle(done1.entry);
    // Nothing changed: nothing is read, nothing reported; open jobs stay open.
    for (let i = 0; i < 8; i++) expect(ix.pass().changed).toEqual([]);
    expect(ix.reads).toBe(2);
    expect([...ix.openJobs()].map((k) => k.key).sort()).toEqual([`${DS}/pend1`, 'other@example.net/new1']);
    // An open job's state.yaml changes: read again, once.
    setState(root, DS, 'pend1', 'approved');
    const p2 = ix.pass();
    expect(keys(p2.changed)).toEqual([`${DS}/pend1`]);
    expect(p2.changed[0]!.job?.status).toBe('approved');
    expect(ix.pass().changed).toEqual([]);
    expect(ix.reads).toBe(3);
  });

  it('a peeked job the caller does not settle is read at the next pass', () => {
    writeBashJob(root, DS, 'd', 'x\n');
    setState(root, DS, 'd', 'failed');
    const ix = new JobIndex({ root, datasite: DO });
    expect(ix.pass().changed[0]!.job).toBeUndefined();
    const p = ix.pass();
    expect(p.changed).toHaveLength(1);
    expect(p.changed[0]!.job?.status).toBe('failed');
    expect(p.changed[0]!.entry.peeked).toBe(false);
  });

  it('settled jobs are re-checked only in their sweep slot (by state.yaml), then come back open', () => {
    const slices = 5;
    writeBashJob(root, DS, 'fin', 'x\n');
    setState(root, DS, 'fin', 'failed');
    const ix = new JobIndex({ root, datasite: DO, sweepSlices: slices });
    const e = ix.pass().changed[0]!.entry; // pass 1 = slot 0
    ix.settle(e);
    setState(root, DS, 'fin', 'done', { return_code: 0 }); // a DO re-running it by hand
    const slot = slotOf(`${DS}/fin`, slices);
    let seenAt = -1;
    for (let pass = 1; pass <= slices; pass++) {
      const r = ix.pass();
      if (r.changed.length) {
        seenAt = pass % slices;
        expect(r.changed[0]!.job?.status).toBe('done');
        break;
      }
    }
    expect(seenAt).toBe(slot);
    expect(e.settled).toBe(false);
  });

  it('reports removed jobs, and new ones in a folder that changed', () => {
    writeBashJob(root, DS, 'a', 'x\n');
    writeBashJob(root, DS, 'b', 'x\n');
    const ix = new JobIndex({ root, datasite: DO });
    expect(ix.pass().jobs).toBe(2);
    fs.rmSync(jobDirs(root, DS, 'a').inbox, { recursive: true });
    writeBashJob(root, DS, 'c', 'x\n');
    const r = ix.pass();
    expect(r.removed.map((k) => k.key)).toEqual([`${DS}/a`]);
    expect(keys(r.changed)).toEqual([`${DS}/c`]);
    expect(r.jobs).toBe(2);
    expect(ix.get(`${DS}/a`)).toBeUndefined();
  });

  it('watchPaths: the same array until a job opens, settles, appears or goes', () => {
    writeBashJob(root, DS, 'a', 'x\n');
    const ix = new JobIndex({ root, datasite: DO });
    const e = ix.pass().changed[0]!.entry;
    const w1 = ix.watchPaths();
    expect(w1).toContain(jobDirs(root, DS, 'a').inbox);
    ix.pass();
    expect(ix.watchPaths()).toBe(w1);
    ix.settle(e);
    const w2 = ix.watchPaths();
    expect(w2).not.toBe(w1);
    expect(w2).not.toContain(jobDirs(root, DS, 'a').inbox);
    expect(w2).toContain(path.join(root, DO, 'app_data', 'job', 'inbox', DS));
    writeBashJob(root, DS, 'b', 'x\n');
    ix.pass();
    expect(ix.watchPaths()).toContain(jobDirs(root, DS, 'b').inbox);
  });

  it('JobTree: listings are the same arrays while folders are unchanged; a symlinked base folder gives no jobs', () => {
    writeBashJob(root, DS, 'a', 'x\n');
    setState(root, 'rev@example.net', 'orphan', 'done');
    const t = new JobTree(root, DO, { strict: true });
    const p1 = t.peers();
    expect(p1).toEqual([DS, 'rev@example.net']);
    expect(t.peers()).toBe(p1);
    const j1 = t.jobs(DS);
    expect(j1.keys).toEqual([`${DS}/a`]);
    expect(t.jobs(DS)).toBe(j1);
    writeBashJob(root, DS, 'b', 'x\n');
    expect(t.jobs(DS).keys).toEqual([`${DS}/a`, `${DS}/b`]);
    // app_data as a symlink to somewhere else: refused, as listJobs refuses it.
    const elsewhere = path.join(dir, 'elsewhere');
    fs.renameSync(path.join(root, DO, 'app_data'), elsewhere);
    fs.symlinkSync(elsewhere, path.join(root, DO, 'app_data'));
    expect(t.peers()).toEqual([]);
    expect(new JobIndex({ root, datasite: DO }).pass().jobs).toBe(0);
    expect(new JobTree(root, 'not an email', { strict: true }).peers()).toEqual([]);
  });

  it('peekStatus / statusFromText / sigTimeMs / sweepSlicesFor', () => {
    setState(root, DS, 'p', 'rejected');
    const f = path.join(jobDirs(root, DS, 'p').review, 'state.yaml');
    expect(peekStatus(f)).toBe('rejected');
    expect(peekStatus(path.join(dir, 'missing.yaml'))).toBeUndefined();
    expect(statusFromText('status: done\n')).toBe('done');
    expect(statusFromText('{status: done}\n')).toBeUndefined();
    expect(statusFromText('status: done\nstatus: failed\n')).toBeUndefined();
    expect(statusFromText('status: done')).toBeUndefined(); // cut short
    const st = fs.lstatSync(f);
    expect(sigTimeMs(statSig(f))).toBe(Math.max(st.mtimeMs, st.ctimeMs));
    expect(sigTimeMs(statSig(path.join(dir, 'missing')))).toBeUndefined();
    expect(sweepSlicesFor(5)).toBe(60);
    expect(sweepSlicesFor(0)).toBe(300);
  });
});
