import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ParsedMail } from 'mailparser';
import { makeRig, setState, writeBashJob, jobDirs, DO, DS, memoryLogger, type Rig } from './helpers';
import type { MailTransport } from '../../lib/mail/transport';
import type { PeerEntry } from '../../lib/notify/events';
import type { PeerSource } from '../../lib/notify/peers';
import type { NotifyStatusFile } from '../../lib/notify/notifier';

const to = (m: ParsedMail) => (Array.isArray(m.to) ? m.to[0] : m.to)!.value[0]!.address;
const summary = (ms: ParsedMail[]) => ms.map((m) => `${to(m)} | ${m.subject}`);

describe('notifier over the Maildir transport', () => {
  let rig: Rig;
  afterEach(() => rig?.cleanup());

  it("a job's lifecycle: each mail once, in order, DO and DS conversations threaded by Message-ID/In-Reply-To/References", async () => {
    rig = await makeRig();
    writeBashJob(rig.root, DS, 'job1', 'echo hi\n');
    await rig.notifier.runOnce();
    setState(rig.root, DS, 'job1', 'approved');
    await rig.notifier.runOnce();
    setState(rig.root, DS, 'job1', 'running');
    await rig.notifier.runOnce();
    setState(rig.root, DS, 'job1', 'done');
    await rig.notifier.runOnce();
    await rig.notifier.runOnce();
    const ms = await rig.mails();
    expect(summary(ms)).toEqual([
      `${DO} | Job: job1`,
      `${DS} | Job Submitted: job1`,
      `${DS} | Re: Job Submitted: job1`,
      `${DO} | Re: Job: job1`,
      `${DS} | Re: Job Submitted: job1`,
      `${DO} | Re: Job: job1`,
    ]);
    expect(ms[0]!.text).toContain('#script.sh\necho hi\n');
    expect(ms[2]!.text).toContain('Your job has been approved!');
    expect(ms[5]!.text).toContain('Job completed!');
    const chain = (xs: ParsedMail[]) => {
      xs.forEach((m, i) => {
        if (i === 0) {
          expect(m.inReplyTo).toBeUndefined();
          return;
        }
        expect(m.inReplyTo).toBe(xs[i - 1]!.messageId);
        expect([m.references].flat()).toEqual(xs.slice(0, i).map((x) => x.messageId));
      });
    };
    chain(ms.filter((m) => to(m) === DO));
    chain(ms.filter((m) => to(m) === DS));
    expect(new Set(ms.map((m) => m.messageId)).size).toBe(6);
    // A restart sends nothing again, and the Python state says what was mailed.
    await (await rig.restart()).runOnce();
    expect(await rig.mails()).toHaveLength(6);
    rig.notifier.flush();
    const py = JSON.parse(fs.readFileSync(path.join(rig.dir, 'notify', 'state.json'), 'utf8'));
    expect(py.notified_jobs.job1).toEqual(['new', 'approved', 'executed']);
  });

  it('failed job: the DO gets the stderr tail and return code; rejected job: DO and DS (friendly reason)', async () => {
    rig = await makeRig();
    writeBashJob(rig.root, DS, 'bad', 'exit 3\n');
    writeBashJob(rig.root, DS, 'nope', 'echo\n');
    await rig.notifier.runOnce();
    setState(rig.root, DS, 'bad', 'failed', { return_code: 3 });
    fs.writeFileSync(path.join(jobDirs(rig.root, DS, 'bad').review, 'stderr.txt'), '\nTraceback: kaboom\n');
    fs.writeFileSync(path.join(jobDirs(rig.root, DS, 'bad').review, 'returncode.txt'), '3');
    setState(rig.root, DS, 'nope', 'rejected', { review_reason: 'unknown peer ds@example.org', rejected_by: DO });
    await rig.notifier.runOnce();
    const ms = await rig.mails();
    const failed = ms.find((m) => m.text?.startsWith('Job failed!'))!;
    expect(failed.subject).toBe('Re: Job: bad');
    expect(failed.text).toBe('Job failed!\n\nJob: bad\nFrom: ds@example.org\nReturn Code: 3\n\nThe job failed during execution.\n\n--- Error Output ---\nTraceback: kaboom\n--- End Error Output ---\n');
    expect(to(failed)).toBe(DO);
    const rejDo = ms.find((m) => m.text?.startsWith('Job rejected.'))!;
    expect(rejDo.subject).toBe('Re: Job: nope');
    expect(rejDo.text).toContain('Reason: unknown peer ds@example.org');
    const rejDs = ms.find((m) => m.text?.startsWith('Your job was not approved.'))!;
    expect(rejDs.subject).toBe('Re: Job Submitted: nope');
    expect(to(rejDs)).toBe(DS);
    expect(rejDs.text).toContain('not yet registered with this data owner');
    // DS hears nothing about the failure itself (as the reference)
    expect(ms.filter((m) => to(m) === DS && m.subject?.includes('bad')).map((m) => m.text!.split('\n')[0])).toEqual(['Your job has been submitted!', 'Your job has been approved!']);
  });

  it('two data scientists with one job name get their own mails (identity is not the job name)', async () => {
    rig = await makeRig();
    writeBashJob(rig.root, DS, 'same', 'a\n');
    writeBashJob(rig.root, 'other@example.net', 'same', 'b\n');
    await rig.notifier.runOnce();
    const ms = await rig.mails();
    expect(summary(ms).sort()).toEqual([`${DO} | Job: same`, `${DO} | Job: same`, `${DS} | Job Submitted: same`, 'other@example.net | Job Submitted: same'].sort());
  });

  it('waits for the files config.yaml lists before mailing (the mail shows the whole code)', async () => {
    rig = await makeRig();
    const { inbox } = jobDirs(rig.root, DS, 'slow');
    fs.mkdirSync(inbox, { recursive: true });
    fs.writeFileSync(path.join(inbox, 'config.yaml'), "files:\n- script.sh\nname: slow\nsubmitted_at: '2026-11-25T18:46:23.650403Z'\ntype: bash\n");
    await rig.notifier.runOnce();
    expect(await rig.mails()).toHaveLength(0);
    fs.mkdirSync(path.join(inbox, 'code'));
    fs.writeFileSync(path.join(inbox, 'code', 'script.sh'), 'late\n');
    await rig.notifier.runOnce();
    const ms = await rig.mails();
    expect(ms).toHaveLength(2);
    expect(ms[0]!.text).toContain('#script.sh\nlate\n');
  });

  it('fresh state: existing jobs are seeded (no flood); only later changes are mailed', async () => {
    rig = await makeRig({}, false);
    writeBashJob(rig.root, DS, 'old-done', 'x\n');
    setState(rig.root, DS, 'old-done', 'done');
    writeBashJob(rig.root, DS, 'old-pending', 'x\n');
    setState(rig.root, DS, 'old-pending', 'pending');
    const log = memoryLogger();
    await (await rig.restart({ logger: log })).runOnce();
    expect(await rig.mails()).toHaveLength(0);
    expect(log.lines.map((l) => l.msg)).toContain('Seeded 2 existing jobs on fresh state');
    setState(rig.root, DS, 'old-pending', 'approved');
    await rig.notifier.runOnce();
    // No root was ever sent: the reference's unthreaded subjects.
    expect(summary(await rig.mails())).toEqual([`${DS} | Job Approved: old-pending`, `${DO} | Re: Job: old-pending`]);
  });

  it('first start after the Python service: its state.json is imported, only what it did not mail is sent', async () => {
    rig = await makeRig({}, false);
    writeBashJob(rig.root, DS, 'py-old', 'x\n');
    setState(rig.root, DS, 'py-old', 'done');
    writeBashJob(rig.root, DS, 'py-new', 'x\n');
    fs.mkdirSync(path.join(rig.dir, 'notify'), { recursive: true });
    fs.writeFileSync(path.join(rig.dir, 'notify', 'state.json'), JSON.stringify({ notified_jobs: { 'py-old': ['new', 'approved'] }, thread_ids: { 'py-old': '18c0ffee' } }, null, 2));
    const n = await rig.restart();
    await n.runOnce();
    expect(summary(await rig.mails())).toEqual([
      `${DO} | Job: py-new`,
      `${DS} | Job Submitted: py-new`,
      `${DS} | Job Completed: py-old`,
      `${DO} | Re: Job: py-old`,
    ]);
    n.flush();
    const py = JSON.parse(fs.readFileSync(path.join(rig.dir, 'notify', 'state.json'), 'utf8'));
    expect(py.notified_jobs).toEqual({ 'py-old': ['new', 'approved', 'executed'], 'py-new': ['new'] });
    expect(py.thread_ids).toEqual({ 'py-old': '18c0ffee' });
  });

  it('a crash between "sent" and "recorded" sends nothing twice; a crash before the send sends it once', async () => {
    let crash = true;
    rig = await makeRig({ uncertainGraceMs: 0, afterSend: () => { if (crash) throw new Error('simulated crash after send'); } });
    writeBashJob(rig.root, DS, 'c1', 'x\n');
    await expect(rig.notifier.runOnce()).rejects.toThrow('simulated crash');
    expect(await rig.mails()).toHaveLength(1);
    const rec = fs.readFileSync(rig.journalFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rec[rec.length - 1]).toMatchObject({ s: 'intent' });
    crash = false;
    const log = memoryLogger();
    await (await rig.restart({ logger: log })).runOnce();
    const ms = await rig.mails();
    expect(summary(ms)).toEqual([`${DO} | Job: c1`, `${DS} | Job Submitted: c1`]);
    expect(log.lines.some((l) => /already delivered before a restart/.test(l.msg))).toBe(true);

    // Intent recorded, process dies before the transport is reached: sent exactly once after the restart.
    const real = rig.transport;
    let die = true;
    const dying: MailTransport = { kind: 'maildir', find: (id) => real.find(id), send: async (m) => { if (die) throw new Error('killed'); return real.send(m); } };
    writeBashJob(rig.root, DS, 'c2', 'x\n');
    await (await rig.restart({ transport: dying, afterSend: undefined })).runOnce();
    die = false;
    await (await rig.restart({ transport: dying, now: () => Date.now() + 10 * 3600_000 })).runOnce();
    expect((await rig.mails()).filter((m) => m.subject?.endsWith('c2'))).toHaveLength(2);
  });

  it('failed sends retry with capped exponential backoff and show in status.json; nothing is dropped', async () => {
    let clock = 1_000_000;
    let failures = 2;
    rig = await makeRig({ now: () => clock });
    const flaky: MailTransport = { kind: 'maildir', find: (id) => rig.transport.find(id), send: async (m) => { if (failures-- > 0) throw new Error('SMTP says no'); return rig.transport.send(m); } };
    await rig.restart({ transport: flaky, now: () => clock });
    writeBashJob(rig.root, DS, 'r1', 'x\n');
    await rig.notifier.runOnce();
    rig.notifier.flush();
    const status = (): NotifyStatusFile => JSON.parse(fs.readFileSync(path.join(rig.dir, 'notify', 'status.json'), 'utf8'));
    expect(status().failing).toEqual([expect.objectContaining({ event: 'new', to: DO, subject: 'Job: r1', attempts: 1, last_error: 'SMTP says no' })]);
    expect(status().pending).toBe(2);
    clock += 29_000;
    await rig.notifier.runOnce();
    expect(await rig.mails()).toHaveLength(0);
    clock += 1_000;
    await rig.notifier.runOnce();
    rig.notifier.flush();
    expect(status().failing[0]).toMatchObject({ attempts: 2 });
    clock += 59_000;
    await rig.notifier.runOnce();
    expect(await rig.mails()).toHaveLength(0);
    clock += 1_000;
    await rig.notifier.runOnce();
    rig.notifier.flush();
    expect(summary(await rig.mails())).toEqual([`${DO} | Job: r1`, `${DS} | Job Submitted: r1`]);
    expect(status()).toMatchObject({ failing: [], pending: 0, sent_since_start: 2 });
  });

  it('peers from an injected PeerSource: first snapshot seeded; new requests and grants mailed once, across restarts', async () => {
    let list: PeerEntry[] = [{ email: 'old@x.org', state: 'accepted' }];
    const src: PeerSource = { kind: 'fake', minIntervalMs: 0, list: async () => list };
    rig = await makeRig({ peers: src }, false);
    await (await rig.restart()).runOnce();
    expect(await rig.mails()).toHaveLength(0);
    list = [...list, { email: 'new@x.org', state: 'requested_by_peer' }];
    await rig.notifier.runOnce();
    expect(summary(await rig.mails())).toEqual([`${DO} | New Peer Request from new@x.org`, `new@x.org | Peer Request Sent to ${DO}`]);
    list = [{ email: 'old@x.org', state: 'accepted' }, { email: 'new@x.org', state: 'accepted' }];
    await rig.notifier.runOnce();
    await (await rig.restart()).runOnce();
    const ms = await rig.mails();
    expect(summary(ms).slice(2)).toEqual([`new@x.org | Peer Request Accepted: ${DO}`]);
    expect(ms[2]!.text).toBe(`Your peer request has been accepted!\n\nPeer: ${DO}\n\nThe data owner has accepted your request. You can now collaborate with them.\n`);
  });

  it('a burst of 1,000 jobs: every mail exactly once, at the configured rate', async () => {
    rig = await makeRig({ rate: { ratePerSecond: 1000, burst: 20 } });
    for (let i = 0; i < 1000; i++) writeBashJob(rig.root, DS, `burst-${String(i).padStart(4, '0')}`, `echo ${i}\n`);
    const t0 = Date.now();
    await rig.notifier.runOnce();
    await rig.notifier.runOnce();
    const ms = Date.now() - t0;
    const mails = await rig.mails();
    expect(mails).toHaveLength(2000);
    expect(new Set(mails.map((m) => m.messageId)).size).toBe(2000);
    expect(new Set(mails.filter((m) => to(m) === DO).map((m) => m.subject)).size).toBe(1000);
    // 2,000 mails, 20 at once then 1 per ms: at least (2000 - 20) ms.
    expect(ms).toBeGreaterThanOrEqual(1980);
  }, 30_000);
});
