/**
 * In-memory Gmail mailboxes: messages, threads, a per-mailbox history log and the threading rules.
 *
 * - Ids: message ids are 16 hex digits derived from the time (as Gmail's look); a thread's id is the id of its first
 *   message. Ids are per mailbox copy: the recipient's copy of a message has its own id and thread id.
 * - historyId: per mailbox, monotonically increasing, not contiguous ("History IDs increase chronologically but are not
 *   contiguous with random gaps in between valid IDs", users.history.list reference). Every change is one history
 *   record; a message's historyId is the id of the last record that modified it.
 * - History retention: the last `historyLimit` records per mailbox are kept; older `startHistoryId`s get 404
 *   (https://developers.google.com/workspace/gmail/api/guides/sync#limitations).
 * - Threading (https://developers.google.com/workspace/gmail/api/guides/threads#adding_drafts_and_messages_to_threads):
 *   a sent message joins `threadId` only when that thread exists in the sender's mailbox, its Subject matches (ignoring
 *   `Re:`/`Fwd:`), and its `References`/`In-Reply-To` name a message of that thread; otherwise it starts a new thread.
 *   Received mail is threaded the same way without a threadId: it joins the thread of a message it references when
 *   the subjects match (Gmail groups conversations by subject and references).
 */
import type { AddressObject, ParsedMail } from 'mailparser';
import { World } from './core';
import { GmailPart, HeaderField, buildPayload, decodeHeaderValue, getField, messageIds, normalizeSubject, snippetOf, splitMessage } from './gmail-mime';
import type { Searchable } from './gmail-search';

export type HistoryType = 'messageAdded' | 'messageDeleted' | 'labelAdded' | 'labelRemoved';

export interface StoredMessage {
  id: string;
  threadId: string;
  labelIds: string[];
  raw: Buffer;
  internalDate: number;
  historyId: number;
  /** Insertion order across the world (ties of internalDate). */
  seq: number;
  fields: HeaderField[];
  /** Message-ID without the angle brackets, as sent. */
  rfcId: string;
  /** Decoded Subject. */
  subject: string;
  normSubject: string;
  /** Message ids named by In-Reply-To (first) and References (newest first), without brackets. */
  refs: string[];
  snippet: string;
  search: Searchable;
  /** Built on first `format=full` read. */
  payload?: GmailPart;
}

export interface Thread {
  id: string;
  /** Oldest first. */
  messages: StoredMessage[];
}

export interface HistoryRecord {
  id: number;
  type: HistoryType;
  message: StoredMessage;
  /** The message's labels right after this change. */
  labelIds: string[];
  /** For labelAdded/labelRemoved: the labels that changed. */
  changed?: string[];
}

export interface Mailbox {
  email: string;
  historyId: number;
  messages: Map<string, StoredMessage>;
  /** Oldest first by (internalDate, seq). */
  ordered: StoredMessage[];
  threads: Map<string, Thread>;
  /** Lower-case Message-ID → messages carrying it. */
  byRfcId: Map<string, StoredMessage[]>;
  history: HistoryRecord[];
  /** Smallest startHistoryId that history.list still serves; older ones get 404. */
  historyFloor: number;
}

export interface GmailState {
  mailboxes: Map<string, Mailbox>;
  /** History records kept per mailbox (Gmail keeps "at least a week"; tests shrink it to force a 404). */
  historyLimit: number;
  lastId: bigint;
  seq: number;
}

export function gmailState(world: World): GmailState {
  return world.module<GmailState>('gmail', () => ({ mailboxes: new Map(), historyLimit: 1000, lastId: 0n, seq: 0 }));
}

export function mailbox(state: GmailState, email: string): Mailbox {
  const key = email.toLowerCase();
  let mb = state.mailboxes.get(key);
  if (!mb) {
    // Distinct, non-trivial starting points per mailbox, so that one user's historyId is meaningless in another's.
    const start = 1000 * (state.mailboxes.size + 1) + 17;
    mb = { email, historyId: start, messages: new Map(), ordered: [], threads: new Map(), byRfcId: new Map(), history: [], historyFloor: start };
    state.mailboxes.set(key, mb);
  }
  return mb;
}

/** A Gmail-looking message id: the time in ms shifted left by 20 bits, in hex, strictly increasing. */
export function nextMessageId(state: GmailState, now: number): string {
  let id = BigInt(Math.max(0, Math.floor(now))) << 20n;
  if (id <= state.lastId) id = state.lastId + 1n;
  state.lastId = id;
  return id.toString(16);
}

export const MESSAGE_ID_RE = /^[0-9a-f]{1,16}$/i;

function addressText(h: AddressObject | AddressObject[] | undefined): string {
  if (!h) return '';
  const flat = (Array.isArray(h) ? h : [h]).flatMap((o) => o.value).flatMap((a) => (a.group ? a.group : [a]));
  return flat.map((a) => (a.name ? `${a.name} <${a.address ?? ''}>` : a.address ?? '')).join(', ');
}

/** Everything derived from a message's bytes; shared between the sender's copy and recipients' copies. */
export interface MessageFacts {
  fields: HeaderField[];
  rfcId: string;
  subject: string;
  refs: string[];
  from: string;
  to: string;
  cc: string;
  bcc: string;
  body: string;
  hasAttachment: boolean;
}

export function factsOf(raw: Buffer, parsed: ParsedMail): MessageFacts {
  const { fields } = splitMessage(raw);
  const subjectField = getField(fields, 'subject');
  const inReplyTo = messageIds(getField(fields, 'in-reply-to')?.value);
  const references = messageIds(fields.filter((f) => f.name.toLowerCase() === 'references').map((f) => f.value).join(' ')).reverse();
  return {
    fields,
    rfcId: messageIds(getField(fields, 'message-id')?.value)[0] ?? '',
    subject: subjectField ? decodeHeaderValue(subjectField.value) : '',
    refs: [...new Set([...inReplyTo, ...references])],
    from: addressText(parsed.from),
    to: addressText(parsed.to),
    cc: addressText(parsed.cc),
    bcc: addressText(parsed.bcc),
    body: parsed.text ?? '',
    hasAttachment: parsed.attachments.length > 0,
  };
}

export function makeMessage(state: GmailState, mb: Mailbox, raw: Buffer, facts: MessageFacts, opts: { labelIds: string[]; internalDate: number; bcc?: string }): StoredMessage {
  const id = nextMessageId(state, opts.internalDate);
  const labelIds = [...new Set(opts.labelIds)];
  const msg: StoredMessage = {
    id,
    threadId: id,
    labelIds,
    raw,
    internalDate: opts.internalDate,
    historyId: 0,
    seq: ++state.seq,
    fields: facts.fields,
    rfcId: facts.rfcId,
    subject: facts.subject,
    normSubject: normalizeSubject(facts.subject),
    refs: facts.refs,
    snippet: snippetOf(facts.body),
    search: {
      owner: mb.email,
      from: facts.from,
      to: facts.to,
      cc: facts.cc,
      bcc: opts.bcc ?? facts.bcc,
      subject: facts.subject,
      body: facts.body,
      labelIds,
      internalDate: opts.internalDate,
      rfcId: facts.rfcId.toLowerCase(),
      hasAttachment: facts.hasAttachment,
    },
  };
  return msg;
}

/** The next history id of a mailbox: strictly increasing, with gaps. */
function bump(mb: Mailbox): number {
  mb.historyId += 1 + (mb.historyId % 3);
  return mb.historyId;
}

function record(state: GmailState, mb: Mailbox, r: Omit<HistoryRecord, 'id'>): number {
  const id = bump(mb);
  mb.history.push({ id, ...r });
  trimHistory(mb, state.historyLimit);
  return id;
}

/** Keep at most `keep` records; a startHistoryId before the dropped ones then gets 404. */
export function trimHistory(mb: Mailbox, keep: number): void {
  const drop = mb.history.length - Math.max(0, keep);
  if (drop <= 0) return;
  const dropped = mb.history.splice(0, drop);
  mb.historyFloor = Math.max(mb.historyFloor, dropped[dropped.length - 1]!.id);
  if (mb.history.length === 0) mb.historyFloor = Math.max(mb.historyFloor, mb.historyId);
}

const byTime = (a: StoredMessage, b: StoredMessage) => a.internalDate - b.internalDate || a.seq - b.seq;

function insertSorted(arr: StoredMessage[], m: StoredMessage): void {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (byTime(arr[mid]!, m) <= 0) lo = mid + 1;
    else hi = mid;
  }
  arr.splice(lo, 0, m);
}

/** Add a message to a mailbox (its threadId already chosen), with a messageAdded history record. */
export function addMessage(state: GmailState, mb: Mailbox, msg: StoredMessage): void {
  mb.messages.set(msg.id, msg);
  insertSorted(mb.ordered, msg);
  let t = mb.threads.get(msg.threadId);
  if (!t) {
    t = { id: msg.threadId, messages: [] };
    mb.threads.set(t.id, t);
  }
  insertSorted(t.messages, msg);
  if (msg.rfcId) {
    const k = msg.rfcId.toLowerCase();
    const list = mb.byRfcId.get(k);
    if (list) list.push(msg);
    else mb.byRfcId.set(k, [msg]);
  }
  msg.historyId = record(state, mb, { type: 'messageAdded', message: msg, labelIds: [...msg.labelIds] });
}

/** Add/remove labels (users.messages.modify semantics), one history record per kind of change. */
export function modifyLabels(state: GmailState, mb: Mailbox, msg: StoredMessage, add: string[], remove: string[]): void {
  const added = add.filter((l) => !msg.labelIds.includes(l));
  const removed = remove.filter((l) => msg.labelIds.includes(l) && !add.includes(l));
  if (added.length > 0) {
    msg.labelIds.push(...added);
    msg.historyId = record(state, mb, { type: 'labelAdded', message: msg, labelIds: [...msg.labelIds], changed: added });
  }
  if (removed.length > 0) {
    for (const l of removed) msg.labelIds.splice(msg.labelIds.indexOf(l), 1);
    msg.historyId = record(state, mb, { type: 'labelRemoved', message: msg, labelIds: [...msg.labelIds], changed: removed });
  }
}

/** Does `msg` (already parsed) satisfy the subject and references rules for joining `thread`? */
export function canJoin(msg: Pick<StoredMessage, 'normSubject' | 'refs'>, thread: Thread): boolean {
  const subjectOk = thread.messages.some((m) => m.normSubject === msg.normSubject);
  if (!subjectOk) return false;
  const ids = new Set(thread.messages.map((m) => m.rfcId.toLowerCase()).filter(Boolean));
  return msg.refs.some((r) => ids.has(r.toLowerCase()));
}

/** Thread for a message sent with an explicit threadId: that thread if all three rules hold, else a new one. */
export function threadForSend(mb: Mailbox, msg: StoredMessage, requested: string | undefined): string {
  if (requested) {
    const t = mb.threads.get(requested);
    if (t && canJoin(msg, t)) return t.id;
  }
  return msg.id;
}

/** Thread for received mail: the thread of the first referenced message (In-Reply-To first) whose subject matches. */
export function threadForIncoming(mb: Mailbox, msg: StoredMessage): string {
  for (const ref of msg.refs) {
    for (const m of mb.byRfcId.get(ref.toLowerCase()) ?? []) {
      const t = mb.threads.get(m.threadId);
      if (t && canJoin(msg, t)) return t.id;
    }
  }
  return msg.id;
}

export function threadHistoryId(t: Thread): number {
  let h = 0;
  for (const m of t.messages) if (m.historyId > h) h = m.historyId;
  return h;
}

export function payloadOf(msg: StoredMessage): GmailPart {
  if (!msg.payload) msg.payload = buildPayload(msg.raw, { attachmentId: (partId) => attachmentId(msg.id, partId) });
  return msg.payload;
}

/** Attachment ids are opaque in Gmail; here they encode the message id and the part id. */
export function attachmentId(messageId: string, partId: string): string {
  return 'ANGjdJ' + Buffer.from(`${messageId}:${partId}`).toString('base64url');
}

export function parseAttachmentId(id: string): { messageId: string; partId: string } | undefined {
  if (!id.startsWith('ANGjdJ')) return undefined;
  const s = Buffer.from(id.slice(6), 'base64url').toString('utf8');
  const i = s.indexOf(':');
  return i < 0 ? undefined : { messageId: s.slice(0, i), partId: s.slice(i + 1) };
}
