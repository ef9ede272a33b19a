/**
 * Typed Gmail v1 calls (syftbox-protocol.md §5.1, node-ecosystem.md §B.3), each through {@link withRetry} with
 * gaxios' own retries off and `callOptions(env)` on every call. `messages.send` is the only non-idempotent call:
 * it is retried only when the request provably was not processed (see retry.ts); after any other failure the
 * caller should ask {@link GmailApi.findByRfc822MsgId} whether the message went out before sending it again.
 *
 * Loading this module does not load `@googleapis/gmail`; the client is created on the first call.
 */
import type { gmail_v1 } from '@googleapis/gmail';
import type { OAuth2Client } from 'google-auth-library';
import { callOptions, makeGmail, reauthorizer, currentAccessToken } from './clients';
import { gaxiosNoRetry, GoogleApiError, RetryPolicy, withRetry } from './retry';
import { toGmailRaw } from '../mail/message';

export interface GmailApiOptions {
  env?: NodeJS.ProcessEnv;
  retry?: Partial<RetryPolicy>;
}

export type MessageFormat = 'minimal' | 'full' | 'raw' | 'metadata';

export interface MessageRef {
  id: string;
  threadId: string;
}

export interface GmailHeader {
  name: string;
  value: string;
}

export interface GmailMessage {
  id: string;
  threadId: string;
  labelIds: string[];
  historyId?: string;
  /** ms since the epoch. */
  internalDate?: number;
  snippet?: string;
  sizeEstimate?: number;
  /** Top-level headers in order (formats `full` and `metadata`). */
  headers: GmailHeader[];
  /** The MIME tree (format `full`). */
  payload?: gmail_v1.Schema$MessagePart;
  /** The RFC 5322 bytes (format `raw`). */
  raw?: Buffer;
}

export interface GmailThread {
  id: string;
  historyId?: string;
  messages: GmailMessage[];
}

export interface GmailProfile {
  emailAddress: string;
  historyId: string;
  messagesTotal?: number;
  threadsTotal?: number;
}

export type HistoryType = 'messageAdded' | 'messageDeleted' | 'labelAdded' | 'labelRemoved';

export interface HistoryRecord {
  id: string;
  messagesAdded: MessageRef[];
  messagesDeleted: MessageRef[];
  labelsAdded: Array<MessageRef & { labelIds: string[] }>;
  labelsRemoved: Array<MessageRef & { labelIds: string[] }>;
}

export interface ListMessagesOptions {
  labelIds?: string[];
  /** Per page (Gmail's default 100, max 500). */
  maxResults?: number;
  pageToken?: string;
  includeSpamTrash?: boolean;
}

/**
 * `users.history.list` answered 404: the start history id is older than Gmail keeps (typically about a week), so
 * the caller must do a full sync (`messages.list`) and restart from a fresh `historyId` (Gmail sync guide).
 */
export class HistoryTooOldError extends GoogleApiError {
  constructor(readonly startHistoryId: string, cause: GoogleApiError) {
    super({ route: cause.route, status: 404, reason: cause.reason ?? 'notFound', message: `startHistoryId ${startHistoryId} is too old; do a full sync` });
    this.name = 'HistoryTooOldError';
    this.attempts = cause.attempts;
  }
}

/** The first header with this name (case-insensitive). */
export function headerValue(msg: Pick<GmailMessage, 'headers'>, name: string): string | undefined {
  const n = name.toLowerCase();
  return msg.headers.find((h) => h.name.toLowerCase() === n)?.value;
}

function ref(m: { id?: string | null; threadId?: string | null } | undefined): MessageRef | undefined {
  return m?.id ? { id: m.id, threadId: m.threadId ?? '' } : undefined;
}

export function toGmailMessage(m: gmail_v1.Schema$Message): GmailMessage {
  if (!m.id) throw new TypeError('Gmail returned a message without an id');
  const out: GmailMessage = {
    id: m.id,
    threadId: m.threadId ?? '',
    labelIds: m.labelIds ?? [],
    headers: (m.payload?.headers ?? []).map((h) => ({ name: h.name ?? '', value: h.value ?? '' })),
  };
  if (m.historyId) out.historyId = m.historyId;
  if (m.internalDate) out.internalDate = Number(m.internalDate);
  if (m.snippet !== undefined && m.snippet !== null) out.snippet = m.snippet;
  if (m.sizeEstimate !== undefined && m.sizeEstimate !== null) out.sizeEstimate = m.sizeEstimate;
  if (m.payload) out.payload = m.payload;
  if (m.raw) out.raw = Buffer.from(m.raw, 'base64url');
  return out;
}

/**
 * A Message-ID as a Gmail `rfc822msgid:` search term. Gmail's search syntax has no escaping, so ids with characters
 * that mean something there (quotes, parentheses, braces, whitespace) are refused rather than searched wrongly.
 */
export function rfc822MsgIdQuery(messageId: string): string {
  const bare = messageId.trim().replace(/^<(.*)>$/, '$1');
  if (!/^[A-Za-z0-9.!#$%&'*+/=?^_`|~-]+@[A-Za-z0-9.!#$%&'*+/=?^_`|~\[\]-]+$/.test(bare)) {
    throw new TypeError(`not a searchable Message-ID: ${JSON.stringify(messageId)}`);
  }
  return `rfc822msgid:${bare}`;
}

export interface GmailApi {
  /** `users.getProfile` (e-mail address and the current historyId). */
  getProfile(): Promise<GmailProfile>;
  /** `users.messages.send` with `raw` = base64url(mime). Non-idempotent: see the module comment. */
  sendRaw(mime: string | Buffer, opts?: { threadId?: string }): Promise<MessageRef & { labelIds: string[] }>;
  getMessage(id: string, format?: MessageFormat, metadataHeaders?: string[]): Promise<GmailMessage>;
  /** One page of `users.messages.list`. */
  listMessages(q: string, opts?: ListMessagesOptions): Promise<{ messages: MessageRef[]; nextPageToken?: string; resultSizeEstimate?: number }>;
  /** Every message matching `q`, across all pages (each page retried on its own). */
  iterateMessages(q: string, opts?: Omit<ListMessagesOptions, 'pageToken'>): AsyncGenerator<MessageRef>;
  /**
   * The message (sent or received, trash and spam included) whose Message-ID header is `messageId`, if any. Gmail's
   * search index can lag a freshly sent message by a few seconds, so "not found" right after a send is not proof.
   */
  findByRfc822MsgId(messageId: string): Promise<MessageRef | undefined>;
  getThread(id: string, format?: Exclude<MessageFormat, 'raw'>, metadataHeaders?: string[]): Promise<GmailThread>;
  /** `users.history.list` from `startHistoryId` to the end (all pages). 404 → {@link HistoryTooOldError}. */
  historyList(startHistoryId: string, opts?: { historyTypes?: HistoryType[]; labelId?: string; maxResults?: number }): Promise<{ history: HistoryRecord[]; historyId: string }>;
}

export function createGmailApi(auth: OAuth2Client, opts: GmailApiOptions = {}): GmailApi {
  const env = opts.env ?? process.env;
  const retryPolicy = opts.retry ?? {};
  const rootOpts = callOptions(env);
  let client: gmail_v1.Gmail | undefined;
  const gmail = (): gmail_v1.Gmail => (client ??= makeGmail(auth, env));
  const call = (timeoutMs: number) => ({ ...rootOpts, ...gaxiosNoRetry(), timeout: timeoutMs });
  const reauth = reauthorizer(auth);
  const run = <T>(route: string, idempotent: boolean, fn: (timeoutMs: number) => Promise<T>): Promise<T> => {
    let tokenAtStart: string | null | undefined;
    return withRetry(
      ({ timeoutMs }) => {
        tokenAtStart = currentAccessToken(auth);
        return fn(timeoutMs);
      },
      { ...retryPolicy, route, idempotent, onUnauthorized: () => reauth(tokenAtStart) },
    );
  };

  async function listMessages(q: string, o: ListMessagesOptions = {}) {
    const res = await run('gmail.messages.list', true, (timeout) =>
      gmail().users.messages.list(
        {
          userId: 'me',
          q,
          ...(o.labelIds && o.labelIds.length > 0 ? { labelIds: o.labelIds } : {}),
          ...(o.maxResults !== undefined ? { maxResults: o.maxResults } : {}),
          ...(o.pageToken ? { pageToken: o.pageToken } : {}),
          ...(o.includeSpamTrash ? { includeSpamTrash: true } : {}),
          fields: 'messages(id,threadId),nextPageToken,resultSizeEstimate',
        },
        call(timeout),
      ),
    );
    const out: { messages: MessageRef[]; nextPageToken?: string; resultSizeEstimate?: number } = {
      messages: (res.data.messages ?? []).map(ref).filter((m): m is MessageRef => m !== undefined),
    };
    if (res.data.nextPageToken) out.nextPageToken = res.data.nextPageToken;
    if (res.data.resultSizeEstimate !== undefined && res.data.resultSizeEstimate !== null) out.resultSizeEstimate = res.data.resultSizeEstimate;
    return out;
  }

  const api: GmailApi = {
    async getProfile() {
      const res = await run('gmail.profile', true, (timeout) => gmail().users.getProfile({ userId: 'me' }, call(timeout)));
      const d = res.data;
      if (!d.emailAddress || !d.historyId) throw new GoogleApiError({ route: 'gmail.profile', status: 200, reason: 'incomplete', message: 'getProfile returned no emailAddress/historyId' });
      const out: GmailProfile = { emailAddress: d.emailAddress, historyId: d.historyId };
      if (typeof d.messagesTotal === 'number') out.messagesTotal = d.messagesTotal;
      if (typeof d.threadsTotal === 'number') out.threadsTotal = d.threadsTotal;
      return out;
    },

    async sendRaw(mime, o = {}) {
      const raw = typeof mime === 'string' ? toGmailRaw(mime) : mime.toString('base64url');
      const res = await run('gmail.messages.send', false, (timeout) =>
        gmail().users.messages.send(
          { userId: 'me', requestBody: { raw, ...(o.threadId ? { threadId: o.threadId } : {}) } },
          call(timeout),
        ),
      );
      const m = ref(res.data);
      if (!m) throw new GoogleApiError({ route: 'gmail.messages.send', status: 200, reason: 'noId', message: 'messages.send returned no id' });
      return { ...m, labelIds: res.data.labelIds ?? [] };
    },

    async getMessage(id, format = 'full', metadataHeaders) {
      const res = await run('gmail.messages.get', true, (timeout) =>
        gmail().users.messages.get(
          { userId: 'me', id, format, ...(format === 'metadata' && metadataHeaders ? { metadataHeaders } : {}) },
          call(timeout),
        ),
      );
      return toGmailMessage(res.data);
    },

    listMessages,

    async *iterateMessages(q, o = {}) {
      let pageToken: string | undefined;
      const seen = new Set<string>();
      do {
        const page = await listMessages(q, { ...o, ...(pageToken ? { pageToken } : {}) });
        yield* page.messages;
        pageToken = page.nextPageToken;
        if (pageToken !== undefined) {
          if (seen.has(pageToken)) throw new GoogleApiError({ route: 'gmail.messages.list', status: 200, reason: 'pagingLoop', message: 'repeated nextPageToken' });
          seen.add(pageToken);
        }
      } while (pageToken !== undefined);
    },

    async findByRfc822MsgId(messageId) {
      const page = await listMessages(rfc822MsgIdQuery(messageId), { includeSpamTrash: true, maxResults: 10 });
      return page.messages[0];
    },

    async getThread(id, format = 'full', metadataHeaders) {
      const res = await run('gmail.threads.get', true, (timeout) =>
        gmail().users.threads.get(
          { userId: 'me', id, format, ...(format === 'metadata' && metadataHeaders ? { metadataHeaders } : {}) },
          call(timeout),
        ),
      );
      const out: GmailThread = { id: res.data.id ?? id, messages: (res.data.messages ?? []).map(toGmailMessage) };
      if (res.data.historyId) out.historyId = res.data.historyId;
      return out;
    },

    async historyList(startHistoryId, o = {}) {
      const history: HistoryRecord[] = [];
      let pageToken: string | undefined;
      let historyId: string | undefined;
      const seen = new Set<string>();
      const labelled = (xs: gmail_v1.Schema$HistoryLabelAdded[] | undefined) =>
        (xs ?? []).flatMap((x) => {
          const m = ref(x.message);
          return m ? [{ ...m, labelIds: x.labelIds ?? [] }] : [];
        });
      const refs = (xs: Array<{ message?: gmail_v1.Schema$Message }> | undefined) =>
        (xs ?? []).map((x) => ref(x.message)).filter((m): m is MessageRef => m !== undefined);
      do {
        const token = pageToken;
        let res;
        try {
          res = await run('gmail.history.list', true, (timeout) =>
            gmail().users.history.list(
              {
                userId: 'me',
                startHistoryId,
                ...(o.historyTypes && o.historyTypes.length > 0 ? { historyTypes: o.historyTypes } : {}),
                ...(o.labelId ? { labelId: o.labelId } : {}),
                ...(o.maxResults !== undefined ? { maxResults: o.maxResults } : {}),
                ...(token ? { pageToken: token } : {}),
              },
              call(timeout),
            ),
          );
        } catch (e) {
          if (e instanceof GoogleApiError && e.status === 404) throw new HistoryTooOldError(startHistoryId, e);
          throw e;
        }
        for (const h of res.data.history ?? []) {
          history.push({
            id: h.id ?? '',
            messagesAdded: refs(h.messagesAdded as Array<{ message?: gmail_v1.Schema$Message }> | undefined),
            messagesDeleted: refs(h.messagesDeleted as Array<{ message?: gmail_v1.Schema$Message }> | undefined),
            labelsAdded: labelled(h.labelsAdded ?? undefined),
            labelsRemoved: labelled(h.labelsRemoved ?? undefined),
          });
        }
        if (res.data.historyId) historyId = res.data.historyId;
        pageToken = res.data.nextPageToken ?? undefined;
        if (pageToken !== undefined) {
          if (seen.has(pageToken)) throw new GoogleApiError({ route: 'gmail.history.list', status: 200, reason: 'pagingLoop', message: 'repeated nextPageToken' });
          seen.add(pageToken);
        }
      } while (pageToken !== undefined);
      // Gmail always sends historyId; without one, the start id is the only safe place to resume from.
      return { history, historyId: historyId ?? startHistoryId };
    },
  };
  return api;
}
