/**
 * lib/google/gmail.ts through the real @googleapis/gmail client against the loopback emulator.
 */
import { inspect } from 'node:util';
import { startServer, Emulator } from '../emulator/core';
import { gmailModule } from '../emulator/gmail';
import { makeOAuthClient } from '../../lib/google/clients';
import { createGmailApi, GmailApi, headerValue, HistoryTooOldError, rfc822MsgIdQuery } from '../../lib/google/gmail';
import { GoogleApiError, RetryPolicy } from '../../lib/google/retry';
import { buildMime } from '../../lib/mail/message';

const DO = 'do@example.com';
const DS = 'ds@example.org';

let emu: Emulator;
let env: NodeJS.ProcessEnv;
let gmail: GmailApi;
let dsGmail: GmailApi;

function apiFor(email: string, retry: Partial<RetryPolicy> = { baseDelayMs: 5, maxDelayMs: 20 }): GmailApi {
  const u = emu.world.addUser(email);
  const auth = makeOAuthClient({ clientId: u.clientId, clientSecret: u.clientSecret }, env);
  // An expiry keeps google-auth-library from "refresh and retry once" on 401/403 (it would blur the counters).
  auth.setCredentials({ access_token: u.accessToken, refresh_token: u.refreshToken, expiry_date: Date.now() + 3_600_000 });
  return createGmailApi(auth, { env, retry });
}

let seq = 0;
function mime(opts: { subject?: string; to?: string; inReplyTo?: string; references?: string[] } = {}) {
  seq++;
  return buildMime(
    {
      from: `Syft BG <${DO}>`,
      to: [opts.to ?? DS],
      subject: opts.subject ?? `job ${seq} is ready`,
      text: `hello ${seq}\n`,
      ...(opts.inReplyTo ? { inReplyTo: opts.inReplyTo } : {}),
      ...(opts.references ? { references: opts.references } : {}),
    },
    { now: new Date(), hostname: 'syft-bg.test' },
  );
}

async function admin(path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(new URL(path, emu.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

const count = (route: string) => emu.world.counters.get(route) ?? 0;

beforeAll(async () => {
  emu = await startServer([gmailModule]);
  env = { SYFT_BG_GOOGLE_ROOT_URL: emu.url };
  gmail = apiFor(DO);
  dsGmail = apiFor(DS);
});
afterAll(() => emu.close());
beforeEach(() => {
  emu.world.faults = [];
  emu.world.counters.clear();
});

describe('gmail api', () => {
  it('getProfile', async () => {
    const p = await gmail.getProfile();
    expect(p.emailAddress).toBe(DO);
    expect(p.historyId).toMatch(/^\d+$/);
    expect(count('gmail.profile')).toBe(1);
  });

  it('sendRaw → getMessage (metadata, full, raw) → findByRfc822MsgId', async () => {
    const m = mime({ subject: "O'Brien's job \\ done" });
    const sent = await gmail.sendRaw(m.raw);
    expect(sent.id).toBeTruthy();
    expect(sent.threadId).toBeTruthy();
    expect(sent.labelIds).toContain('SENT');

    const meta = await gmail.getMessage(sent.id, 'metadata', ['Message-ID', 'Subject']);
    expect(headerValue(meta, 'message-id')).toBe(m.messageId);
    expect(headerValue(meta, 'Subject')).toBe("O'Brien's job \\ done");
    expect(meta.labelIds).toContain('SENT');

    const full = await gmail.getMessage(sent.id);
    expect(full.payload).toBeDefined();
    expect(headerValue(full, 'To')).toBe(DS);

    const raw = await gmail.getMessage(sent.id, 'raw');
    expect(raw.raw?.toString('utf8')).toContain(`Message-ID: ${m.messageId}`);

    expect(await gmail.findByRfc822MsgId(m.messageId)).toEqual({ id: sent.id, threadId: sent.threadId });
    expect(await gmail.findByRfc822MsgId(m.messageId.slice(1, -1))).toEqual({ id: sent.id, threadId: sent.threadId });
    expect(await gmail.findByRfc822MsgId('<never-sent@syft-bg.test>')).toBeUndefined();
    // The recipient (an emulated user) got it too, under its own id.
    const got = await dsGmail.findByRfc822MsgId(m.messageId);
    expect(got).toBeDefined();
    expect(got!.id).not.toBe(sent.id);
  });

  it('finds a sent message that was moved to the trash', async () => {
    const m = mime();
    const sent = await gmail.sendRaw(m.raw);
    const u = [...emu.world.tokens.entries()].find(([, t]) => t.email === DO)![0];
    const res = await fetch(new URL(`gmail/v1/users/me/messages/${sent.id}/modify`, emu.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${u}`, 'content-type': 'application/json' },
      body: JSON.stringify({ addLabelIds: ['TRASH'] }),
    });
    expect(res.ok).toBe(true);
    expect((await gmail.findByRfc822MsgId(m.messageId))?.id).toBe(sent.id);
  });

  it('refuses Message-IDs that would change the search', () => {
    expect(rfc822MsgIdQuery('<abc.123@host.example>')).toBe('rfc822msgid:abc.123@host.example');
    for (const bad of ['a b@host', 'a@host OR in:anywhere', '{a@h b@h}', '"a"@host', 'a@(host)', 'no-at-sign', '']) {
      expect(() => rfc822MsgIdQuery(bad)).toThrow(TypeError);
    }
  });

  it('sends a reply into the same thread and reads the thread', async () => {
    const first = mime({ subject: 'thread me' });
    const a = await gmail.sendRaw(first.raw);
    const reply = mime({ subject: 'Re: thread me', inReplyTo: first.messageId, references: [first.messageId] });
    const b = await gmail.sendRaw(reply.raw, { threadId: a.threadId });
    expect(b.threadId).toBe(a.threadId);
    const t = await gmail.getThread(a.threadId, 'metadata', ['Message-ID']);
    expect(t.id).toBe(a.threadId);
    expect(t.messages.map((x) => headerValue(x, 'Message-ID'))).toEqual([first.messageId, reply.messageId]);
    expect(t.historyId).toMatch(/^\d+$/);
  });

  it('lists one page and iterates over all pages', async () => {
    const tag = `batch${Date.now()}`;
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await gmail.sendRaw(mime({ subject: `${tag} number ${i}` }).raw)).id);
    const page = await gmail.listMessages(`subject:${tag}`, { maxResults: 3, labelIds: ['SENT'] });
    expect(page.messages).toHaveLength(3);
    expect(page.nextPageToken).toBeTruthy();
    emu.world.counters.clear();
    const all: string[] = [];
    for await (const m of gmail.iterateMessages(`subject:${tag}`, { maxResults: 3 })) all.push(m.id);
    expect(new Set(all)).toEqual(new Set(ids));
    expect(all).toHaveLength(7);
    expect(count('gmail.messages.list')).toBe(3);
  });

  it('historyList pages to the end and filters by type and label', async () => {
    const start = (await dsGmail.getProfile()).historyId;
    const delivered: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await admin('__admin/gmail/deliver', { to: DS, from: DO, subject: `incoming ${i}`, text: 'x' });
      delivered.push(String(r.id));
    }
    const h = await dsGmail.historyList(start, { historyTypes: ['messageAdded'], labelId: 'INBOX', maxResults: 1 });
    expect(h.history.flatMap((r) => r.messagesAdded.map((m) => m.id))).toEqual(delivered);
    expect(count('gmail.history.list')).toBeGreaterThanOrEqual(3);
    expect(Number(h.historyId)).toBeGreaterThanOrEqual(Number(start));
    expect(h.historyId).toBe((await dsGmail.getProfile()).historyId);
    // Nothing new since: empty, same historyId.
    const again = await dsGmail.historyList(h.historyId, { historyTypes: ['messageAdded'] });
    expect(again.history).toEqual([]);
    expect(again.historyId).toBe(h.historyId);
  });

  it('maps a 404 from history.list to HistoryTooOldError', async () => {
    const old = (await dsGmail.getProfile()).historyId;
    await admin('__admin/gmail/deliver', { to: DS, from: DO, subject: 'push the floor', text: 'x' });
    await admin('__admin/gmail/history', { email: DS, keep: 0 });
    const err = await dsGmail.historyList(old).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HistoryTooOldError);
    expect(err).toBeInstanceOf(GoogleApiError);
    expect((err as HistoryTooOldError).status).toBe(404);
    expect((err as HistoryTooOldError).startHistoryId).toBe(old);
    expect(count('gmail.history.list')).toBe(1); // 404 is not retried
  });
});

describe('gmail retries', () => {
  it('does not retry messages.send after a 500 (it may have been sent), and gaxios does not either', async () => {
    emu.world.faults.push({ route: 'gmail.messages.send', status: 500, reason: 'backendError' });
    const m = mime();
    const err = await gmail.sendRaw(m.raw).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GoogleApiError);
    expect((err as GoogleApiError).status).toBe(500);
    expect((err as GoogleApiError).route).toBe('gmail.messages.send');
    expect((err as GoogleApiError).attempts).toBe(1);
    expect(count('gmail.messages.send')).toBe(1);
    // The caller can check before resending.
    expect(await gmail.findByRfc822MsgId(m.messageId)).toBeUndefined();
  });

  it('does not retry messages.send after a dropped connection', async () => {
    emu.world.faults.push({ route: 'gmail.messages.send', drop: true });
    const err = await gmail.sendRaw(mime().raw).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GoogleApiError);
    expect((err as GoogleApiError).status).toBeUndefined();
    expect(count('gmail.messages.send')).toBe(1);
  });

  it('retries messages.send after 429 and 503 and sends exactly once', async () => {
    emu.world.faults.push({ route: 'gmail.messages.send', status: 429, reason: 'rateLimitExceeded' }, { route: 'gmail.messages.send', status: 503 });
    const m = mime();
    const sent = await gmail.sendRaw(m.raw);
    expect(count('gmail.messages.send')).toBe(3);
    const page = await gmail.listMessages(rfc822MsgIdQuery(m.messageId));
    expect(page.messages).toEqual([{ id: sent.id, threadId: sent.threadId }]);
  });

  it('retries reads after 500s and dropped connections', async () => {
    const sent = await gmail.sendRaw(mime().raw);
    emu.world.faults.push({ route: 'gmail.messages.get', status: 500 }, { route: 'gmail.messages.get', drop: true });
    expect((await gmail.getMessage(sent.id, 'minimal')).id).toBe(sent.id);
    expect(count('gmail.messages.get')).toBe(3);
  });

  it('gives up after maxAttempts on a persistent 503', async () => {
    const api = apiFor(DO, { baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 3 });
    emu.world.faults.push({ route: 'gmail.profile', status: 503, count: -1 });
    const err = await api.getProfile().catch((e: unknown) => e);
    expect((err as GoogleApiError).status).toBe(503);
    expect((err as GoogleApiError).attempts).toBe(3);
    expect(count('gmail.profile')).toBe(3);
  });

  it('does not retry a 404 and keeps tokens out of the error', async () => {
    const err = await gmail.getMessage('0123456789abcdef').catch((e: unknown) => e);
    expect((err as GoogleApiError).status).toBe(404);
    expect(count('gmail.messages.get')).toBe(1);
    const tokens = [...emu.world.tokens.keys()];
    const dump = inspect(err, { depth: 10, showHidden: true });
    for (const t of tokens) expect(dump).not.toContain(t);
  });
});
