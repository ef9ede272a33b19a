import * as T from '../../lib/notify/templates';
import { composeEvent, threadInfo } from '../../lib/notify/compose';
import { eventMessageId, jobKey, type JobEvent } from '../../lib/notify/events';
import { buildMime } from '../../lib/mail/message';
import { parse, mailboxes } from '../mail/parse';

const I = { job: 'analysis', doEmail: 'do@example.com', dsEmail: 'ds@example.org' };

// Appendix A, verbatim (each body ends with a newline).
describe('plain-text bodies are the reference Appendix A bodies, byte for byte', () => {
  it.each<[string, T.Template, string]>([
    ['new job, no code', T.newJobTemplate(I), 'You have a new job request in SyftBox!\n\nJob: analysis\nFrom: ds@example.org\n\nTo approve or deny this job, reply to this email with:\n  approve\n  auto-approve\n  deny <reason>\n'],
    [
      'new job with code',
      T.newJobTemplate({ ...I, code: [{ name: 'main.py', content: 'print(1)' }, { name: 'params.json', content: '{}' }] }),
      'You have a new job request in SyftBox!\n\nJob: analysis\nFrom: ds@example.org\n\nFiles: main.py, params.json\n\n--- Code ---\n#main.py\nprint(1)\n\n#params.json\n{}\n\n--- End Code ---\n\nTo approve or deny this job, reply to this email with:\n  approve\n  auto-approve\n  deny <reason>\n',
    ],
    ['job submitted', T.jobSubmittedTemplate(I), "Your job has been submitted!\n\nJob: analysis\nSubmitted To: do@example.com\n\nYour job is now pending review by the data owner.\nYou'll receive follow-up emails when the job is reviewed and executed.\n"],
    ['job approved (DS)', T.jobApprovedTemplate(I), 'Your job has been approved!\n\nJob: analysis\n\nThe data owner has reviewed and approved your job request.\nYour job will be executed soon.\n'],
    ['job executed (DS)', T.jobExecutedTemplate(I), 'Your job has finished execution!\n\nJob: analysis\n\nYour job has completed successfully. Results are available.\n'],
    ['job approved (DO)', T.jobApprovedDoTemplate(I), 'Job auto-approved!\n\nJob: analysis\nFrom: ds@example.org\n\nThis job matched your approval criteria and is now running.\n'],
    ['job completed (DO)', T.jobCompletedDoTemplate(I), 'Job completed!\n\nJob: analysis\nFrom: ds@example.org\n\nThe job has finished execution. Results are available.\n'],
    ['job completed (DO) with duration', T.jobCompletedDoTemplate({ ...I, duration: 12 }), 'Job completed!\n\nJob: analysis\nFrom: ds@example.org\nDuration: 12s\n\nThe job has finished execution. Results are available.\n'],
    [
      'job failed (DO), all fields',
      T.jobFailedDoTemplate({ ...I, errorOutput: 'Traceback\nboom', returnCode: 1, duration: 3 }),
      'Job failed!\n\nJob: analysis\nFrom: ds@example.org\nReturn Code: 1\nDuration: 3s\n\nThe job failed during execution.\n\n--- Error Output ---\nTraceback\nboom\n--- End Error Output ---\n',
    ],
    ['job failed (DO), no stderr, rc 0', T.jobFailedDoTemplate({ ...I, errorOutput: null, returnCode: 0 }), 'Job failed!\n\nJob: analysis\nFrom: ds@example.org\nReturn Code: 0\n\nThe job failed during execution.\n'],
    ['job rejected (DO)', T.jobRejectedDoTemplate({ ...I, reason: 'hash mismatch' }), 'Job rejected.\n\nJob: analysis\nFrom: ds@example.org\nReason: hash mismatch\n\nThis job did not match your approval criteria and was not executed.\n'],
    ['job not approved (DS)', T.jobRejectedDsTemplate({ ...I, friendlyReason: 'Because.' }), 'Your job was not approved.\n\nJob: analysis\n\nBecause.\n\nIf you believe this is an error, please contact the data owner.\n'],
    ['new peer request', T.newPeerRequestTemplate({ dsEmail: 'ds@example.org' }), 'You have a new peer request in SyftBox!\n\nFrom: ds@example.org\n\nA data scientist wants to connect with you to collaborate on data projects.\n\nLog in to SyftBox to review this peer request.\n'],
    ['peer request sent', T.peerRequestSentTemplate({ doEmail: 'do@example.com' }), 'Your peer request has been sent!\n\nTo: do@example.com\n\nYour request to connect with this data owner has been sent.\nYou will be notified when they accept your request.\n'],
    ['peer added', T.peerAddedTemplate({ doEmail: 'do@example.com' }), 'You successfully added a peer in SyftBox!\n\nPeer: do@example.com\n\nYou can now submit jobs and collaborate with this data owner.\n'],
    ['peer granted', T.peerGrantedTemplate({ doEmail: 'do@example.com' }), 'Your peer request has been accepted!\n\nPeer: do@example.com\n\nThe data owner has accepted your request. You can now collaborate with them.\n'],
  ])('%s', (_name, t, want) => {
    expect(T.renderText(t)).toBe(want);
  });
});

describe('subjects and HTML', () => {
  it('subjects are the reference ones', () => {
    expect(T.newJobTemplate(I).subject).toBe('Job: analysis');
    expect(T.jobSubmittedTemplate(I).subject).toBe('Job Submitted: analysis');
    expect(T.jobApprovedTemplate(I).subject).toBe('Job Approved: analysis');
    expect(T.jobExecutedTemplate(I).subject).toBe('Job Completed: analysis');
    expect(T.jobApprovedDoTemplate(I).subject).toBe('Re: Job: analysis');
    expect(T.jobCompletedDoTemplate(I).subject).toBe('Re: Job: analysis');
    expect(T.jobFailedDoTemplate(I).subject).toBe('Job Failed: analysis');
    expect(T.jobRejectedDoTemplate({ ...I, reason: 'x' }).subject).toBe('Re: Job: analysis');
    expect(T.jobRejectedDsTemplate({ ...I, friendlyReason: 'x' }).subject).toBe('Job Not Approved: analysis');
    expect(T.newPeerRequestTemplate({ dsEmail: 'ds@example.org' }).subject).toBe('New Peer Request from ds@example.org');
    expect(T.peerRequestSentTemplate({ doEmail: 'do@example.com' }).subject).toBe('Peer Request Sent to do@example.com');
    expect(T.peerGrantedTemplate({ doEmail: 'do@example.com' }).subject).toBe('Peer Request Accepted: do@example.com');
    expect(T.peerAddedTemplate({ doEmail: 'do@example.com' }).subject).toBe('Peer Added: do@example.com');
  });

  it('HTML has the reference title, h1, info rows with badges, footer; everything from a job is escaped', () => {
    const h = T.renderHtml(T.newJobTemplate({ ...I, job: '<b>x</b>', code: [{ name: 'a<script>.py', content: '</pre><script>alert(1)</script>&' }] }));
    expect(h).toContain('<title>New Job Request - &lt;b&gt;x&lt;/b&gt;</title>');
    expect(h).toContain('>New Job Request</h1>');
    expect(h).toContain('Pending Review');
    expect(h).toContain('Just now');
    expect(h).toContain('&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;');
    expect(h).toContain('a&lt;script&gt;.py');
    expect(h).not.toMatch(/<script>|<b>x/);
    expect(h).toContain('This is an automated notification from SyftBox.');
    expect(h).toContain('https://github.com/OpenMined/syft-client');
    expect(h).toContain('Security Reminder');
    const f = T.renderHtml(T.jobFailedDoTemplate({ ...I, errorOutput: 'E', returnCode: 2 }));
    expect(f).toContain('<title>Job Failed - analysis</title>');
    expect(f).toMatch(/Return Code<\/td><td[^>]*>2</);
    expect(f).toContain('>stderr</div>');
    expect(T.renderHtml(T.jobExecutedTemplate(I))).toMatch(/Duration<\/td><td[^>]*>N\/A</);
  });

  it('friendly rejection reasons (§7.4 mapping, in order)', () => {
    expect(T.friendlyReason('j', 'unknown peer x')).toMatch(/not yet registered/);
    expect(T.friendlyReason('j', 'unapproved file a.py; hash mismatch')).toMatch(/hasn't been approved/);
    expect(T.friendlyReason('j', 'file hash mismatch for a.py')).toMatch(/differs from the approved version/);
    expect(T.friendlyReason('j', 'no Python files')).toMatch(/did not contain any Python files/);
    expect(T.friendlyReason('j', 'other')).toBe('Your job "j" was not approved: other');
  });

  it('duration filter', () => {
    expect(T.formatDuration(0)).toBe('0 seconds');
    expect(T.formatDuration(3725)).toBe('1 hour 2 minutes 5 seconds');
    expect(T.formatDuration(61)).toBe('1 minute 1 second');
  });
});

describe('one template → a real MIME message (mailparser)', () => {
  const job = { datasite: 'do@example.com', submitter: 'zoë@example.org', name: 'análisis-日本' };
  const ev = (kind: JobEvent['kind']): JobEvent => ({ type: 'job', kind, job });
  it('multipart/alternative text + HTML, non-ASCII subject and addresses, stable Message-ID, threading headers', async () => {
    const rootMid = eventMessageId(jobKey(job, 'new'), 'do@example.com');
    const approvedMid = eventMessageId(jobKey(job, 'approved_do'), 'do@example.com');
    const lookup = (k: string) => (k === jobKey(job, 'new') ? { status: 'sent' as const, mid: rootMid, threadId: 'T1' } : undefined);
    const c = composeEvent(ev('approved_do'), { doEmail: 'do@example.com', messageId: approvedMid, thread: threadInfo(ev('approved_do'), lookup), from: 'Dörte Owner <do@example.com>' });
    expect(c.threadId).toBe('T1');
    const built = buildMime(c.message, { now: new Date(Date.UTC(2026, 0, 2)), hostname: 'h' });
    expect(/^[\x00-\x7f]*$/.test(built.raw)).toBe(true);
    const m = await parse(built.raw);
    expect(m.subject).toBe('Re: Job: análisis-日本');
    expect(m.messageId).toBe(approvedMid);
    expect(m.inReplyTo).toBe(rootMid);
    expect(m.references).toBe(rootMid);
    expect(mailboxes(m.from)[0]).toEqual({ name: 'Dörte Owner', address: 'do@example.com' });
    expect(mailboxes(m.to)[0]!.address).toBe('do@example.com');
    expect(m.text).toBe('Job auto-approved!\n\nJob: análisis-日本\nFrom: zoë@example.org\n\nThis job matched your approval criteria and is now running.\n');
    expect(m.html).toContain('<title>Job Auto-Approved - análisis-日本</title>');
    expect(m.headers.get('auto-submitted')).toBe('auto-generated');
    expect(m.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
  });

  it('DS follow-ups join the DS conversation only when its root went out; DO failure subject depends on the thread', () => {
    const none = () => undefined;
    const sent = (k: string) => (k === jobKey(job, 'submitted') || k === jobKey(job, 'new') ? { status: 'sent' as const, mid: '<r@x>' } : undefined);
    const mk = (kind: JobEvent['kind'], lookup: (k: string) => { status: 'sent'; mid: string } | undefined) =>
      composeEvent(ev(kind), { doEmail: 'do@example.com', messageId: '<m@x>', thread: threadInfo(ev(kind), lookup), details: { reason: 'unknown peer' } }).message;
    expect(mk('approved', none).subject).toBe('Job Approved: análisis-日本');
    expect(mk('approved', sent).subject).toBe('Re: Job Submitted: análisis-日本');
    expect(mk('approved', sent).inReplyTo).toBe('<r@x>');
    expect(mk('executed', none).subject).toBe('Job Completed: análisis-日本');
    expect(mk('rejected_ds', none).subject).toBe('Job Not Approved: análisis-日本');
    expect(mk('rejected_ds', none).text).toContain('not yet registered');
    expect(mk('failed', none).subject).toBe('Job Failed: análisis-日本');
    expect(mk('failed', sent).subject).toBe('Re: Job: análisis-日本');
    expect(mk('approved', none).to).toEqual(['zoë@example.org']);
    expect(mk('failed', none).to).toEqual(['do@example.com']);
  });
});
