/// <reference types="jest" />
/**
 * Conformance of the emulator's Gmail v1 module through the real @googleapis/gmail@18 client (with
 * google-auth-library), messages built by lib/mail/message.ts and parsed back with mailparser.
 */
import type { gmail_v1 } from '@googleapis/gmail';
import { startServer, type Emulator } from './core';
import { oauthModule } from './oauth';
import { gmailModule, gmailState, deliver } from './gmail';
import { makeOAuthClient, makeGmail, callOptions } from '../../lib/google/clients';
import { buildMime, toGmailRaw, type EmailMessage } from '../../lib/mail/message';
import { parse, mailboxes } from '../mail/parse';

let emu: Emulator;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  emu = await startServer([oauthModule, gmailModule]);
  env = { SYFT_BG_GOOGLE_ROOT_URL: emu.url };
});
afterAll(() => emu.close());

const DO = 'do@example.org';
const DS = 'ds@example.com';
let doGmail: gmail_v1.Gmail;
let dsGmail: gmail_v1.Gmail;

function clientFor(email: string, scopes?: string[]): gmail_v1.Gmail {
  const u = emu.world.addUser(email, scopes ? { scopes } : {});
  const auth = makeOAuthClient(u, env);
  auth.setCredentials({ refresh_token: u.refreshToken, access_token: u.accessToken, expiry_date: Date.now() + 3600_000 });
  return makeGmail(auth, env);
}

beforeEach(() => {
  emu.world.reset();
  doGmail = clientFor(DO);
  dsGmail = clientFor(DS);
});

function mime(over: Partial<EmailMessage> = {}) {
  return buildMime({ from: `Data Owner <${DO}>`, to: [DS], subject: 'Job: census-2021', text: 'A new job is waiting.\n', ...over }, { now: new Date(), hostname: 'do-laptop.example.org' });
}

async function send(g: gmail_v1.Gmail, m: { raw: string }, threadId?: string) {
  const r = await g.users.messages.send({ userId: 'me', requestBody: { raw: toGmailRaw(m.raw), ...(threadId ? { threadId } : {}) } }, callOptions(env));
  return r.data;
}

async function get(g: gmail_v1.Gmail, id: string, params: Partial<gmail_v1.Params$Resource$Users$Messages$Get> = {}) {
  return (await g.users.messages.get({ userId: 'me', id, ...params }, callOptions(env))).data;
}

async function list(g: gmail_v1.Gmail, params: gmail_v1.Params$Resource$Users$Messages$List = {}) {
  return (await g.users.messages.list({ userId: 'me', ...params }, callOptions(env))).data;
}

async function failure(p: Promise<unknown>): Promise<{ status: number; data: any; headers?: Headers }> {
  try {
    await p;
  } catch (e) {
    const err = e as { response?: { status: number; data: unknown; headers: Headers } };
    if (!err.response) throw e;
    return { status: err.response.status, data: err.response.data, headers: err.response.headers };
  }
  throw new Error('expected the call to fail');
}

const header = (m: gmail_v1.Schema$Message, name: string) => m.payload?.headers?.find((h) => h.name?.toLowerCase() === name.toLowerCase())?.value;

async function adminDeliver(body: Record<string, unknown>): Promise<{ id: string; threadId: string; historyId: string; messageId: string }> {
  const r = await fetch(`${emu.url}__admin/gmail/deliver`, { method: 'POST', body: JSON.stringify(body) });
  expect(r.status).toBe(200);
  return (await r.json()) as never;
}

describe('users.getProfile', () => {
  it('returns the address, totals and a numeric historyId that grows with every change', async () => {
    const p0 = (await doGmail.users.getProfile({ userId: 'me' }, callOptions(env))).data;
    expect(p0).toEqual({ emailAddress: DO, messagesTotal: 0, threadsTotal: 0, historyId: expect.stringMatching(/^\d+$/) });
    await send(doGmail, mime({ to: ['someone@elsewhere.net'] }));
    const p1 = (await doGmail.users.getProfile({ userId: DO }, callOptions(env))).data;
    expect(p1.messagesTotal).toBe(1);
    expect(p1.threadsTotal).toBe(1);
    expect(Number(p1.historyId)).toBeGreaterThan(Number(p0.historyId));
    // Another user's mailbox has its own historyId sequence.
    const ds = (await dsGmail.users.getProfile({ userId: 'me' }, callOptions(env))).data;
    expect(ds.historyId).not.toBe(p0.historyId);
  });

  it('userId other than me/own address is 403 (delegation denied)', async () => {
    const f = await failure(doGmail.users.getProfile({ userId: DS }, { ...callOptions(env), retry: false }));
    expect(f.status).toBe(403);
    expect(f.data.error.message).toBe(`Delegation denied for ${DO}`);
  });
});

describe('users.messages.send and get', () => {
  it('keeps the client Message-ID, labels SENT, and every format of messages.get reads it back', async () => {
    const m = mime({ html: '<p>A new <b>job</b> is waiting.</p>' });
    const sent = await send(doGmail, m);
    expect(sent).toEqual({ id: expect.stringMatching(/^[0-9a-f]{16}$/), threadId: sent.id, labelIds: ['SENT'] });

    const full = await get(doGmail, sent.id!);
    expect(full.id).toBe(sent.id);
    expect(full.threadId).toBe(sent.id);
    expect(full.labelIds).toEqual(['SENT']);
    expect(header(full, 'Message-ID')).toBe(m.messageId);
    expect(header(full, 'Subject')).toBe('Job: census-2021');
    expect(header(full, 'From')).toBe(`Data Owner <${DO}>`);
    expect(full.snippet).toBe('A new job is waiting.');
    expect(full.sizeEstimate).toBe(Buffer.byteLength(m.raw));
    expect(Number(full.internalDate)).toBeGreaterThan(Date.now() - 60_000);
    expect(full.historyId).toMatch(/^\d+$/);
    // multipart/alternative with two parts; bodies base64url of the decoded content.
    expect(full.payload!.mimeType).toBe('multipart/alternative');
    expect(full.payload!.partId).toBe('');
    const parts = full.payload!.parts!;
    expect(parts.map((p) => [p.partId, p.mimeType])).toEqual([['0', 'text/plain'], ['1', 'text/html']]);
    expect(Buffer.from(parts[0]!.body!.data!, 'base64url').toString('utf8')).toBe('A new job is waiting.\r\n');
    expect(Buffer.from(parts[1]!.body!.data!, 'base64url').toString('utf8')).toBe('<p>A new <b>job</b> is waiting.</p>');

    const raw = await get(doGmail, sent.id!, { format: 'raw' });
    expect(raw.payload).toBeUndefined();
    expect(Buffer.from(raw.raw!, 'base64url').toString('utf8')).toBe(m.raw); // byte-identical when nothing was added
    const back = await parse(Buffer.from(raw.raw!, 'base64url'));
    expect(back.messageId).toBe(m.messageId);
    expect(back.subject).toBe('Job: census-2021');
    expect(back.text).toBe('A new job is waiting.\n');
    expect(mailboxes(back.to)).toEqual([{ name: '', address: DS }]);

    const meta = await get(doGmail, sent.id!, { format: 'metadata', metadataHeaders: ['message-id', 'References', 'Subject'] });
    expect(meta.payload!.headers).toEqual([{ name: 'Subject', value: 'Job: census-2021' }, { name: 'Message-ID', value: m.messageId }]);
    expect(meta.payload!.parts).toBeUndefined();

    const minimal = await get(doGmail, sent.id!, { format: 'minimal' });
    expect(minimal.payload).toBeUndefined();
    expect(Object.keys(minimal).sort()).toEqual(['historyId', 'id', 'internalDate', 'labelIds', 'sizeEstimate', 'snippet', 'threadId']);
  });

  it('decodes RFC 2047 subjects and quoted-printable bodies', async () => {
    const m = mime({ subject: 'Análisis: résumé ✓', text: 'Grüße — ½ done\nsecond line\n' });
    const sent = await send(doGmail, m);
    const full = await get(doGmail, sent.id!);
    expect(header(full, 'Subject')).toBe('Análisis: résumé ✓');
    expect(full.payload!.mimeType).toBe('text/plain');
    expect(Buffer.from(full.payload!.body!.data!, 'base64url').toString('utf8')).toBe('Grüße — ½ done\r\nsecond line\r\n');
    expect(full.snippet).toBe('Grüße — ½ done second line');
  });

  it('adds Message-ID and Date when missing, and sets From to the authenticated address (keeping the name)', async () => {
    const raw = `From: "Someone Else" <other@example.net>\r\nTo: ${DS}\r\nSubject: no id\r\n\r\nbody\r\n`;
    const sent = (await doGmail.users.messages.send({ userId: 'me', requestBody: { raw: Buffer.from(raw).toString('base64url') } }, callOptions(env))).data;
    const full = await get(doGmail, sent.id!);
    expect(header(full, 'Message-ID')).toMatch(/^<[^<>@\s]+@mail\.gmail\.com>$/);
    expect(header(full, 'Date')).toMatch(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
    expect(header(full, 'From')).toBe(`Someone Else <${DO}>`);
    const back = await parse(Buffer.from((await get(doGmail, sent.id!, { format: 'raw' })).raw!, 'base64url'));
    expect(mailboxes(back.from)).toEqual([{ name: 'Someone Else', address: DO }]);
    expect(back.text).toBe('body\n');
  });

  it('sends through the upload endpoint: uploadType=media and multipart (with threadId)', async () => {
    const first = mime();
    const media = (await doGmail.users.messages.send({ userId: 'me', media: { mimeType: 'message/rfc822', body: first.raw } }, callOptions(env))).data;
    expect(media.labelIds).toEqual(['SENT']);
    expect(header(await get(doGmail, media.id!), 'Message-ID')).toBe(first.messageId);

    const reply = mime({ subject: 'Re: Job: census-2021', inReplyTo: first.messageId, references: [first.messageId] });
    const multi = (await doGmail.users.messages.send(
      { userId: 'me', requestBody: { threadId: media.threadId }, media: { mimeType: 'message/rfc822', body: reply.raw } },
      callOptions(env),
    )).data;
    expect(multi.threadId).toBe(media.threadId);
    expect(emu.world.counters.get('gmail.messages.send')).toBe(2);

    const bad = await fetch(`${emu.url}upload/gmail/v1/users/me/messages/send?uploadType=media`, {
      method: 'POST', headers: { authorization: `Bearer ${[...emu.world.tokens.keys()][0]}`, 'content-type': 'text/plain' }, body: 'x',
    });
    expect(bad.status).toBe(400);
  });

  it('Google-shaped errors: bad base64, no recipient, invalid id, unknown id', async () => {
    let f = await failure(doGmail.users.messages.send({ userId: 'me', requestBody: { raw: '***not base64***' } }, callOptions(env)));
    expect(f.status).toBe(400);
    expect(f.data.error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT', errors: [{ reason: 'invalidArgument', domain: 'global' }] });

    f = await failure(doGmail.users.messages.send({ userId: 'me', requestBody: {} }, callOptions(env)));
    expect(f.status).toBe(400);

    f = await failure(doGmail.users.messages.send({ userId: 'me', requestBody: { raw: toGmailRaw(`From: ${DO}\r\nSubject: x\r\n\r\nno one\r\n`) } }, callOptions(env)));
    expect(f.status).toBe(400);
    expect(f.data.error.message).toBe('Recipient address required');

    f = await failure(doGmail.users.messages.get({ userId: 'me', id: 'not-an-id!' }, { ...callOptions(env), retry: false }));
    expect(f.status).toBe(400);
    expect(f.data.error.message).toBe('Invalid id value');

    f = await failure(doGmail.users.messages.get({ userId: 'me', id: '18c0ffee00000000' }, { ...callOptions(env), retry: false }));
    expect(f.status).toBe(404);
    expect(f.data).toEqual({
      error: { code: 404, message: 'Requested entity was not found.', errors: [{ message: 'Requested entity was not found.', domain: 'global', reason: 'notFound' }], status: 'NOT_FOUND' },
    });
    expect(await failure(doGmail.users.threads.get({ userId: 'me', id: '18c0ffee00000000' }, { ...callOptions(env), retry: false }))).toMatchObject({ status: 404 });

    // Another user's message id is not found in my mailbox.
    const mine = await send(doGmail, mime({ to: ['x@elsewhere.net'] }));
    expect((await failure(dsGmail.users.messages.get({ userId: 'me', id: mine.id! }, { ...callOptions(env), retry: false }))).status).toBe(404);
  });

  it('enforces scopes: gmail.send can only send; gmail.metadata cannot read bodies or search', async () => {
    const sender = clientFor('sender@example.org', ['https://www.googleapis.com/auth/gmail.send']);
    const sent = await send(sender, mime({ from: 'sender@example.org' }));
    const f = await failure(sender.users.messages.get({ userId: 'me', id: sent.id! }, { ...callOptions(env), retry: false }));
    expect(f.status).toBe(403);
    expect(f.data.error.errors[0].reason).toBe('insufficientPermissions');

    const meta = clientFor('sender@example.org', ['https://www.googleapis.com/auth/gmail.metadata']);
    expect((await failure(meta.users.messages.get({ userId: 'me', id: sent.id! }, { ...callOptions(env), retry: false }))).status).toBe(403);
    expect(header(await get(meta, sent.id!, { format: 'metadata' }), 'Subject')).toBe('Job: census-2021');
    expect((await failure(meta.users.messages.list({ userId: 'me', q: 'subject:job' }, { ...callOptions(env), retry: false }))).status).toBe(403);
    expect((await list(meta)).resultSizeEstimate).toBe(1);
  });
});

describe('threading (threads guide: threadId + References/In-Reply-To + matching Subject)', () => {
  it('a reply joins the thread when all three rules hold; threads.get lists the messages oldest first', async () => {
    const first = mime();
    const s1 = await send(doGmail, first);
    const reply = mime({ subject: 'RE: Fwd: Job: census-2021', inReplyTo: first.messageId, references: [first.messageId], text: 'Reminder.\n' });
    const s2 = await send(doGmail, reply, s1.threadId!);
    expect(s2.threadId).toBe(s1.threadId);
    expect(s2.id).not.toBe(s1.id);

    const t = (await doGmail.users.threads.get({ userId: 'me', id: s1.threadId!, format: 'metadata', metadataHeaders: ['Message-ID'] }, callOptions(env))).data;
    expect(t.id).toBe(s1.threadId);
    expect(t.messages!.map((m) => m.id)).toEqual([s1.id, s2.id]);
    expect(t.messages!.map((m) => header(m, 'Message-ID'))).toEqual([first.messageId, reply.messageId]);
    expect(t.historyId).toBe(t.messages![1]!.historyId);
    expect((await doGmail.users.getProfile({ userId: 'me' }, callOptions(env))).data).toMatchObject({ messagesTotal: 2, threadsTotal: 1 });
  });

  it('starts a new thread when the subject differs, the references are missing, or no threadId is given', async () => {
    const first = mime();
    const s1 = await send(doGmail, first);
    const refs = { inReplyTo: first.messageId, references: [first.messageId] };

    const otherSubject = await send(doGmail, mime({ subject: 'Re: something else', ...refs }), s1.threadId!);
    expect(otherSubject.threadId).not.toBe(s1.threadId);
    expect(otherSubject.threadId).toBe(otherSubject.id);

    const noRefs = await send(doGmail, mime({ subject: 'Re: Job: census-2021' }), s1.threadId!);
    expect(noRefs.threadId).toBe(noRefs.id);

    const noThreadId = await send(doGmail, mime({ subject: 'Re: Job: census-2021', ...refs }));
    expect(noThreadId.threadId).toBe(noThreadId.id);

    // References naming a message of *another* thread do not count.
    const other = await send(doGmail, mime({ subject: 'Job: census-2021' }));
    const wrongRefs = await send(doGmail, mime({ subject: 'Re: Job: census-2021', ...refs }), other.threadId!);
    expect(wrongRefs.threadId).toBe(wrongRefs.id);

    const t = (await doGmail.users.threads.get({ userId: 'me', id: s1.threadId!, format: 'minimal' }, callOptions(env))).data;
    expect(t.messages!.map((m) => m.id)).toEqual([s1.id]);
  });

  it('a threadId that is not a thread of the sender\'s mailbox is 404, a malformed one 400; nothing is sent', async () => {
    const first = mime({ to: [DS] });
    const s1 = await send(doGmail, first);
    const refs = { inReplyTo: first.messageId, references: [first.messageId] };
    const before = (await doGmail.users.getProfile({ userId: 'me' }, callOptions(env))).data;
    const dsBefore = (await dsGmail.users.getProfile({ userId: 'me' }, callOptions(env))).data.messagesTotal;

    const unknown = await failure(send(doGmail, mime({ to: [DS], subject: 'Re: Job: census-2021', ...refs }), 'ffffffffffffffff'));
    expect(unknown.status).toBe(404);
    expect(unknown.data.error).toMatchObject({ code: 404, message: 'Requested entity was not found.', errors: [{ reason: 'notFound' }] });

    // The recipient's copy has its own thread id, unknown in the sender's mailbox (the classic mistake).
    const dsCopy = (await list(dsGmail, { q: `rfc822msgid:${first.messageId.replace(/[<>]/g, '')}` })).messages![0]!;
    expect(dsCopy.threadId).not.toBe(s1.threadId);
    expect((await failure(send(doGmail, mime({ to: [DS], subject: 'Re: Job: census-2021', ...refs }), dsCopy.threadId!))).status).toBe(404);

    const malformed = await failure(send(doGmail, mime({ to: [DS], subject: 'Re: Job: census-2021', ...refs }), 'not-a-thread'));
    expect(malformed.status).toBe(400);
    expect(malformed.data.error.message).toBe('Invalid thread_id value');

    // Upper case is the same thread (ids are hex).
    const ok = await send(doGmail, mime({ to: [DS], subject: 'Re: Job: census-2021', ...refs }), s1.threadId!.toUpperCase());
    expect(ok.threadId).toBe(s1.threadId);
    const after = (await doGmail.users.getProfile({ userId: 'me' }, callOptions(env))).data;
    expect(after.messagesTotal).toBe(before.messagesTotal! + 1);
    expect((await dsGmail.users.getProfile({ userId: 'me' }, callOptions(env))).data.messagesTotal).toBe(dsBefore! + 1);
  });
});

describe('users.messages.list', () => {
  it('finds a message by rfc822msgid: with or without angle brackets', async () => {
    const a = mime();
    const sa = await send(doGmail, a);
    await send(doGmail, mime());
    for (const q of [`rfc822msgid:${a.messageId}`, `rfc822msgid:${a.messageId.slice(1, -1)}`]) {
      expect(await list(doGmail, { q })).toEqual({ messages: [{ id: sa.id, threadId: sa.threadId }], resultSizeEstimate: 1 });
    }
    expect(await list(doGmail, { q: 'rfc822msgid:<nobody@nowhere>' })).toEqual({ resultSizeEstimate: 0 });
  });

  it('supports from:/to:/subject:"…"/in:/is:/label/after:/before:, plain words, -negation and OR; newest first', async () => {
    const s1 = await send(doGmail, mime({ subject: 'Job: census 2021', text: 'population counts\n' }));
    const s2 = await send(doGmail, mime({ subject: 'Weekly digest', to: ['ds@example.com', 'Carol <carol@example.net>'], text: 'nothing new\n' }));
    const r1 = await adminDeliver({ to: DO, from: 'Alice <alice@example.net>', subject: 'Question about census', text: 'Hello there\n' });
    const ids = async (q: string, extra: gmail_v1.Params$Resource$Users$Messages$List = {}) => ((await list(doGmail, { q, ...extra })).messages ?? []).map((m) => m.id);

    expect(await ids('')).toEqual([r1.id, s2.id, s1.id]);
    expect(await ids('in:sent')).toEqual([s2.id, s1.id]);
    expect(await ids('in:inbox')).toEqual([r1.id]);
    expect(await ids('is:unread')).toEqual([r1.id]);
    expect(await ids('from:alice')).toEqual([r1.id]);
    expect(await ids('from:alice@example.net')).toEqual([r1.id]);
    expect(await ids('from:me')).toEqual([s2.id, s1.id]);
    expect(await ids('to:carol')).toEqual([s2.id]);
    expect(await ids('to:me')).toEqual([r1.id]);
    expect(await ids('subject:census')).toEqual([r1.id, s1.id]);
    expect(await ids('subject:"census 2021"')).toEqual([s1.id]);
    expect(await ids('subject:cens')).toEqual([]); // word match, not substring
    expect(await ids('population')).toEqual([s1.id]);
    expect(await ids('"hello there"')).toEqual([r1.id]);
    expect(await ids('census -in:inbox')).toEqual([s1.id]);
    expect(await ids('subject:digest OR from:alice')).toEqual([r1.id, s2.id]);
    expect(await ids('label:SENT subject:(weekly digest)')).toEqual([s2.id]);
    const now = Math.floor(Date.now() / 1000);
    expect(await ids(`after:${now - 3600} before:${now + 3600}`)).toHaveLength(3);
    expect(await ids(`after:${now + 3600}`)).toEqual([]);
    expect(await ids('before:2000/01/01')).toEqual([]);
    expect(await ids('after:2000/01/01')).toHaveLength(3);

    expect(await ids('', { labelIds: ['INBOX', 'UNREAD'] })).toEqual([r1.id]);
    expect(await ids('', { labelIds: ['INBOX', 'SENT'] })).toEqual([]);
  });

  it('pages with maxResults/pageToken without gaps or duplicates; resultSizeEstimate counts all matches', async () => {
    const sent: string[] = [];
    for (let i = 0; i < 7; i++) sent.push((await send(doGmail, mime({ subject: `n${i}` }))).id!);
    const seen: string[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const r = await list(doGmail, { maxResults: 3, ...(pageToken ? { pageToken } : {}) });
      expect(r.resultSizeEstimate).toBe(7);
      seen.push(...r.messages!.map((m) => m.id!));
      pageToken = r.nextPageToken ?? undefined;
      pages++;
    } while (pageToken);
    expect(pages).toBe(3);
    expect(seen).toEqual([...sent].reverse());
    const f = await failure(doGmail.users.messages.list({ userId: 'me', pageToken: 'garbage' }, { ...callOptions(env), retry: false }));
    expect(f.status).toBe(400);
  });

  it('hides SPAM/TRASH unless includeSpamTrash or the query names them', async () => {
    const spam = await adminDeliver({ to: DO, from: 'x@spam.example', subject: 'win', text: 'now', labelIds: ['SPAM'] });
    const ok = await adminDeliver({ to: DO, from: 'y@example.net', subject: 'hello', text: 'hi' });
    expect((await list(doGmail)).messages!.map((m) => m.id)).toEqual([ok.id]);
    expect((await list(doGmail, { includeSpamTrash: true })).messages!.map((m) => m.id)).toEqual([ok.id, spam.id]);
    expect((await list(doGmail, { q: 'in:spam' })).messages!.map((m) => m.id)).toEqual([spam.id]);
  });
});

describe('delivery between users of the emulator', () => {
  it('the DS receives the DO\'s message in INBOX/UNREAD with its own ids, the same Message-ID and a Delivered-To', async () => {
    const dsStart = (await dsGmail.users.getProfile({ userId: 'me' }, callOptions(env))).data.historyId!;
    const m = mime();
    const sent = await send(doGmail, m);

    const found = await list(dsGmail, { q: `rfc822msgid:${m.messageId} in:inbox` });
    expect(found.messages).toHaveLength(1);
    const copy = await get(dsGmail, found.messages![0]!.id!);
    expect(copy.id).not.toBe(sent.id);
    expect(copy.threadId).toBe(copy.id);
    expect(copy.labelIds!.sort()).toEqual(['INBOX', 'UNREAD']);
    expect(header(copy, 'Message-ID')).toBe(m.messageId);
    expect(header(copy, 'Delivered-To')).toBe(DS);
    const back = await parse(Buffer.from((await get(dsGmail, copy.id!, { format: 'raw' })).raw!, 'base64url'));
    expect(back.subject).toBe('Job: census-2021');
    expect(back.text).toBe('A new job is waiting.\n');

    const h = (await dsGmail.users.history.list({ userId: 'me', startHistoryId: dsStart, historyTypes: ['messageAdded'], labelId: 'INBOX' }, callOptions(env))).data;
    expect(h.history).toHaveLength(1);
    expect(h.history![0]!.messagesAdded).toEqual([{ message: { id: copy.id, threadId: copy.threadId, labelIds: ['INBOX', 'UNREAD'] } }]);
    expect(h.historyId).toBe(copy.historyId);

    // The DS replies in its own thread; the DO's copy of the reply threads into the DO's thread.
    const reply = buildMime({ from: DS, to: [DO], subject: 'Re: Job: census-2021', text: 'approve\n', inReplyTo: m.messageId, references: [m.messageId] }, { now: new Date(), hostname: 'ds.example.com' });
    const dsReply = await send(dsGmail, reply, copy.threadId!);
    expect(dsReply.threadId).toBe(copy.threadId);
    const doThread = (await doGmail.users.threads.get({ userId: 'me', id: sent.threadId!, format: 'minimal' }, callOptions(env))).data;
    expect(doThread.messages!.map((x) => x.labelIds!.sort())).toEqual([['SENT'], ['INBOX', 'UNREAD']]);
  });

  it('Bcc recipients get a copy without the Bcc header; the sender keeps it; mail to oneself is one SENT+INBOX message', async () => {
    clientFor('carol@example.org');
    const raw = [`From: ${DO}`, `To: ${DS}`, 'Bcc: carol@example.org', 'Subject: secret list', 'Message-ID: <bcc-1@example.org>', '', 'hi', ''].join('\r\n');
    const sent = await send(doGmail, { raw });
    expect(header(await get(doGmail, sent.id!), 'Bcc')).toBe('carol@example.org');
    const carol = gmailState(emu.world).mailboxes.get('carol@example.org')!;
    expect(carol.ordered).toHaveLength(1);
    expect(carol.ordered[0]!.raw.toString()).not.toMatch(/^Bcc:/im);
    const dsCopy = (await list(dsGmail, { q: 'rfc822msgid:bcc-1@example.org' })).messages![0]!;
    expect(header(await get(dsGmail, dsCopy.id!), 'Bcc')).toBeUndefined();

    const self = await send(doGmail, mime({ to: [DO], subject: 'note to self' }));
    expect(self.labelIds!.sort()).toEqual(['INBOX', 'SENT', 'UNREAD']);
    expect((await list(doGmail, { q: 'subject:"note to self"' })).resultSizeEstimate).toBe(1);
  });
});

describe('admin delivery of received mail', () => {
  it('a reply (convenience form) threads into the DO\'s thread and shows up in history.list', async () => {
    const m = mime({ to: ['ds@external.example'] });
    const sent = await send(doGmail, m);
    const start = (await doGmail.users.getProfile({ userId: 'me' }, callOptions(env))).data.historyId!;

    const r = await adminDeliver({ to: DO, from: 'Data Scientist <ds@external.example>', subject: 'Re: Job: census-2021', text: 'approve\n', inReplyTo: m.messageId });
    expect(r.threadId).toBe(sent.threadId);
    expect(r.messageId).toMatch(/@external\.example$/);
    // Admin routes are not API traffic: not counted.
    expect([...emu.world.counters.keys()].filter((k) => k.includes('deliver'))).toEqual([]);

    const h = (await doGmail.users.history.list({ userId: 'me', startHistoryId: start, historyTypes: ['messageAdded'], labelId: 'INBOX' }, callOptions(env))).data;
    expect(h.history!.map((x) => x.messagesAdded![0]!.message!.id)).toEqual([r.id]);
    expect(h.history![0]!.id).toBe(r.historyId);
    expect(h.historyId).toBe(r.historyId);

    const reply = await get(doGmail, r.id, { format: 'metadata', metadataHeaders: ['In-Reply-To', 'References', 'From'] });
    expect(reply.payload!.headers).toEqual([
      { name: 'From', value: 'Data Scientist <ds@external.example>' },
      { name: 'In-Reply-To', value: m.messageId },
      { name: 'References', value: m.messageId },
    ]);
    expect(reply.labelIds).toEqual(['INBOX', 'UNREAD']);
    const t = (await doGmail.users.threads.get({ userId: 'me', id: sent.threadId! }, callOptions(env))).data;
    expect(t.messages!.map((x) => x.id)).toEqual([sent.id, r.id]);
  });

  it('raw delivery with another subject or no references starts a new thread; an explicit threadId forces one', async () => {
    const m = mime({ to: ['ds@external.example'] });
    const sent = await send(doGmail, m);
    const other = buildMime({ from: 'ds@external.example', to: [DO], subject: 'Different topic', text: 'x', inReplyTo: m.messageId }, { now: new Date(), hostname: 'external.example' });
    const r1 = await adminDeliver({ to: DO, raw: toGmailRaw(other.raw) });
    expect(r1.threadId).toBe(r1.id);
    expect(r1.messageId).toBe(other.messageId.slice(1, -1));
    const r2 = await adminDeliver({ to: DO, from: 'ds@external.example', subject: 'Re: Job: census-2021', text: 'no refs' });
    expect(r2.threadId).toBe(r2.id);
    const r3 = await adminDeliver({ to: DO, from: 'ds@external.example', subject: 'anything', text: 'forced', threadId: sent.threadId });
    expect(r3.threadId).toBe(sent.threadId);

    const bad = await fetch(`${emu.url}__admin/gmail/deliver`, { method: 'POST', body: JSON.stringify({ to: 'nobody@example.org', raw: toGmailRaw(other.raw) }) });
    expect(bad.status).toBe(404);
    const bad2 = await fetch(`${emu.url}__admin/gmail/deliver`, { method: 'POST', body: JSON.stringify({ to: DO, raw: '%%%' }) });
    expect(bad2.status).toBe(400);
  });

  it('a received message without Message-ID gets <…@emulator.local>, returned, stored and searchable', async () => {
    const raw = 'From: Someone <someone@external.example>\r\nTo: do@example.org\r\nSubject: no id\r\nDate: Tue, 03 Mar 2026 10:00:00 +0000\r\n\r\nhello\r\n';
    const r = await adminDeliver({ to: DO, raw: toGmailRaw(raw) });
    expect(r.messageId).toMatch(/^[^<>\s@]+@emulator\.local$/);
    const m = await get(doGmail, r.id, { format: 'metadata', metadataHeaders: ['Message-ID', 'Subject'] });
    expect(m.payload!.headers).toEqual([
      { name: 'Subject', value: 'no id' },
      { name: 'Message-ID', value: `<${r.messageId}>` },
    ]);
    expect((await list(doGmail, { q: `rfc822msgid:${r.messageId}` })).messages).toEqual([{ id: r.id, threadId: r.threadId }]);
    // The rest of the message is as delivered.
    const back = Buffer.from((await get(doGmail, r.id, { format: 'raw' })).raw!, 'base64url').toString();
    expect(back).toBe(raw.replace('\r\n\r\n', `\r\nMessage-ID: <${r.messageId}>\r\n\r\n`));
    // Another one gets another id; a message that has one keeps it.
    const r2 = await adminDeliver({ to: DO, raw: toGmailRaw(raw) });
    expect(r2.messageId).not.toBe(r.messageId);
    const own = await adminDeliver({ to: DO, raw: toGmailRaw(raw.replace('Subject:', 'Message-ID: <mine@external.example>\r\nSubject:')) });
    expect(own.messageId).toBe('mine@external.example');
    // In-process delivery does the same.
    expect((await deliver(emu.world, DO, Buffer.from(raw))).messageId).toMatch(/@emulator\.local$/);
  });

  it('deliver() is usable in-process', async () => {
    const built = buildMime({ from: 'x@external.example', to: [DO], subject: 'in-process', text: 'hi' }, { now: new Date(), hostname: 'external.example' });
    const r = await deliver(emu.world, DO, Buffer.from(built.raw));
    expect((await get(doGmail, r.id, { format: 'minimal' })).labelIds).toEqual(['INBOX', 'UNREAD']);
  });
});

describe('users.history.list', () => {
  it('returns records after startHistoryId only, filters by type and label, and pages', async () => {
    const start = (await doGmail.users.getProfile({ userId: 'me' }, callOptions(env))).data.historyId!;
    const s = await send(doGmail, mime({ to: ['x@external.example'] }));
    const a = await adminDeliver({ to: DO, from: 'a@external.example', subject: 'a', text: 'a' });
    const b = await adminDeliver({ to: DO, from: 'b@external.example', subject: 'b', text: 'b' });
    await doGmail.users.messages.modify({ userId: 'me', id: a.id, requestBody: { removeLabelIds: ['UNREAD'] } }, callOptions(env));

    const all = (await doGmail.users.history.list({ userId: 'me', startHistoryId: start }, callOptions(env))).data;
    expect(all.history!.map((h) => Object.keys(h).filter((k) => k !== 'id' && k !== 'messages'))).toEqual([['messagesAdded'], ['messagesAdded'], ['messagesAdded'], ['labelsRemoved']]);
    expect(all.history![3]!.labelsRemoved).toEqual([{ message: { id: a.id, threadId: a.threadId, labelIds: ['INBOX'] }, labelIds: ['UNREAD'] }]);
    const ids = all.history!.map((h) => Number(h.id));
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(ids[0]).toBeGreaterThan(Number(start));
    expect(all.historyId).toBe(String(ids[3]));
    expect(all.nextPageToken).toBeUndefined();

    // After a given record: strictly later ones.
    const after = (await doGmail.users.history.list({ userId: 'me', startHistoryId: String(ids[1]) }, callOptions(env))).data;
    expect(after.history!.map((h) => h.id)).toEqual([String(ids[2]), String(ids[3])]);

    const inbox = (await doGmail.users.history.list({ userId: 'me', startHistoryId: start, historyTypes: ['messageAdded'], labelId: 'INBOX' }, callOptions(env))).data;
    expect(inbox.history!.map((h) => h.messages![0]!.id)).toEqual([a.id, b.id]);
    expect((await doGmail.users.history.list({ userId: 'me', startHistoryId: start, labelId: 'SENT' }, callOptions(env))).data.history!.map((h) => h.messages![0]!.id)).toEqual([s.id]);

    const paged: string[] = [];
    let pageToken: string | undefined;
    do {
      const r = (await doGmail.users.history.list({ userId: 'me', startHistoryId: start, maxResults: 1, ...(pageToken ? { pageToken } : {}) }, callOptions(env))).data;
      paged.push(...r.history!.map((h) => h.id!));
      pageToken = r.nextPageToken ?? undefined;
    } while (pageToken);
    expect(paged).toEqual(ids.map(String));

    // Nothing new: no `history` key, and the current historyId to store.
    const none = (await doGmail.users.history.list({ userId: 'me', startHistoryId: all.historyId! }, callOptions(env))).data;
    expect(none).toEqual({ historyId: all.historyId });
  });

  it('a startHistoryId older than the retained window is 404 (sync guide: do a full sync)', async () => {
    const start = (await doGmail.users.getProfile({ userId: 'me' }, callOptions(env))).data.historyId!;
    await send(doGmail, mime({ to: ['x@external.example'] }));
    const mid = (await doGmail.users.getProfile({ userId: 'me' }, callOptions(env))).data.historyId!;
    await send(doGmail, mime({ to: ['x@external.example'] }));

    const r = await fetch(`${emu.url}__admin/gmail/history`, { method: 'POST', body: JSON.stringify({ email: DO, keep: 1 }) });
    expect(await r.json()).toMatchObject({ records: 1, oldestValidStartHistoryId: mid });
    const f = await failure(doGmail.users.history.list({ userId: 'me', startHistoryId: start }, callOptions(env)));
    expect(f.status).toBe(404);
    expect(f.data.error.errors[0].reason).toBe('notFound');
    expect((await doGmail.users.history.list({ userId: 'me', startHistoryId: mid }, callOptions(env))).data.history).toHaveLength(1);

    // The module-wide retention: with 2 records kept, the third send pushes the first out.
    gmailState(emu.world).historyLimit = 2;
    const s0 = (await dsGmail.users.getProfile({ userId: 'me' }, callOptions(env))).data.historyId!;
    for (let i = 0; i < 3; i++) await send(dsGmail, mime({ from: DS, to: ['x@external.example'] }));
    expect((await failure(dsGmail.users.history.list({ userId: 'me', startHistoryId: s0 }, callOptions(env)))).status).toBe(404);

    // Drop everything: only the current historyId is valid.
    await fetch(`${emu.url}__admin/gmail/history`, { method: 'POST', body: JSON.stringify({ email: DO, keep: 0 }) });
    const now = (await doGmail.users.getProfile({ userId: 'me' }, callOptions(env))).data.historyId!;
    expect((await failure(doGmail.users.history.list({ userId: 'me', startHistoryId: mid }, callOptions(env)))).status).toBe(404);
    expect((await doGmail.users.history.list({ userId: 'me', startHistoryId: now }, callOptions(env))).data).toEqual({ historyId: now });

    expect((await failure(doGmail.users.history.list({ userId: 'me', startHistoryId: 'abc' }, { ...callOptions(env), retry: false }))).status).toBe(400);
  });
});

describe('faults and counters', () => {
  it('an injected 429 on messages.send reaches the caller (POST is not retried) with Retry-After; nothing is stored', async () => {
    emu.world.faults.push({ route: 'gmail.messages.send', status: 429, retryAfter: 1 });
    const f = await failure(send(doGmail, mime()));
    expect(f.status).toBe(429);
    expect(f.headers!.get('retry-after')).toBe('1');
    expect(f.data.error).toMatchObject({ code: 429, status: 'RESOURCE_EXHAUSTED', errors: [{ reason: 'rateLimitExceeded' }] });
    expect((await doGmail.users.getProfile({ userId: 'me' }, callOptions(env))).data.messagesTotal).toBe(0);
    expect(gmailState(emu.world).mailboxes.get(DS)?.messages.size ?? 0).toBe(0);

    await send(doGmail, mime());
    expect(emu.world.counters.get('gmail.messages.send')).toBe(2);
    expect(emu.world.faults).toHaveLength(0);
  });

  it('a 503 on a GET reaches the caller (the clients do not retry by themselves); the next GET succeeds; both are counted', async () => {
    const s = await send(doGmail, mime());
    emu.world.faults.push({ route: 'gmail.messages.get', status: 503 });
    const f = await failure(get(doGmail, s.id!, { format: 'minimal' }));
    expect(f.status).toBe(503);
    expect(f.data.error).toMatchObject({ code: 503, errors: [{ reason: 'backendError' }] });
    expect((await get(doGmail, s.id!, { format: 'minimal' })).id).toBe(s.id);
    expect(emu.world.counters.get('gmail.messages.get')).toBe(2);
  });

  it('counters per route key over the HTTP admin API', async () => {
    await doGmail.users.getProfile({ userId: 'me' }, callOptions(env));
    await list(doGmail);
    await list(doGmail);
    const c = (await (await fetch(`${emu.url}__admin/counters`)).json()) as Record<string, number>;
    expect(c).toMatchObject({ 'gmail.profile': 1, 'gmail.messages.list': 2 });
  });
});

describe('attachments', () => {
  it('parts with a filename carry an attachmentId; attachments.get returns the bytes', async () => {
    const pdf = Buffer.from('%PDF-1.4 fake \x00\x01\x02 bytes', 'latin1');
    const raw = [
      `From: ${DO}`, `To: x@external.example`, 'Subject: results', 'Message-ID: <att-1@example.org>', 'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"', '', '--b1', 'Content-Type: text/plain; charset=utf-8', '', 'see attached', '--b1',
      'Content-Type: application/pdf; name="r.pdf"', 'Content-Disposition: attachment; filename="r.pdf"', 'Content-Transfer-Encoding: base64', '',
      pdf.toString('base64'), '--b1--', '',
    ].join('\r\n');
    const s = await send(doGmail, { raw });
    const full = await get(doGmail, s.id!);
    const att = full.payload!.parts![1]!;
    expect(att).toMatchObject({ partId: '1', mimeType: 'application/pdf', filename: 'r.pdf', body: { size: pdf.length } });
    expect(att.body!.data).toBeUndefined();
    const got = (await doGmail.users.messages.attachments.get({ userId: 'me', messageId: s.id!, id: att.body!.attachmentId! }, callOptions(env))).data;
    expect(Buffer.from(got.data!, 'base64url').equals(pdf)).toBe(true);
    expect((await list(doGmail, { q: 'has:attachment' })).resultSizeEstimate).toBe(1);
  });
});
