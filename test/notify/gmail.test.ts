/**
 * The notifier over Gmail: the real googleapis client against the loopback emulator (threading by threadId +
 * headers, rfc822msgid: lookups after a crash, quota errors).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startEmulator, Emulator } from '../emulator';
import { gmailState, mailbox } from '../emulator/gmail';
import { makeOAuthClient } from '../../lib/google/clients';
import { createGmailApi } from '../../lib/google/gmail';
import { GmailTransport } from '../../lib/mail/gmail';
import { Journal } from '../../lib/notify/journal';
import { Notifier, type NotifierOptions } from '../../lib/notify/notifier';
import { parse } from '../mail/parse';
import { DO, DS, setState, silentLogger, tmpDir, writeBashJob, memoryLogger } from './helpers';

let emu: Emulator;
let dir: string;
let root: string;
let transport: GmailTransport;
const count = (route: string) => emu.world.counters.get(route) ?? 0;

beforeAll(async () => {
  emu = await startEmulator();
  const env = { SYFT_BG_GOOGLE_ROOT_URL: emu.url };
  const u = emu.world.addUser(DO);
  emu.world.addUser(DS);
  const auth = makeOAuthClient({ clientId: u.clientId, clientSecret: u.clientSecret }, env);
  auth.setCredentials({ access_token: u.accessToken, refresh_token: u.refreshToken, expiry_date: Date.now() + 3_600_000 });
  transport = new GmailTransport(createGmailApi(auth, { env, retry: { maxAttempts: 1 } }), { hostname: 'test-host' });
});
afterAll(async () => {
  await emu.close();
});
beforeEach(() => {
  dir = tmpDir('notify-gmail-');
  root = path.join(dir, 'SyftBox');
  fs.mkdirSync(path.join(root, DO, 'app_data', 'job', 'inbox'), { recursive: true });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function notifier(o: Partial<NotifierOptions> = {}): Notifier {
  return new Notifier({
    root, doEmail: DO, journal: Journal.open(path.join(dir, 'notify', 'journal.jsonl')), transport,
    rate: { ratePerSecond: 1000, burst: 100 }, logger: silentLogger, uncertainGraceMs: 0, ...o,
  });
}

const byRfc = (email: string, mid: string) => [...mailbox(gmailState(emu.world), email).messages.values()].filter((m) => m.rfcId.toLowerCase() === mid.slice(1, -1).toLowerCase());

it("one job's DO mails form one Gmail conversation, and so do the DS's (in both mailboxes)", async () => {
  const n = notifier();
  await n.init();
  writeBashJob(root, DS, 'g1', 'echo g1\n');
  await n.runOnce();
  setState(root, DS, 'g1', 'approved');
  await n.runOnce();
  setState(root, DS, 'g1', 'done');
  await n.runOnce();
  const entries = [...n.journal.entries()].filter((e) => e.s === 'sent');
  expect(entries).toHaveLength(6);
  const doMids = entries.filter((e) => /"(new|approved_do|completed_do)"\]$/.test(e.k)).map((e) => e.mid!);
  const dsMids = entries.filter((e) => /"(submitted|approved|executed)"\]$/.test(e.k)).map((e) => e.mid!);
  // DO mailbox: the DO's own three mails share a thread; the three sent to the DS share another.
  const doThread = new Set(doMids.map((m) => byRfc(DO, m)[0]!.threadId));
  const dsSentThread = new Set(dsMids.map((m) => byRfc(DO, m)[0]!.threadId));
  expect(doThread.size).toBe(1);
  expect(dsSentThread.size).toBe(1);
  expect([...doThread][0]).not.toBe([...dsSentThread][0]);
  // The DS's mailbox threads the received copies by References + subject.
  const dsInbox = dsMids.map((m) => byRfc(DS, m));
  expect(dsInbox.every((x) => x.length === 1)).toBe(true);
  expect(new Set(dsInbox.map((x) => x[0]!.threadId)).size).toBe(1);
  const last = await parse(byRfc(DS, dsMids[2]!)[0]!.raw);
  expect(last.subject).toBe('Re: Job Submitted: g1');
  expect(last.inReplyTo).toBe(dsMids[1]);
  expect(last.references).toEqual([dsMids[0], dsMids[1]]);
  expect(last.text).toContain('Your job has finished execution!');
  expect(last.html).toContain('<title>Job Completed - g1</title>');
});

it('a crash after Gmail accepted the mail: after the restart an rfc822msgid: search finds it, nothing is resent', async () => {
  let crash = true;
  const n1 = notifier({ afterSend: () => { if (crash) throw new Error('crash'); } });
  await n1.init();
  writeBashJob(root, DS, 'g2', 'x\n');
  const sends0 = count('gmail.messages.send');
  await expect(n1.runOnce()).rejects.toThrow('crash');
  expect(count('gmail.messages.send')).toBe(sends0 + 1);
  n1.journal.close();
  crash = false;
  const log = memoryLogger();
  const n2 = notifier({ logger: log });
  await n2.init();
  const lists0 = count('gmail.messages.list');
  await n2.runOnce();
  expect(count('gmail.messages.list')).toBe(lists0 + 1);
  expect(count('gmail.messages.send')).toBe(sends0 + 2); // only the DS mail
  const root1 = [...n2.journal.entries()].find((e) => e.k.endsWith('"new"]'))!;
  expect(root1).toMatchObject({ s: 'sent' });
  expect(root1.tid).toBeTruthy();
  expect(byRfc(DO, root1.mid!)).toHaveLength(1);
  expect(log.lines.some((l) => /already delivered/.test(l.msg))).toBe(true);
  // The follow-up still joins the found mail's thread.
  setState(root, DS, 'g2', 'approved');
  await n2.runOnce();
  const appr = [...n2.journal.entries()].find((e) => e.k.endsWith('"approved_do"]'))!;
  expect(byRfc(DO, appr.mid!)[0]!.threadId).toBe(root1.tid);
});

it('quota errors (429) keep the mail, pause the outbox, and it goes out once later', async () => {
  let clock = Date.now();
  const n = notifier({ now: () => clock });
  await n.init();
  emu.world.faults.push({ route: 'gmail.messages.send', status: 429, reason: 'rateLimitExceeded', count: 1 });
  writeBashJob(root, DS, 'g3', 'x\n');
  const sends0 = count('gmail.messages.send');
  await n.runOnce();
  expect(count('gmail.messages.send')).toBe(sends0 + 1); // refused, and nothing else tried while paused
  expect(n.status()).toMatchObject({ pending: 2, failing: [expect.objectContaining({ event: 'new', attempts: 1 })] });
  expect(n.status().paused_until).not.toBeNull();
  clock += 31_000;
  await n.runOnce();
  expect(count('gmail.messages.send')).toBe(sends0 + 3);
  expect(n.status()).toMatchObject({ pending: 0, failing: [] });
});

it("a thread that is not in the sender's mailbox (deleted, or another mailbox's id): sent as a new conversation, once", async () => {
  const env = { SYFT_BG_GOOGLE_ROOT_URL: emu.url };
  const ds = emu.world.addUser(DS);
  const dsAuth = makeOAuthClient({ clientId: ds.clientId, clientSecret: ds.clientSecret }, env);
  dsAuth.setCredentials({ access_token: ds.accessToken, refresh_token: ds.refreshToken, expiry_date: Date.now() + 3_600_000 });
  const dsTransport = new GmailTransport(createGmailApi(dsAuth, { env, retry: { maxAttempts: 1 } }), { hostname: 'test-host' });
  const theirs = await dsTransport.send({ from: DS, to: [DO], subject: 'their thread', text: 'x\n' });
  expect(theirs.threadId).toBeTruthy();

  const before = count('gmail.messages.send');
  const r = await transport.send({ from: DO, to: [DS], subject: 'Re: Job: lost', text: 'follow-up\n' }, { threadId: theirs.threadId! });
  expect(count('gmail.messages.send') - before).toBe(2); // refused (404, nothing sent), then sent without threadId
  expect(r.threadId).toBeTruthy();
  expect(r.threadId).not.toBe(theirs.threadId);
  expect(byRfc(DO, r.messageId)).toHaveLength(1);
});
