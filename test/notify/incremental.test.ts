import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ParsedMail } from 'mailparser';
import { makeRig, setState, writeBashJob, jobDirs, DO, DS, memoryLogger, type Rig } from './helpers';
import { processStartMs } from '../../lib/notify/notifier';

const to = (m: ParsedMail) => (Array.isArray(m.to) ? m.to[0] : m.to)!.value[0]!.address;
const summary = (ms: ParsedMail[]) => ms.map((m) => `${to(m)} | ${m.subject}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The notifier's incremental passes (lib/notify/job-tracker.ts) and the first-start race (seedBefore).
describe('notifier: incremental passes', () => {
  let rig: Rig;
  afterEach(() => rig?.cleanup());

  it('a restart reads only the jobs that still owe mail; finished jobs whose mails are done cost nothing', async () => {
    rig = await makeRig({}, false);
    for (let i = 0; i < 30; i++) {
      writeBashJob(rig.root, DS, `old-${i}`, 'x\n');
      setState(rig.root, DS, `old-${i}`, (['done', 'failed', 'rejected'] as const)[i % 3]!);
    }
    writeBashJob(rig.root, DS, 'open', 'x\n');
    setState(rig.root, DS, 'open', 'pending');
    await (await rig.restart()).runOnce(); // fresh: seeded
    expect(await rig.mails()).toHaveLength(0);
    const n = await rig.restart();
    await n.runOnce();
    // Only the pending job was read (its status line is not a final one); the 30 finished ones were only peeked.
    expect(n.jobStats()).toEqual({ jobs: 31, read: 1, open: 1 });
    for (let i = 0; i < 5; i++) await n.runOnce();
    expect(n.jobStats().read).toBe(1);
    expect(n.watchPaths()).toBe(n.watchPaths());
    // The pending job moves on: read again, mailed.
    setState(rig.root, DS, 'open', 'approved');
    await n.runOnce();
    expect(summary(await rig.mails())).toEqual([`${DS} | Job Approved: open`, `${DO} | Re: Job: open`]);
    expect(n.jobStats().read).toBe(2);
  });

  it('a finished job with mails still owed is read, mailed, then settled', async () => {
    rig = await makeRig();
    writeBashJob(rig.root, DS, 'j', 'echo\n');
    setState(rig.root, DS, 'j', 'done');
    await rig.notifier.runOnce();
    expect((await rig.mails()).map((m) => m.subject).sort()).toEqual(['Job Submitted: j', 'Job: j', 'Re: Job Submitted: j', 'Re: Job Submitted: j', 'Re: Job: j', 'Re: Job: j']);
    await rig.notifier.runOnce();
    expect(rig.notifier.jobStats()).toMatchObject({ jobs: 1, open: 0 });
    expect(rig.notifier.watchPaths()).not.toContain(jobDirs(rig.root, DS, 'j').inbox);
    // After a restart it is recognised by its status line: not read at all.
    const n = await rig.restart();
    await n.runOnce();
    expect(n.jobStats()).toEqual({ jobs: 1, read: 0, open: 0 });
    expect(await rig.mails()).toHaveLength(6);
  });

  it('a finished job re-run by hand (state.yaml rewritten) is mailed after its sweep', async () => {
    rig = await makeRig({ sweepSlices: 3 });
    writeBashJob(rig.root, DS, 'rerun', 'exit 1\n');
    setState(rig.root, DS, 'rerun', 'failed', { return_code: 1 });
    await rig.notifier.runOnce();
    await rig.notifier.runOnce();
    expect(rig.notifier.jobStats().open).toBe(0);
    const before = (await rig.mails()).length;
    setState(rig.root, DS, 'rerun', 'done', { return_code: 0 });
    for (let i = 0; i < 3; i++) await rig.notifier.runOnce();
    const after = (await rig.mails()).slice(before);
    expect(summary(after)).toEqual([`${DS} | Re: Job Submitted: rerun`, `${DO} | Re: Job: rerun`]);
    expect(after.map((m) => m.text!.split('\n')[0])).toEqual(['Your job has finished execution!', 'Job completed!']);
  });

  it('a job removed while it owes mail is dropped from the queue', async () => {
    rig = await makeRig({ transport: { kind: 'maildir', find: async () => undefined, send: () => new Promise(() => undefined) } });
    writeBashJob(rig.root, DS, 'gone', 'x\n');
    await rig.notifier.scan();
    expect(rig.notifier.pending).toBe(2);
    fs.rmSync(jobDirs(rig.root, DS, 'gone').inbox, { recursive: true });
    await rig.notifier.scan();
    expect(rig.notifier.pending).toBe(0);
  });
});

describe('notifier: first start while jobs arrive (seedBefore)', () => {
  let rig: Rig;
  afterEach(() => rig?.cleanup());

  it('a job written after the process started but before seeding is mailed; one from before is not', async () => {
    rig = await makeRig({}, false);
    writeBashJob(rig.root, DS, 'before', 'x\n');
    setState(rig.root, DS, 'before', 'done');
    writeBashJob(rig.root, DS, 'before-open', 'x\n');
    setState(rig.root, DS, 'before-open', 'pending');
    // File times come from the kernel's coarse clock (a few ms behind): leave a clear gap on both sides.
    await sleep(30);
    const started = Date.now();
    await sleep(30);
    writeBashJob(rig.root, DS, 'after', 'echo after\n'); // lands while the service starts up
    setState(rig.root, DS, 'before-open', 'approved'); // an old job approved while the service starts up
    const log = memoryLogger();
    const n = await rig.restart({ seedBefore: started, logger: log });
    await n.runOnce();
    expect(summary(await rig.mails()).sort()).toEqual(
      [`${DO} | Job: after`, `${DS} | Job Submitted: after`, `${DS} | Job Approved: before-open`, `${DO} | Re: Job: before-open`].sort(),
    );
    expect((await rig.mails()).find((m) => m.subject === 'Job: after')!.text).toContain('#script.sh\necho after\n');
    // And only once: a restart sends nothing more.
    await (await rig.restart()).runOnce();
    expect(await rig.mails()).toHaveLength(4);
  });

  it('the same with a real delay between the start and the seeding (default cut-off: when the process started)', async () => {
    // This jest worker started before the job was written: by default a fresh notifier mails it.
    expect(processStartMs()).toBeLessThan(Date.now() - 1);
    expect(Math.abs(processStartMs() - (Date.now() - process.uptime() * 1000))).toBeLessThan(50);
    rig = await makeRig({}, false);
    writeBashJob(rig.root, DS, 'late', 'x\n');
    const n = await rig.restart({ seedBefore: undefined });
    await n.runOnce();
    expect(summary(await rig.mails())).toEqual([`${DO} | Job: late`, `${DS} | Job Submitted: late`]);
  });

  it('a copy that keeps an old mtime still counts as new (ctime)', async () => {
    rig = await makeRig({}, false);
    const started = Date.now() - 5; // well after the "old" mtime below
    await sleep(20);
    const inbox = writeBashJob(rig.root, DS, 'copied', 'x\n');
    const old = new Date(Date.now() - 86_400_000);
    for (const f of ['config.yaml', 'run.sh', 'code/script.sh']) fs.utimesSync(path.join(inbox, f), old, old);
    await (await rig.restart({ seedBefore: started })).runOnce();
    expect(summary(await rig.mails())).toEqual([`${DO} | Job: copied`, `${DS} | Job Submitted: copied`]);
  });
});

describe('journal: opened without a rewrite when already compact', () => {
  it('keeps a compact file as is; compacts a torn tail or superseded records', async () => {
    const { Journal } = await import('../../lib/notify/journal');
    const { tmpDir } = await import('./helpers');
    const dir = tmpDir('journal-');
    try {
      const file = path.join(dir, 'journal.jsonl');
      const j = Journal.open(file);
      j.initialise([{ k: 'a', s: 'seen' }, { k: 'b', s: 'seen' }], ['p@x.org']);
      j.close();
      const ino = fs.statSync(file).ino;
      Journal.open(file).close();
      expect(fs.statSync(file).ino).toBe(ino); // not rewritten
      // A superseded record: rewritten, one line per key.
      const j2 = Journal.open(file);
      j2.append({ k: 'a', s: 'sent', mid: '<m@x>' });
      j2.close();
      const j3 = Journal.open(file);
      expect(fs.statSync(file).ino).not.toBe(ino);
      expect(fs.readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(3);
      expect(j3.get('a')?.s).toBe('sent');
      j3.append({ k: 'c', s: 'failed', n: 1, err: 'x' });
      expect([...j3.failed()].map((e) => e.k)).toEqual(['c']);
      j3.close();
      // A torn tail: dropped by the compaction.
      fs.appendFileSync(file, '{"k":"d","s":"se');
      const j4 = Journal.open(file);
      expect(j4.get('d')).toBeUndefined();
      expect(j4.peers).toEqual(['p@x.org']);
      expect(fs.readFileSync(file, 'utf8').endsWith('\n')).toBe(true);
      expect(fs.readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(4);
      j4.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
