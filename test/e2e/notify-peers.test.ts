/**
 * The notify service over Drive + Gmail, end to end (issue 6): the real notify and approve services under a real
 * PM2 daemon, `transports: {email: gmail, syftbox: drive}`, against the loopback Google emulator; data scientists
 * use the DS test client. Mails are read from each user's emulated Gmail mailbox and parsed with mailparser.
 *
 * - a peer request → DO "New Peer Request from <ds>", DS "Peer Request Sent to <do>"; the notify service is
 *   restarted; the request is completed and approve accepts it by domain → DS "Peer Request Accepted: <do>";
 *   every mail exactly once (the reference never sends "Peer Added", so neither do we);
 * - a peer of a domain that is not approved gets the request mails only;
 * - a job submitted over Drive by the accepted DS → the job mails, the DO's in one thread (`Job: <job>`, then
 *   `Re: Job: <job>`), each once even with a notify restart in the middle;
 * - idle (approve stopped): the DO's Drive calls (emulator, counted per user), at most one per `notify.interval`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { gmailState, mailbox } from '../emulator/gmail';
import { requestPeer } from '../helpers/ds-client/peer';
import { submitJob } from '../helpers/ds-client/proposal';
import { statusJson } from '../helpers/sandbox';
import { bashJob, DO, e2eKit, SCRIPT, waitDsStatus, waitFor } from './kit';

const ALICE = 'alice@uni.edu';
const BOB = 'bob@elsewhere.example';
const NOTIFY_INTERVAL_S = 1;

interface Mail {
  id: string;
  threadId: string;
  labels: string[];
  parsed: ParsedMail;
  subject: string;
  to: string[];
  event: string | undefined;
}

describe('notify service over Drive + Gmail (emulator, real PM2, with the approve service)', () => {
  const k = e2eKit({ name: 'e2e-notify' });
  /** Drive calls per user (route → count), counted by wrapping the emulator's route handlers. */
  const perUser = new Map<string, Map<string, number>>();
  const dsRoot = () => path.join(k.sb.dir, 'ds-root');

  const mails = async (user: string): Promise<Mail[]> => {
    const mb = mailbox(gmailState(k.emu.world), user);
    const out: Mail[] = [];
    for (const m of mb.ordered) {
      const parsed = await simpleParser(m.raw, { skipTextToHtml: true });
      const to = (Array.isArray(parsed.to) ? parsed.to : parsed.to ? [parsed.to] : []).flatMap((a) => a.value.map((v) => v.address ?? ''));
      const ev = parsed.headers.get('x-syft-bg-event');
      out.push({ id: m.id, threadId: m.threadId, labels: [...m.labelIds], parsed, subject: parsed.subject ?? '', to, event: typeof ev === 'string' ? ev : undefined });
    }
    return out;
  };
  /** What a user received: the DO's mails to itself carry INBOX; a data scientist's mailbox only has received mail. */
  const inbox = async (user: string) => (await mails(user)).filter((m) => m.labels.includes('INBOX'));
  const subjects = async (user: string) => (await inbox(user)).map((m) => m.subject).filter((s) => !s.startsWith('heartbeat:'));
  const count = (list: string[], s: string) => list.filter((x) => x === s).length;
  const waitSubjects = (user: string, want: string[], timeoutMs = 15_000) =>
    waitFor(`${user} receives ${want.join(' | ')}`, async () => {
      const got = await subjects(user);
      return want.every((w) => got.includes(w)) && got;
    }, timeoutMs, 100);
  const notifyLogs = () => {
    const dir = path.join(k.sb.syftBgHome, 'logs', 'notify');
    const out: Array<Record<string, unknown>> = [];
    if (!fs.existsSync(dir)) return out;
    for (const f of fs.readdirSync(dir).filter((n) => /\.\d+\.log$/.test(n) && !fs.lstatSync(path.join(dir, n)).isSymbolicLink()).sort()) {
      for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          out.push(JSON.parse(line));
        } catch {
          // a line being written
        }
      }
    }
    return out;
  };
  /** The CLI in a child process, without blocking this process: the emulator runs here and must keep answering. */
  const cli = async (args: string[]) => {
    const r = await k.sb.cliAsync(args, { env: k.env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return r;
  };
  const online = (name: string) => statusJson(k.sb).services.find((s) => s.name === name)?.state === 'online';

  beforeAll(async () => {
    // Count Drive calls per user (the emulator's own counters are per route only).
    for (const r of k.emu.router.routes) {
      if (!r.key.startsWith('drive.')) continue;
      const h = r.handler;
      r.handler = (ctx) => {
        const m = perUser.get(ctx.user.email) ?? new Map<string, number>();
        m.set(r.key, (m.get(r.key) ?? 0) + 1);
        perUser.set(ctx.user.email, m);
        return h(ctx);
      };
    }
    // notify: poll every second; the send pace (2 mails/s, one at a time: the job's mails take ~3 s, so a restart
    // lands in the middle of them) and the lookup grace set through the (now validated) config keys.
    const cfg = path.join(k.sb.syftBgHome, 'config.yaml');
    const text = fs.readFileSync(cfg, 'utf8');
    const notify = /\nnotify:\n(?: {2}.*\n)*/.exec(text);
    expect(notify).not.toBeNull();
    const section = notify![0].replace(/\n {2}interval: 5\n/, `\n  interval: ${NOTIFY_INTERVAL_S}\n`);
    expect(section).toContain(`  interval: ${NOTIFY_INTERVAL_S}\n`);
    fs.writeFileSync(cfg, text.replace(notify![0], `${section}  send_rate_per_second: 2\n  send_burst: 1\n  lookup_grace_seconds: 1\n`));

    await cli(['start', 'approve']);
    await cli(['start', 'notify']);
    await waitFor('notify started', () => online('notify') && notifyLogs().some((l) => l.state === 'seeded'), 20_000);
  });

  it('peer request → DO and DS mails; notify restarted; accepted by domain → DS "accepted" mail; each exactly once', async () => {
    const alice = k.api(ALICE);
    // Half a request first (inbox only): approve leaves it pending, notify already mails both sides.
    await requestPeer(alice, ALICE, DO, { types: ['inbox'] });
    await waitSubjects(DO, [`New Peer Request from ${ALICE}`]);
    await waitSubjects(ALICE, [`Peer Request Sent to ${DO}`]);
    await waitFor('approve saw the incomplete request', () => k.decisions().some((d) => d.kind === 'peer' && d.submitter === ALICE && d.verdict === 'peer-not-approved'), 10_000);

    await cli(['restart', 'notify']);
    await waitFor('notify back online', () => online('notify'), 20_000);

    // The rest of the request: approve accepts it (domain uni.edu) and writes SYFT_peers.json.
    await requestPeer(alice, ALICE, DO);
    await waitFor('approve accepted alice', () => k.decisions().some((d) => d.kind === 'peer' && d.submitter === ALICE && d.verdict === 'peer-approved'), 20_000);
    await waitSubjects(ALICE, [`Peer Request Accepted: ${DO}`]);
    // A few more polls: nothing is sent twice, and nothing else is sent.
    await new Promise((r) => setTimeout(r, 3 * NOTIFY_INTERVAL_S * 1000 + 500));

    const doMails = (await inbox(DO)).filter((m) => m.event !== undefined);
    const aliceMails = await inbox(ALICE);
    expect(doMails.map((m) => m.subject)).toEqual([`New Peer Request from ${ALICE}`]);
    expect(aliceMails.map((m) => m.subject)).toEqual([`Peer Request Sent to ${DO}`, `Peer Request Accepted: ${DO}`]);
    // "Peer Added" is never sent (reference §7.4 #12: never triggered).
    expect([...(await mails(DO)), ...aliceMails].some((m) => /^Peer Added/.test(m.subject))).toBe(false);

    const req = doMails[0]!;
    expect(req.to).toEqual([DO]);
    expect(req.event).toBe('new_peer_request');
    expect(req.parsed.text).toContain(`You have a new peer request in SyftBox!\n\nFrom: ${ALICE}\n`);
    expect(req.parsed.html).toContain(`<title>New Peer Request from ${ALICE}</title>`);
    const [sent, granted] = aliceMails as [Mail, Mail];
    expect(sent.to).toEqual([ALICE]);
    expect(sent.event).toBe('peer_request_sent');
    expect(sent.parsed.text).toContain(`Your peer request has been sent!\n\nTo: ${DO}\n`);
    expect(sent.parsed.html).toContain(`<title>Peer Request Sent - ${DO}</title>`);
    expect(granted.to).toEqual([ALICE]);
    expect(granted.event).toBe('peer_granted');
    expect(granted.parsed.text).toContain(`Your peer request has been accepted!\n\nPeer: ${DO}\n`);
    expect(granted.parsed.html).toContain(`<title>Peer Request Accepted - ${DO}</title>`);
    // Two processes sent them: the restart did not forget the first ones.
    const sentKeys = notifyLogs().filter((l) => typeof l.msg === 'string' && /^Sent /.test(l.msg as string)).map((l) => l.key);
    expect(sentKeys).toHaveLength(3);
    expect(sentKeys.filter((x, i, a) => a.indexOf(x) !== i)).toEqual([]);
  });

  it('a peer whose domain is not approved gets the request mails only', async () => {
    const bob = k.api(BOB);
    await requestPeer(bob, BOB, DO);
    await waitSubjects(DO, [`New Peer Request from ${BOB}`]);
    await waitSubjects(BOB, [`Peer Request Sent to ${DO}`]);
    await waitFor('approve left bob pending', () => k.decisions().some((d) => d.kind === 'peer' && d.submitter === BOB && d.verdict === 'peer-not-approved'), 10_000);
    await new Promise((r) => setTimeout(r, 3 * NOTIFY_INTERVAL_S * 1000 + 500));
    expect(await subjects(BOB)).toEqual([`Peer Request Sent to ${DO}`]);
    expect(count(await subjects(DO), `New Peer Request from ${BOB}`)).toBe(1);
    expect(k.decisions().some((d) => d.submitter === BOB && d.verdict === 'peer-approved')).toBe(false);
  });

  it('a job submitted over Drive → job mails, the DO\'s threaded (Job: → Re: Job:), each once across a notify restart', async () => {
    const alice = k.api(ALICE);
    await submitJob(alice, ALICE, DO, { name: 'job-ok', files: bashJob('job-ok', SCRIPT) });
    await waitSubjects(DO, ['Job: job-ok'], 20_000);
    await cli(['restart', 'notify']);
    await waitDsStatus(alice, ALICE, dsRoot(), 'job-ok', ['done'], 30_000);
    await waitFor('DO got new, approved, completed', async () => count(await subjects(DO), 'Re: Job: job-ok') >= 2 && true, 20_000);
    await waitFor('DS got submitted, approved, completed', async () => (await inbox(ALICE)).filter((m) => m.subject.includes('job-ok')).length >= 3 && true, 20_000);
    await new Promise((r) => setTimeout(r, 3 * NOTIFY_INTERVAL_S * 1000 + 500));

    // The restart landed in the middle: both processes sent some of the job's mails.
    const senders = notifyLogs().filter((l) => /^Sent .*job-ok/.test(String(l.msg)) || /job-ok: already delivered/.test(String(l.msg)));
    process.stdout.write(`e2e notify job mails by pid: ${JSON.stringify(senders.map((l) => [l.pid, String(l.msg).split(' ')[1]]))}\n`);
    expect(new Set(senders.map((l) => l.pid)).size).toBe(2);

    const doJob = (await inbox(DO)).filter((m) => m.subject.includes('job-ok'));
    expect(doJob.map((m) => [m.event, m.subject])).toEqual([
      ['new', 'Job: job-ok'],
      ['approved_do', 'Re: Job: job-ok'],
      ['completed_do', 'Re: Job: job-ok'],
    ]);
    // One conversation in the DO's mailbox, replies referencing the first mail.
    expect(new Set(doJob.map((m) => m.threadId)).size).toBe(1);
    const rootId = doJob[0]!.parsed.messageId!;
    for (const m of doJob.slice(1)) expect(m.parsed.references).toContain(rootId);
    expect(doJob[0]!.parsed.text).toContain(`You have a new job request in SyftBox!\n\nJob: job-ok\nFrom: ${ALICE}\n`);
    expect(doJob[0]!.parsed.text).toContain('#script.sh\n');
    expect(doJob[0]!.parsed.html).toContain('<title>New Job Request - job-ok</title>');
    for (const m of doJob) expect(m.to).toEqual([DO]);

    const dsJob = (await inbox(ALICE)).filter((m) => m.subject.includes('job-ok'));
    expect(dsJob.map((m) => m.event)).toEqual(['submitted', 'approved', 'executed']);
    expect(dsJob[0]!.subject).toBe('Job Submitted: job-ok');
    for (const m of dsJob) {
      expect(m.to).toEqual([ALICE]);
      expect(m.parsed.text).toBeTruthy();
      expect(m.parsed.html).toContain('</html>');
    }
    // Every mail of the whole run went out once: the DO's mailbox holds each one it sent, with its stable Message-ID.
    const sent = (await mails(DO)).filter((m) => m.event !== undefined);
    expect(sent.map((m) => m.event).sort()).toEqual(
      ['new_peer_request', 'peer_request_sent', 'peer_granted', 'new_peer_request', 'peer_request_sent', 'new', 'submitted', 'approved', 'approved_do', 'executed', 'completed_do'].sort(),
    );
    const ids = sent.map((m) => m.parsed.messageId);
    expect(ids.filter((x, i, a) => a.indexOf(x) !== i)).toEqual([]);
  });

  it('idle: notify\'s peer source makes at most one Drive call (changes.list) per notify.interval; no Gmail calls', async () => {
    // approve and notify refresh the DO's one token.json, so they may share an access token: approve is stopped for
    // the measurement, and every Drive call of the DO in the window is notify's.
    await cli(['stop', 'approve']);
    await new Promise((r) => setTimeout(r, 1500));
    const before = new Map(perUser.get(DO) ?? []);
    const gmail = () => [...k.emu.world.counters].filter(([r]) => r.startsWith('gmail.')).reduce((a, [, n]) => a + n, 0);
    const gmail0 = gmail();
    const others0 = [...perUser].filter(([u]) => u !== DO).reduce((a, [, m]) => a + [...m.values()].reduce((x, y) => x + y, 0), 0);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 6000));
    const secs = (Date.now() - t0) / 1000;
    const calls = [...(perUser.get(DO) ?? [])].map(([route, n]) => [route, n - (before.get(route) ?? 0)] as const).filter(([, n]) => n > 0);
    const total = calls.reduce((a, [, n]) => a + n, 0);
    process.stdout.write(`e2e notify idle: ${total} Drive call(s) in ${secs.toFixed(1)} s (notify.interval ${NOTIFY_INTERVAL_S} s): ${JSON.stringify(Object.fromEntries(calls))}\n`);
    expect(total).toBeGreaterThan(0); // it does poll
    expect(total).toBeLessThanOrEqual(Math.ceil(secs / NOTIFY_INTERVAL_S) + 1);
    expect(calls.every(([route]) => route === 'drive.changes.list')).toBe(true);
    expect([...perUser].filter(([u]) => u !== DO).reduce((a, [, m]) => a + [...m.values()].reduce((x, y) => x + y, 0), 0)).toBe(others0);
    expect(gmail() - gmail0).toBe(0);
    expect(online('notify')).toBe(true);
    // No error was logged by notify during the whole run.
    expect(notifyLogs().filter((l) => (typeof l.level === 'number' ? (l.level as number) >= 50 : l.level === 'error'))).toEqual([]);
  });
});
