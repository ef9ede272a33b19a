/**
 * Gmail v1 module of the emulator. Reference: https://developers.google.com/workspace/gmail/api/reference/rest
 * Guides: threads (https://developers.google.com/workspace/gmail/api/guides/threads), sync
 * (https://developers.google.com/workspace/gmail/api/guides/sync), search (…/guides/filtering), uploads
 * (…/guides/uploads).
 *
 * Routes (route key → endpoint):
 *   gmail.profile            GET  /gmail/v1/users/{userId}/profile
 *   gmail.messages.send      POST /gmail/v1/users/{userId}/messages/send                 (JSON {raw, threadId?})
 *                            POST /upload/gmail/v1/users/{userId}/messages/send          (uploadType=media|multipart)
 *   gmail.messages.get       GET  /gmail/v1/users/{userId}/messages/{id}
 *   gmail.messages.list      GET  /gmail/v1/users/{userId}/messages
 *   gmail.messages.modify    POST /gmail/v1/users/{userId}/messages/{id}/modify
 *   gmail.attachments.get    GET  /gmail/v1/users/{userId}/messages/{messageId}/attachments/{id}
 *   gmail.threads.get        GET  /gmail/v1/users/{userId}/threads/{id}
 *   gmail.history.list       GET  /gmail/v1/users/{userId}/history
 *   admin.gmail.deliver      POST /__admin/gmail/deliver          (no auth: inject received mail)
 *   admin.gmail.history      POST /__admin/gmail/history          (no auth: history retention / drop)
 *   admin.gmail.mailbox      GET  /__admin/gmail/mailbox?email=   (no auth: mailbox summary for debugging)
 *
 * Admin routes (`/__admin/…`) are not API traffic: they are neither counted nor faulted.
 * `{userId}` is `me` or the authenticated user's own address (anything else: 403 "Delegation denied", as Gmail).
 * Scopes are checked per method as listed in the reference (403 insufficientPermissions otherwise); with only
 * gmail.metadata, `format=full|raw` and `q` are refused as Gmail does.
 */
import { simpleParser, type ParsedMail } from 'mailparser';
import { HttpError, Module, RequestContext, Router, World, errorBody, sendJson } from './core';
import { GmailHeader, field, getField, joinMessage, partData, splitMessage } from './gmail-mime';
import { QueryError, parseQuery } from './gmail-search';
import {
  GmailState, HistoryRecord, HistoryType, Mailbox, MESSAGE_ID_RE, MessageFacts, StoredMessage, addMessage, factsOf, gmailState,
  mailbox, makeMessage, modifyLabels, parseAttachmentId, payloadOf, threadForIncoming, threadForSend, threadHistoryId, trimHistory,
} from './gmail-store';
import { buildMime } from '../../lib/mail/message';

export { gmailState, mailbox } from './gmail-store';
export type { GmailState, Mailbox, StoredMessage } from './gmail-store';

// ---------------------------------------------------------------------------------------------------------------
// Scopes (per method, from the reference's "Authorization scopes" sections)

const FULL = 'https://mail.google.com/';
const G = 'https://www.googleapis.com/auth/gmail.';
const READ_FULL = [FULL, G + 'modify', G + 'readonly', G + 'addons.current.message.action', G + 'addons.current.message.readonly'];
const READ_META = [...READ_FULL, G + 'metadata', G + 'addons.current.message.metadata'];
const SCOPES = {
  profile: [FULL, G + 'compose', G + 'metadata', G + 'modify', G + 'readonly'],
  send: [FULL, G + 'addons.current.action.compose', G + 'compose', G + 'modify', G + 'send'],
  modify: [FULL, G + 'modify'],
  read: READ_META,
  list: [FULL, G + 'metadata', G + 'modify', G + 'readonly'],
  attachments: READ_FULL,
};

function tokenScopes(ctx: RequestContext, world: World): string[] {
  const m = /^Bearer\s+(.+)$/i.exec(String(ctx.req.headers.authorization ?? ''));
  return (m ? world.tokens.get(m[1]!.trim())?.scopes : undefined) ?? [];
}

/** 403 unless the token has one of `anyOf`; returns whether the token is limited to gmail.metadata for reads. */
function requireScope(ctx: RequestContext, world: World, anyOf: string[]): { metadataOnly: boolean } {
  const scopes = tokenScopes(ctx, world);
  if (!scopes.some((s) => anyOf.includes(s))) {
    throw new HttpError(403, 'Request had insufficient authentication scopes.', 'insufficientPermissions', 'PERMISSION_DENIED');
  }
  return { metadataOnly: !scopes.some((s) => READ_FULL.includes(s)) };
}

// ---------------------------------------------------------------------------------------------------------------
// Errors and small parsers

const notFound = () => new HttpError(404, 'Requested entity was not found.', 'notFound');
const invalid = (message: string) => new HttpError(400, message, 'invalidArgument');

function jsonBody(ctx: RequestContext): Record<string, unknown> {
  if (ctx.body.length === 0) return {};
  try {
    const v = JSON.parse(ctx.body.toString('utf8')) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch {
    throw new HttpError(400, 'Invalid JSON payload received.', 'parseError');
  }
}

/** The `bytes` JSON encoding Google accepts: base64 or base64url, padding optional. */
function decodeBytes(s: unknown, fieldName: string): Buffer {
  if (typeof s !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(s) || s.replace(/=+$/, '').length % 4 === 1) {
    throw invalid(`Invalid value at '${fieldName}' (TYPE_BYTES), Base64 decoding failed`);
  }
  return Buffer.from(s, 'base64');
}

function intParam(ctx: RequestContext, name: string, def: number, max: number): number {
  const v = ctx.url.searchParams.get(name);
  if (v === null || v === '') return def;
  if (!/^\d+$/.test(v)) throw invalid(`Invalid value for ${name}: ${v}`);
  return Math.min(Number(v), max);
}

function boolParam(ctx: RequestContext, name: string): boolean {
  return ctx.url.searchParams.get(name) === 'true';
}

function encodeToken(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

function decodeToken<T>(s: string, check: (v: unknown) => v is T): T {
  try {
    const v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as unknown;
    if (check(v)) return v;
  } catch {
    /* fall through */
  }
  throw invalid('Invalid pageToken');
}

const isPair = (v: unknown): v is [number, number] => Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number');
const isNumber = (v: unknown): v is number => typeof v === 'number';

// ---------------------------------------------------------------------------------------------------------------
// Rendering (users.messages resource)

type Format = 'full' | 'metadata' | 'minimal' | 'raw';

function formatParam(ctx: RequestContext, metadataOnly: boolean): Format {
  const f = (ctx.url.searchParams.get('format') ?? 'full').toLowerCase();
  if (f !== 'full' && f !== 'metadata' && f !== 'minimal' && f !== 'raw') throw invalid(`Invalid value for format: ${f}`);
  if (metadataOnly && (f === 'full' || f === 'raw')) {
    throw new HttpError(403, `Metadata scope doesn't allow format ${f.toUpperCase()}`, 'forbidden', 'PERMISSION_DENIED');
  }
  return f;
}

function render(m: StoredMessage, format: Format, metadataHeaders: string[]): Record<string, unknown> {
  const base: Record<string, unknown> = {
    id: m.id,
    threadId: m.threadId,
    labelIds: [...m.labelIds],
    snippet: m.snippet,
    sizeEstimate: m.raw.length,
    historyId: String(m.historyId),
    internalDate: String(m.internalDate),
  };
  if (format === 'minimal') return base;
  if (format === 'raw') return { ...base, raw: m.raw.toString('base64url') };
  const payload = payloadOf(m);
  if (format === 'metadata') {
    const want = new Set(metadataHeaders.map((h) => h.toLowerCase()));
    const headers: GmailHeader[] = want.size === 0 ? payload.headers : payload.headers.filter((h) => want.has(h.name.toLowerCase()));
    return { ...base, payload: { partId: payload.partId, mimeType: payload.mimeType, filename: payload.filename, headers } };
  }
  return { ...base, payload };
}

// ---------------------------------------------------------------------------------------------------------------
// Sending and delivery

const PARSE_OPTS = { skipTextToHtml: true, skipImageLinks: true, skipTextLinks: true, keepCidLinks: true } as const;

async function parseMime(raw: Buffer): Promise<ParsedMail> {
  try {
    return await simpleParser(raw, PARSE_OPTS);
  } catch (e) {
    throw invalid(`Invalid RFC 2822 message: ${(e as Error).message}`);
  }
}

function recipients(parsed: ParsedMail): { all: string[]; bad: boolean } {
  const list = [parsed.to, parsed.cc, parsed.bcc].flatMap((h) => (h ? (Array.isArray(h) ? h : [h]) : []));
  const addrs = list.flatMap((o) => o.value).flatMap((a) => (a.group ? a.group : [a]));
  const all: string[] = [];
  let bad = false;
  for (const a of addrs) {
    const addr = (a.address ?? '').trim();
    if (!/^[^\s@]+@[^\s@]+$/.test(addr)) bad = true;
    else all.push(addr.toLowerCase());
  }
  return { all: [...new Set(all)], bad };
}

/** Gmail's Message-ID style for messages it has to number itself. */
function gmailMessageId(state: GmailState): string {
  return `<CAemu${(++state.seq).toString(36)}${Date.now().toString(36)}@mail.gmail.com>`;
}

/**
 * What Gmail does to an outgoing message before storing/sending it: a missing Date or Message-ID is added (a
 * client-supplied Message-ID is kept), and From is set to the authenticated address when it is missing or names
 * another address (there are no send-as aliases here); the display name is kept.
 */
function prepareOutgoing(raw: Buffer, parsed: ParsedMail, sender: string, state: GmailState, now: number): Buffer {
  const { fields, body, eol } = splitMessage(raw);
  let changed = false;
  const fromAddr = parsed.from?.value[0]?.address?.toLowerCase();
  if (fromAddr !== sender.toLowerCase()) {
    const name = parsed.from?.value[0]?.name ?? '';
    const phrase = name === '' ? '' : /^[\x20-\x7e]*$/.test(name)
      ? (/^[\w !#$%&'*+\-/=?^`{|}~]+$/.test(name) ? name : `"${name.replace(/(["\\])/g, '\\$1')}"`)
      : `=?UTF-8?B?${Buffer.from(name, 'utf8').toString('base64')}?=`;
    const i = fields.findIndex((f) => f.name.toLowerCase() === 'from');
    const f = field('From', phrase ? `${phrase} <${sender}>` : sender);
    if (i >= 0) fields[i] = f;
    else fields.unshift(f);
    changed = true;
  }
  if (!getField(fields, 'message-id')) {
    fields.push(field('Message-ID', gmailMessageId(state)));
    changed = true;
  }
  if (!getField(fields, 'date')) {
    fields.unshift(field('Date', new Date(now).toUTCString().replace('GMT', '+0000')));
    changed = true;
  }
  return changed ? joinMessage(fields, body, eol) : raw;
}

/** The copy a recipient gets: Bcc removed (RFC 5322 §3.6.3), Delivered-To added on top. */
function recipientCopy(raw: Buffer, to: string): Buffer {
  const { fields, body, eol } = splitMessage(raw);
  const kept = fields.filter((f) => f.name.toLowerCase() !== 'bcc');
  return joinMessage([field('Delivered-To', to), ...kept], body, eol);
}

export interface DeliverResult {
  id: string;
  threadId: string;
  historyId: string;
  messageId: string;
}

/** Put a received message into `to`'s mailbox, threaded as Gmail threads received mail. */
export function deliverParsed(
  world: World,
  to: string,
  raw: Buffer,
  facts: MessageFacts,
  opts: { labelIds?: string[]; threadId?: string; bcc?: string } = {},
): DeliverResult {
  const state = gmailState(world);
  const mb = mailbox(state, to);
  const msg = makeMessage(state, mb, raw, facts, { labelIds: opts.labelIds ?? ['INBOX', 'UNREAD'], internalDate: world.now(), bcc: opts.bcc });
  if (opts.threadId !== undefined) {
    if (!mb.threads.has(opts.threadId)) throw notFound();
    msg.threadId = opts.threadId;
  } else {
    msg.threadId = threadForIncoming(mb, msg);
  }
  addMessage(state, mb, msg);
  return { id: msg.id, threadId: msg.threadId, historyId: String(msg.historyId), messageId: msg.rfcId };
}

/**
 * Received mail without a Message-ID gets one on the way in, as the sender's submission server would normally have
 * added (RFC 6409 §8.3, "Add 'Message-ID:'"): `<…@emulator.local>`, after the other header fields. So every message
 * in a mailbox can be found with `rfc822msgid:` and replied to with In-Reply-To.
 */
function ensureMessageId(raw: Buffer, state: GmailState): Buffer {
  const { fields, body, eol } = splitMessage(raw);
  if (getField(fields, 'message-id')) return raw;
  const id = `<emu.${(++state.seq).toString(36)}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 10)}@emulator.local>`;
  return joinMessage([...fields, field('Message-ID', id)], body, eol);
}

/**
 * Deliver raw message bytes into a user's mailbox (in-process equivalent of `POST /__admin/gmail/deliver`); a
 * message without a Message-ID gets one (see {@link ensureMessageId}) and `messageId` in the result names it.
 */
export async function deliver(world: World, to: string, raw: Buffer, opts: { labelIds?: string[]; threadId?: string } = {}): Promise<DeliverResult> {
  const withId = ensureMessageId(raw, gmailState(world));
  const parsed = await parseMime(withId);
  return deliverParsed(world, to, withId, factsOf(withId, parsed), opts);
}

async function send(ctx: RequestContext, world: World, raw: Buffer, threadId: string | undefined): Promise<void> {
  requireScope(ctx, world, SCOPES.send);
  const state = gmailState(world);
  const sender = ctx.user.email;
  if (raw.length === 0) throw invalid("'raw' RFC822 payload message string or uploading message via /upload/* URL required");
  if (threadId !== undefined) {
    // The threads guide lists when a message joins the thread named by `threadId` (References/In-Reply-To and
    // Subject must match, see threadForSend); it does not document a `threadId` that is not a thread of the
    // sender's mailbox. Gmail answers that with 404 "Requested entity was not found." (the error reported when a
    // client sends with the *recipient's* thread id, or a thread that was deleted), and a malformed id with 400
    // "Invalid thread_id value". Nothing is sent in either case.
    if (!MESSAGE_ID_RE.test(threadId)) throw invalid('Invalid thread_id value');
    if (!mailbox(state, sender).threads.has(threadId.toLowerCase())) throw notFound();
    threadId = threadId.toLowerCase();
  }
  const parsed0 = await parseMime(raw);
  const rcpt = recipients(parsed0);
  if (rcpt.bad) throw invalid('Invalid To header');
  if (rcpt.all.length === 0) throw invalid('Recipient address required');
  const now = world.now();
  const out = prepareOutgoing(raw, parsed0, sender, state, now);
  const parsed = out === raw ? parsed0 : await parseMime(out);
  const facts = factsOf(out, parsed);

  const mb = mailbox(state, sender);
  const self = rcpt.all.includes(sender.toLowerCase());
  // Mail to oneself is one message carrying both SENT and INBOX.
  const msg = makeMessage(state, mb, out, facts, { labelIds: self ? ['SENT', 'INBOX', 'UNREAD'] : ['SENT'], internalDate: now });
  msg.threadId = threadForSend(mb, msg, threadId);
  addMessage(state, mb, msg);

  // Delivery to the emulator's own users; everyone else is "the internet" and silently accepted.
  for (const r of rcpt.all) {
    if (r === sender.toLowerCase()) continue;
    const user = [...world.users.keys()].find((u) => u.toLowerCase() === r);
    if (!user) continue;
    const copy = recipientCopy(out, user);
    deliverParsed(world, user, copy, { ...facts, fields: splitMessage(copy).fields }, { bcc: '' });
  }
  sendJson(ctx.res, 200, { id: msg.id, threadId: msg.threadId, labelIds: [...msg.labelIds] });
}

// ---------------------------------------------------------------------------------------------------------------
// Module

/** messages.list counts every match exactly up to this many candidate messages. */
const EXACT_COUNT_LIMIT = 2000;

const SYSTEM_LABELS = new Set(['INBOX', 'SPAM', 'TRASH', 'UNREAD', 'STARRED', 'IMPORTANT', 'SENT', 'DRAFT', 'CHAT',
  'CATEGORY_PERSONAL', 'CATEGORY_SOCIAL', 'CATEGORY_PROMOTIONS', 'CATEGORY_UPDATES', 'CATEGORY_FORUMS']);
const HISTORY_TYPES = new Set<HistoryType>(['messageAdded', 'messageDeleted', 'labelAdded', 'labelRemoved']);

export const gmailModule: Module = (router: Router, world: World) => {
  const state = () => gmailState(world);

  /** The mailbox of `{userId}`: `me` or the caller's own address. */
  const box = (ctx: RequestContext): Mailbox => {
    const uid = ctx.params.userId ?? 'me';
    if (uid !== 'me' && uid.toLowerCase() !== ctx.user.email.toLowerCase()) {
      throw new HttpError(403, `Delegation denied for ${ctx.user.email}`, 'forbidden', 'PERMISSION_DENIED');
    }
    return mailbox(state(), ctx.user.email);
  };

  const getMessage = (mb: Mailbox, id: string): StoredMessage => {
    if (!MESSAGE_ID_RE.test(id)) throw invalid('Invalid id value');
    const m = mb.messages.get(id.toLowerCase());
    if (!m) throw notFound();
    return m;
  };

  // https://developers.google.com/workspace/gmail/api/reference/rest/v1/users/getProfile
  router.add('gmail.profile', 'GET', '/gmail/v1/users/:userId/profile', (ctx) => {
    requireScope(ctx, world, SCOPES.profile);
    const mb = box(ctx);
    sendJson(ctx.res, 200, { emailAddress: ctx.user.email, messagesTotal: mb.messages.size, threadsTotal: mb.threads.size, historyId: String(mb.historyId) });
  });

  // https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages/send
  router.add('gmail.messages.send', 'POST', '/gmail/v1/users/:userId/messages/send', async (ctx) => {
    box(ctx);
    const b = jsonBody(ctx);
    if (b.raw === undefined || b.raw === '') throw invalid("'raw' RFC822 payload message string or uploading message via /upload/* URL required");
    const threadId = typeof b.threadId === 'string' && b.threadId !== '' ? b.threadId : undefined;
    await send(ctx, world, decodeBytes(b.raw, 'message.raw'), threadId);
  });

  // Media upload (https://developers.google.com/workspace/gmail/api/guides/uploads): `uploadType=media` with a
  // message/rfc822 body, or `multipart` (multipart/related: JSON metadata, then the message).
  router.add('gmail.messages.send', 'POST', '/upload/gmail/v1/users/:userId/messages/send', async (ctx) => {
    box(ctx);
    const uploadType = ctx.url.searchParams.get('uploadType') ?? '';
    const ctype = String(ctx.req.headers['content-type'] ?? '');
    if (uploadType === 'media') {
      if (!/^message\//i.test(ctype)) throw invalid(`Media type '${ctype}' is not supported. Valid media types: [message/*]`);
      return send(ctx, world, ctx.body, undefined);
    }
    if (uploadType === 'multipart') {
      const boundary = /boundary="?([^";]+)"?/i.exec(ctype)?.[1];
      if (!/^multipart\/related/i.test(ctype) || !boundary) throw invalid('Multipart upload needs a multipart/related body with a boundary');
      const parts = splitRelated(ctx.body, boundary);
      const meta = parts[0];
      const media = parts[1];
      if (!meta || !media) throw invalid('Multipart upload needs a metadata part and a media part');
      let threadId: string | undefined;
      if (meta.body.length > 0) {
        let j: unknown;
        try {
          j = JSON.parse(meta.body.toString('utf8'));
        } catch {
          throw new HttpError(400, 'Invalid JSON payload received.', 'parseError');
        }
        const t = (j as { threadId?: unknown } | null)?.threadId;
        if (typeof t === 'string' && t !== '') threadId = t;
      }
      const mediaType = getField(media.fields, 'content-type')?.value ?? '';
      if (!/^message\//i.test(mediaType)) throw invalid(`Media type '${mediaType}' is not supported. Valid media types: [message/*]`);
      return send(ctx, world, media.body, threadId);
    }
    throw invalid(`Invalid uploadType: '${uploadType}' (the emulator supports media and multipart)`);
  });

  // https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages/get
  router.add('gmail.messages.get', 'GET', '/gmail/v1/users/:userId/messages/:id', (ctx) => {
    const { metadataOnly } = requireScope(ctx, world, SCOPES.read);
    const format = formatParam(ctx, metadataOnly);
    const m = getMessage(box(ctx), ctx.params.id!);
    sendJson(ctx.res, 200, render(m, format, ctx.url.searchParams.getAll('metadataHeaders')));
  });

  // https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages/list
  router.add('gmail.messages.list', 'GET', '/gmail/v1/users/:userId/messages', (ctx) => {
    const { metadataOnly } = requireScope(ctx, world, SCOPES.list);
    const mb = box(ctx);
    const sp = ctx.url.searchParams;
    const q = sp.get('q') ?? '';
    if (metadataOnly && q.trim() !== '') throw new HttpError(403, "Metadata scope does not support 'q' parameter", 'forbidden', 'PERMISSION_DENIED');
    const maxResults = intParam(ctx, 'maxResults', 100, 500) || 100;
    const labelIds = sp.getAll('labelIds');
    let query;
    try {
      query = parseQuery(q, world.now());
    } catch (e) {
      if (e instanceof QueryError) throw invalid(e.message);
      throw e;
    }
    const spamTrash = boolParam(ctx, 'includeSpamTrash') || query.includesSpamTrash || labelIds.includes('SPAM') || labelIds.includes('TRASH');
    const token = sp.get('pageToken');
    const after = token ? decodeToken(token, isPair) : undefined;
    const pool = query.rfc822msgid !== undefined ? [...(mb.byRfcId.get(query.rfc822msgid) ?? [])].sort((a, b) => a.internalDate - b.internalDate || a.seq - b.seq) : mb.ordered;
    const page: StoredMessage[] = [];
    let total = 0;
    let more = false;
    let scanned = 0;
    for (let i = pool.length - 1; i >= 0; i--) {
      // resultSizeEstimate is an estimate in Gmail too: exact for small mailboxes; in big ones the scan stops once the
      // page is full and the rest is extrapolated, which keeps deep mailboxes fast.
      if (more && pool.length > EXACT_COUNT_LIMIT) break;
      scanned++;
      const m = pool[i]!;
      if (!spamTrash && (m.labelIds.includes('SPAM') || m.labelIds.includes('TRASH'))) continue;
      if (!labelIds.every((l) => m.labelIds.includes(l))) continue;
      if (!query.match(m.search)) continue;
      total++;
      // Newest first; the page token is the (internalDate, seq) of the last message returned.
      if (after && (m.internalDate > after[0] || (m.internalDate === after[0] && m.seq >= after[1]))) continue;
      if (page.length < maxResults) page.push(m);
      else more = true;
    }
    const last = page[page.length - 1];
    sendJson(ctx.res, 200, {
      ...(page.length > 0 ? { messages: page.map((m) => ({ id: m.id, threadId: m.threadId })) } : {}),
      ...(more && last ? { nextPageToken: encodeToken([last.internalDate, last.seq]) } : {}),
      resultSizeEstimate: scanned === pool.length ? total : Math.round((total / scanned) * pool.length),
    });
  });

  // https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages/modify
  router.add('gmail.messages.modify', 'POST', '/gmail/v1/users/:userId/messages/:id/modify', (ctx) => {
    requireScope(ctx, world, SCOPES.modify);
    const mb = box(ctx);
    const m = getMessage(mb, ctx.params.id!);
    const b = jsonBody(ctx);
    const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
    const add = list(b.addLabelIds);
    const remove = list(b.removeLabelIds);
    for (const l of [...add, ...remove]) if (!SYSTEM_LABELS.has(l)) throw invalid(`Invalid label: ${l}`);
    for (const l of add) if (l === 'SENT' || l === 'DRAFT') throw invalid(`Invalid label: ${l}`);
    modifyLabels(state(), mb, m, add, remove);
    sendJson(ctx.res, 200, render(m, 'minimal', []));
  });

  // https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages.attachments/get
  router.add('gmail.attachments.get', 'GET', '/gmail/v1/users/:userId/messages/:messageId/attachments/:id', (ctx) => {
    requireScope(ctx, world, SCOPES.attachments);
    const m = getMessage(box(ctx), ctx.params.messageId!);
    const ref = parseAttachmentId(ctx.params.id!);
    if (!ref || ref.messageId !== m.id) throw invalid('Invalid attachment token');
    const data = partData(m.raw, ref.partId);
    if (!data) throw notFound();
    sendJson(ctx.res, 200, { attachmentId: ctx.params.id, size: data.length, data: data.toString('base64url') });
  });

  // https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.threads/get
  router.add('gmail.threads.get', 'GET', '/gmail/v1/users/:userId/threads/:id', (ctx) => {
    const { metadataOnly } = requireScope(ctx, world, SCOPES.read);
    const format = formatParam(ctx, metadataOnly);
    const mb = box(ctx);
    const id = ctx.params.id!;
    if (!MESSAGE_ID_RE.test(id)) throw invalid('Invalid id value');
    const t = mb.threads.get(id.toLowerCase());
    if (!t) throw notFound();
    const headers = ctx.url.searchParams.getAll('metadataHeaders');
    sendJson(ctx.res, 200, { id: t.id, historyId: String(threadHistoryId(t)), messages: t.messages.map((m) => render(m, format, headers)) });
  });

  // https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.history/list
  router.add('gmail.history.list', 'GET', '/gmail/v1/users/:userId/history', (ctx) => {
    requireScope(ctx, world, SCOPES.list);
    const mb = box(ctx);
    const sp = ctx.url.searchParams;
    const startRaw = sp.get('startHistoryId');
    if (startRaw === null || startRaw === '') throw new HttpError(400, 'Required parameter: startHistoryId', 'required');
    if (!/^\d+$/.test(startRaw)) throw invalid(`Invalid startHistoryId: ${startRaw}`);
    const start = Number(startRaw);
    // Sync guide: "If you receive an HTTP 404 error response, your application should perform a full sync."
    if (start < mb.historyFloor) throw notFound();
    const types = sp.getAll('historyTypes');
    for (const t of types) if (!HISTORY_TYPES.has(t as HistoryType)) throw invalid(`Invalid value for historyTypes: ${t}`);
    const labelId = sp.get('labelId');
    const maxResults = intParam(ctx, 'maxResults', 100, 500) || 100;
    const token = sp.get('pageToken');
    const after = Math.max(start, token ? decodeToken(token, isNumber) : 0);

    // First record with id > after (records are in id order).
    let lo = 0;
    let hi = mb.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (mb.history[mid]!.id <= after) lo = mid + 1;
      else hi = mid;
    }
    const out: HistoryRecord[] = [];
    let more = false;
    for (let i = lo; i < mb.history.length; i++) {
      const r = mb.history[i]!;
      if (types.length > 0 && !types.includes(r.type)) continue;
      if (labelId !== null && !r.labelIds.includes(labelId) && !(r.changed ?? []).includes(labelId)) continue;
      if (out.length === maxResults) {
        more = true;
        break;
      }
      out.push(r);
    }
    const last = out[out.length - 1];
    sendJson(ctx.res, 200, {
      ...(out.length > 0 ? { history: out.map(renderHistory) } : {}),
      ...(more && last ? { nextPageToken: encodeToken(last.id) } : {}),
      historyId: String(mb.historyId),
    });
  });

  /**
   * Inject received mail: `{to, raw}` (raw = base64url RFC 822 bytes, as Gmail's) or the convenience form
   * `{to, from, subject, text, html?, inReplyTo?, references?, messageId?}` built with lib/mail/message.ts;
   * optional `threadId` (force that thread of the recipient's mailbox) and `labelIds` (default INBOX, UNREAD).
   * A raw message without Message-ID gets `<…@emulator.local>`. → `{id, threadId, historyId, messageId}`
   * (`messageId` without the angle brackets).
   */
  router.add('admin.gmail.deliver', 'POST', '/__admin/gmail/deliver', async (ctx) => {
    const b = jsonBody(ctx);
    const to = typeof b.to === 'string' ? b.to : '';
    const user = [...world.users.keys()].find((u) => u.toLowerCase() === to.toLowerCase());
    if (!to) throw invalid('to is required');
    if (!user) throw new HttpError(404, `No emulated user ${to}`, 'notFound');
    let raw: Buffer;
    if (b.raw !== undefined) {
      raw = decodeBytes(b.raw, 'raw');
    } else {
      if (typeof b.from !== 'string' || typeof b.subject !== 'string') throw invalid('Either raw, or from + subject (+ text) is required');
      const refs = Array.isArray(b.references) ? b.references.map(String) : typeof b.references === 'string' ? b.references.split(/\s+/).filter(Boolean) : undefined;
      const inReplyTo = typeof b.inReplyTo === 'string' ? b.inReplyTo : undefined;
      try {
        raw = Buffer.from(buildMime({
          from: b.from,
          to: [user],
          subject: b.subject,
          text: typeof b.text === 'string' ? b.text : '',
          ...(typeof b.html === 'string' ? { html: b.html } : {}),
          ...(typeof b.messageId === 'string' ? { messageId: b.messageId } : {}),
          ...(inReplyTo !== undefined ? { inReplyTo } : {}),
          // Mail clients set References with In-Reply-To (RFC 5322 §3.6.4); do the same when only one was given.
          ...(refs !== undefined ? { references: refs } : inReplyTo !== undefined ? { references: [inReplyTo] } : {}),
        }, { now: new Date(world.now()), hostname: b.from.split('@').pop()?.replace(/>.*$/, '') || 'mail.example.org' }).raw, 'utf8');
      } catch (e) {
        throw invalid((e as Error).message);
      }
    }
    const labelIds = Array.isArray(b.labelIds) ? b.labelIds.map(String) : undefined;
    const threadId = typeof b.threadId === 'string' ? b.threadId : undefined;
    const r = await deliver(world, user, raw, { ...(labelIds ? { labelIds } : {}), ...(threadId !== undefined ? { threadId } : {}) });
    sendJson(ctx.res, 200, r);
  }, { auth: false });

  /**
   * History retention: `{email, keep?, limit?}`. `keep: N` drops all but the last N records of that mailbox (0 =
   * all: any earlier startHistoryId then gets 404); `limit: N` sets the per-mailbox retention for every mailbox.
   * → `{historyId, oldestValidStartHistoryId, records}`.
   */
  router.add('admin.gmail.history', 'POST', '/__admin/gmail/history', (ctx) => {
    const b = jsonBody(ctx);
    const st = state();
    if (typeof b.limit === 'number') st.historyLimit = b.limit;
    if (typeof b.email !== 'string') {
      if (typeof b.limit !== 'number') throw invalid('email is required');
      for (const mb of st.mailboxes.values()) trimHistory(mb, st.historyLimit);
      return sendJson(ctx.res, 200, { historyLimit: st.historyLimit });
    }
    const mb = mailbox(st, b.email);
    trimHistory(mb, typeof b.keep === 'number' ? b.keep : st.historyLimit);
    sendJson(ctx.res, 200, { historyId: String(mb.historyId), oldestValidStartHistoryId: String(mb.historyFloor), records: mb.history.length });
  }, { auth: false });

  router.add('admin.gmail.mailbox', 'GET', '/__admin/gmail/mailbox', (ctx) => {
    const email = ctx.url.searchParams.get('email') ?? '';
    const mb = state().mailboxes.get(email.toLowerCase());
    if (!mb) {
      sendJson(ctx.res, 404, errorBody(404, `No mailbox for ${email}`, 'notFound'));
      return;
    }
    sendJson(ctx.res, 200, {
      email: mb.email,
      historyId: String(mb.historyId),
      messages: mb.ordered.map((m) => ({
        id: m.id, threadId: m.threadId, labelIds: m.labelIds, messageId: m.rfcId, subject: m.subject,
        from: m.search.from, to: m.search.to, internalDate: String(m.internalDate), historyId: String(m.historyId),
      })),
    });
  }, { auth: false });
};

function renderHistory(r: HistoryRecord): Record<string, unknown> {
  const ref = { id: r.message.id, threadId: r.message.threadId };
  const withLabels = { ...ref, labelIds: r.labelIds };
  const out: Record<string, unknown> = { id: String(r.id), messages: [ref] };
  if (r.type === 'messageAdded') out.messagesAdded = [{ message: withLabels }];
  else if (r.type === 'messageDeleted') out.messagesDeleted = [{ message: ref }];
  else if (r.type === 'labelAdded') out.labelsAdded = [{ message: withLabels, labelIds: r.changed ?? [] }];
  else out.labelsRemoved = [{ message: withLabels, labelIds: r.changed ?? [] }];
  return out;
}

/** Parts of a multipart/related upload body: each with its header fields and content. */
function splitRelated(body: Buffer, boundary: string): { fields: ReturnType<typeof splitMessage>['fields']; body: Buffer }[] {
  const delim = Buffer.from('--' + boundary);
  const out: { fields: ReturnType<typeof splitMessage>['fields']; body: Buffer }[] = [];
  let pos = body.indexOf(delim);
  while (pos >= 0) {
    let start = pos + delim.length;
    if (body[start] === 0x2d && body[start + 1] === 0x2d) break; // closing delimiter
    if (body[start] === 0x0d) start++;
    if (body[start] === 0x0a) start++;
    const next = body.indexOf(delim, start);
    if (next < 0) break;
    let end = next;
    if (body[end - 1] === 0x0a) end--;
    if (body[end - 1] === 0x0d) end--;
    const part = splitMessage(body.subarray(start, end));
    out.push({ fields: part.fields, body: part.body });
    pos = next;
  }
  return out;
}
