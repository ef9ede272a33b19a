/**
 * Batched Drive calls of syftbox-protocol.md §3.8: #26 `files.delete` and #28 `permissions.create` "in batches of
 * 100 (POST /batch/drive/v3, multipart/mixed)", the way the reference deletes compacted messages and shares dataset
 * collections. Used through `DriveApi.deleteFiles` / `DriveApi.shareMany` (drive.ts).
 *
 * Wire format, as Google documents it (https://developers.google.com/workspace/drive/api/guides/performance#batch-requests):
 * - one `POST <root>batch/drive/v3` with `Content-Type: multipart/mixed; boundary=…`, at most 100 parts ("You're
 *   limited to 100 calls in a single batch request");
 * - each part is `Content-Type: application/http` with a `Content-ID`, and its body is one HTTP request (request
 *   line with the path, headers, blank line, JSON body); headers of the outer request (Authorization) apply to
 *   every part;
 * - the answer is `multipart/mixed` with its own boundary; each part holds a whole HTTP response (status line,
 *   headers, body) and carries `Content-ID: response-<the request's Content-ID>`. The server "might perform your
 *   calls in any order", so parts are matched by Content-ID, never by position.
 *
 * Retries (retry.ts) work at two levels:
 * - the outer HTTP request goes through `run` of drive.ts (withRetry: gaxios retries off, the attempt timeout,
 *   `onCall('drive.batch')`, the 401 re-auth hook). A batch of deletes is idempotent, so any transient failure of
 *   the whole batch is re-sent; a batch of permission creates is not: only "not processed" failures (429, 503,
 *   403 rate limits, refused connections) are re-sent by withRetry, an ambiguous one (reset, timeout, 5xx, an
 *   unreadable answer) comes back here;
 * - parts fail on their own. A part that failed retryably is sent again in a later batch, after the backoff of
 *   retry.ts (`backoffDelay`, at least the part's `Retry-After`, `maxAttempts` per item, no new round after
 *   `deadlineMs`). Deletes retry everything `isRetryable(err, true)` allows (429, 503, 403 rate limits, 500, 502,
 *   504, backendError). Permission creates re-send "not processed" parts directly; parts (or whole batches) that
 *   failed ambiguously are first looked up with `permissions.list` (itself batched) after the backoff — a request
 *   that timed out may still complete meanwhile — and only re-sent when the permission is not there, as
 *   `share()` does for a single permission. Re-sending would not add a second permission entry on Drive (one per
 *   user and file) but would e-mail the user a second time.
 *
 * An answer that cannot be parsed (no multipart boundary, no closing delimiter, a part without an HTTP status
 * line, a repeated Content-ID, none of our Content-IDs) is a transient error of the whole batch
 * (`GoogleApiError` with the HTTP status of the answer and reason `backendError`, which `classify` calls
 * transient); a readable answer that lacks some parts makes those parts fail the same way, one by one.
 */
import { randomBytes } from 'node:crypto';
import type { OAuth2Client } from 'google-auth-library';
import type { DrivePermission, ShareRole } from './drive';
import { fields } from './query';
import { backoffDelay, classify, DEFAULT_RETRY_POLICY, gaxiosNoRetry, GoogleApiError, isRetryable, RetryPolicy, toGoogleApiError } from './retry';

/** Google's limit of calls in one batch request. */
export const MAX_BATCH_PARTS = 100;

export interface DeleteFilesResult {
  /** Deleted by this call. */
  deleted: string[];
  /**
   * Not deleted because they are not there (404) or not ours (403 `insufficientFilePermissions`), which the
   * reference ignores (§3.8 #26). A file whose first delete failed ambiguously and whose retry answered 404 (the
   * first attempt did delete it) is here too: either way it is gone.
   */
  missing: string[];
  /** Other failures, and retryable ones that ran out of attempts or time. */
  failed: Array<{ id: string; error: GoogleApiError }>;
}

export interface ShareManyItem {
  fileId: string;
  email: string;
  role: 'reader' | 'writer';
}

export type ShareManyResult = ShareManyItem &
  (
    | {
        ok: true;
        permission: DrivePermission;
        /**
         * True when the permission was found by `permissions.list` after an ambiguous failure (most likely created
         * by the request whose answer was lost, or there before) instead of being confirmed by the create itself.
         */
        recovered: boolean;
      }
    | { ok: false; error: GoogleApiError }
  );

/** What drive.ts hands over (its own closures, so both files share one retry/re-auth/metrics path). */
export interface BatchDeps {
  auth: OAuth2Client;
  /** Root URL of the API, ending in `/` (`callOptions(env).rootUrl ?? 'https://www.googleapis.com/'`). */
  base: string;
  /** drive.ts's `run`: one withRetry'd call with onCall, the re-auth hook and the retry policy. */
  run<T>(route: string, idempotent: boolean, fn: (timeoutMs: number, attempt: number) => Promise<T>): Promise<T>;
  /** Overrides of the retry policy (the same as for single calls). */
  retry: Partial<RetryPolicy>;
  /** #27, all pages: for files whose permissions do not fit one page. */
  listPermissions(fileId: string): Promise<DrivePermission[]>;
  /** The permission of `email` with at least `role`, if any (drive.ts's rule for `ensureShared`). */
  hasRole(perms: DrivePermission[], email: string, role: ShareRole): DrivePermission | undefined;
}

export interface BatchOps {
  deleteFiles(ids: string[]): Promise<DeleteFilesResult>;
  shareMany(items: ShareManyItem[], opts?: { sendNotificationEmail?: boolean }): Promise<ShareManyResult[]>;
}

// ---------------------------------------------------------------------------------------------------------------
// Wire format (pure)

export interface BatchRequestPart {
  method: 'GET' | 'POST' | 'DELETE' | 'PATCH';
  /** Path below the API root, e.g. `drive/v3/files/abc`. */
  path: string;
  query?: Record<string, string>;
  /** Sent as JSON. */
  json?: unknown;
}

export interface BatchResponsePart {
  /** The part's Content-ID as sent, without angle brackets. */
  contentId: string | undefined;
  status: number;
  /** Lower-cased names. */
  headers: Record<string, string>;
  body: string;
}

export class MalformedBatchResponse extends Error {
  constructor(message: string) {
    super(`malformed batch response: ${message}`);
    this.name = 'MalformedBatchResponse';
  }
}

/** The `multipart/mixed` body of a batch request; part i has Content-ID `<idPrefix+i>`. */
export function buildBatchBody(parts: readonly BatchRequestPart[], boundary: string, idPrefix: string, base: string): string {
  const out: string[] = [];
  parts.forEach((p, i) => {
    const url = new URL(p.path, base);
    for (const [k, v] of Object.entries(p.query ?? {})) url.searchParams.set(k, v);
    const body = p.json === undefined ? '' : JSON.stringify(p.json);
    out.push(
      `--${boundary}\r\n` +
        'Content-Type: application/http\r\n' +
        'Content-Transfer-Encoding: binary\r\n' +
        `Content-ID: <${idPrefix}+${i}>\r\n` +
        '\r\n' +
        `${p.method} ${url.pathname}${url.search} HTTP/1.1\r\n` +
        (p.json === undefined ? '' : `Content-Type: application/json; charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`) +
        '\r\n' +
        body +
        '\r\n',
    );
  });
  out.push(`--${boundary}--\r\n`);
  return out.join('');
}

/** The boundary parameter of a `multipart/*` Content-Type (quoted or not), or undefined. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\//i.test(contentType)) return undefined;
  const m = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : undefined;
}

/** Split a header block from what follows the first blank line (CRLF or bare LF). */
function splitHead(s: string): { head: string[]; rest: string } {
  if (s.startsWith('\r\n')) return { head: [], rest: s.slice(2) };
  if (s.startsWith('\n')) return { head: [], rest: s.slice(1) };
  const m = /\r?\n\r?\n/.exec(s);
  if (!m) return { head: s.split(/\r?\n/).filter((l) => l !== ''), rest: '' };
  return { head: s.slice(0, m.index).split(/\r?\n/), rest: s.slice(m.index + m[0].length) };
}

function headerMap(lines: readonly string[]): Record<string, string> {
  const h: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) h[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return h;
}

/**
 * The parts of a batch answer (RFC 2046 §5.1.1 delimiters; CRLF or bare LF; preamble and epilogue ignored).
 * Throws {@link MalformedBatchResponse} when the body is not a complete multipart body of HTTP responses.
 */
export function parseBatchResponse(contentType: string | undefined, body: string): BatchResponsePart[] {
  const boundary = multipartBoundary(contentType);
  if (!boundary) throw new MalformedBatchResponse(`expected multipart/mixed with a boundary, got Content-Type ${JSON.stringify(contentType ?? null)}`);
  const delim = `--${boundary}`;
  /** The next delimiter at a line start, at or after `from`. */
  const find = (from: number): number => {
    let i = body.indexOf(delim, from);
    while (i > 0 && body[i - 1] !== '\n') i = body.indexOf(delim, i + 1);
    return i;
  };
  const parts: BatchResponsePart[] = [];
  let pos = find(0);
  if (pos < 0) throw new MalformedBatchResponse('no boundary delimiter in the body');
  for (;;) {
    let start = pos + delim.length;
    if (body.startsWith('--', start)) break; // the close delimiter
    while (body[start] === ' ' || body[start] === '\t') start++;
    if (body.startsWith('\r\n', start)) start += 2;
    else if (body[start] === '\n') start += 1;
    else throw new MalformedBatchResponse('a delimiter line with trailing characters');
    const next = find(start);
    if (next < 0) throw new MalformedBatchResponse('no closing delimiter (truncated body?)');
    let end = next;
    if (body.startsWith('\r\n', end - 2)) end -= 2;
    else if (body[end - 1] === '\n') end -= 1;
    const outer = splitHead(body.slice(start, Math.max(start, end)));
    const oh = headerMap(outer.head);
    const http = splitHead(outer.rest.replace(/^(\r?\n)+/, ''));
    const statusLine = http.head[0] ?? '';
    const m = /^HTTP\/\d(?:\.\d)?\s+(\d{3})(?:\s|$)/.exec(statusLine);
    if (!m) throw new MalformedBatchResponse(`part ${parts.length + 1} has no HTTP status line (${JSON.stringify(statusLine.slice(0, 60))})`);
    const cid = oh['content-id'];
    parts.push({
      contentId: cid === undefined ? undefined : cid.replace(/^<|>$/g, ''),
      status: Number(m[1]),
      headers: headerMap(http.head.slice(1)),
      body: http.rest,
    });
    pos = next;
  }
  return parts;
}

// ---------------------------------------------------------------------------------------------------------------

type PartAnswer = { ok: true; data: unknown } | { ok: false; error: GoogleApiError };

function headerOf(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const h = headers as { get?: (n: string) => string | null } & Record<string, unknown>;
  if (typeof h.get === 'function') return h.get(name) ?? undefined;
  for (const [k, v] of Object.entries(h)) if (k.toLowerCase() === name) return typeof v === 'string' ? v : undefined;
  return undefined;
}

function asPermission(p: unknown): DrivePermission {
  const o = (p ?? {}) as { id?: unknown; type?: unknown; role?: unknown; emailAddress?: unknown };
  const out: DrivePermission = { id: typeof o.id === 'string' ? o.id : '' };
  if (typeof o.type === 'string') out.type = o.type;
  if (typeof o.role === 'string') out.role = o.role;
  if (typeof o.emailAddress === 'string') out.emailAddress = o.emailAddress;
  return out;
}

function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

interface Attempted {
  /** Sends so far (rounds in which the item was in a batch). */
  attempts: number;
}

export function createBatchOps(deps: BatchDeps): BatchOps {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY };
  for (const [k, v] of Object.entries(deps.retry)) if (v !== undefined) (policy as unknown as Record<string, unknown>)[k] = v;
  if (!(policy.maxAttempts >= 1)) throw new TypeError('maxAttempts must be at least 1');
  const batchUrl = new URL('batch/drive/v3', deps.base).toString();

  /**
   * One batch HTTP request (withRetry'd by `run`): the answer of every part, by position in `parts`. A part the
   * answer lacks gets a transient error; an unreadable answer throws a transient error for the whole batch.
   */
  async function exchange(parts: readonly BatchRequestPart[], routes: readonly string[], idempotent: boolean): Promise<PartAnswer[]> {
    if (parts.length === 0 || parts.length > MAX_BATCH_PARTS) throw new RangeError(`a batch takes 1..${MAX_BATCH_PARTS} parts, got ${parts.length}`);
    return deps.run('drive.batch', idempotent, async (timeout) => {
      // Fresh per attempt: an answer can only be matched to the attempt that asked.
      const boundary = `batch_${randomBytes(12).toString('hex')}`;
      const idPrefix = randomBytes(8).toString('hex');
      const res = await deps.auth.request<string>({
        url: batchUrl,
        method: 'POST',
        headers: { 'content-type': `multipart/mixed; boundary=${boundary}` },
        data: buildBatchBody(parts, boundary, idPrefix, deps.base),
        responseType: 'text',
        ...gaxiosNoRetry(),
        timeout,
      });
      const unreadable = (message: string) => new GoogleApiError({ route: 'drive.batch', status: res.status, reason: 'backendError', message });
      let answer: BatchResponsePart[];
      try {
        answer = parseBatchResponse(headerOf(res.headers, 'content-type'), typeof res.data === 'string' ? res.data : String(res.data ?? ''));
      } catch (e) {
        if (e instanceof MalformedBatchResponse) throw unreadable(e.message);
        throw e;
      }
      const byIndex = new Map<number, BatchResponsePart>();
      const prefix = `response-${idPrefix}+`;
      for (const p of answer) {
        if (!p.contentId?.startsWith(prefix)) continue;
        const i = Number(p.contentId.slice(prefix.length));
        if (!Number.isInteger(i) || i < 0 || i >= parts.length) continue;
        if (byIndex.has(i)) throw unreadable(`Content-ID ${p.contentId} answered twice`);
        byIndex.set(i, p);
      }
      if (byIndex.size === 0) throw unreadable(`none of the ${answer.length} parts answers one of our ${parts.length} requests`);
      const now = Date.now();
      return parts.map((_, i): PartAnswer => {
        const route = routes[i] ?? 'drive.batch';
        const p = byIndex.get(i);
        if (!p) return { ok: false, error: new GoogleApiError({ route, status: res.status, reason: 'backendError', message: 'the batch response has no part for this request' }) };
        if (p.status >= 200 && p.status < 300) {
          if (p.body.trim() === '') return { ok: true, data: undefined };
          try {
            return { ok: true, data: JSON.parse(p.body) as unknown };
          } catch {
            return { ok: false, error: new GoogleApiError({ route, status: p.status, reason: 'backendError', message: 'unparsable JSON in a batch response part' }) };
          }
        }
        const err = toGoogleApiError({ message: `HTTP ${p.status}`, response: { status: p.status, data: p.body, headers: p.headers } }, route, now);
        return { ok: false, error: err instanceof GoogleApiError ? err : new GoogleApiError({ route, status: p.status, message: err.message }) };
      });
    });
  }

  /**
   * Send `initial` in rounds: `send` sends the pending items (in batches) and returns those to try again with the
   * error that made them fail; after the backoff, `beforeResend` may settle some of them (e.g. after a lookup).
   * Items out of attempts or time go to `giveUp`.
   */
  async function inRounds<S extends Attempted>(
    route: string,
    initial: S[],
    send: (pending: S[]) => Promise<Array<[S, GoogleApiError]>>,
    giveUp: (s: S, error: GoogleApiError) => void,
    beforeResend?: (again: Array<[S, GoogleApiError]>) => Promise<Array<[S, GoogleApiError]>>,
  ): Promise<void> {
    const deadline = policy.now() + policy.deadlineMs;
    let pending = initial;
    for (let round = 1; pending.length > 0; round++) {
      for (const s of pending) s.attempts++;
      const next: Array<[S, GoogleApiError]> = [];
      for (const [s, e] of await send(pending)) {
        e.attempts = s.attempts;
        if (s.attempts >= policy.maxAttempts) giveUp(s, e);
        else next.push([s, e]);
      }
      if (next.length === 0) return;
      const retryAfter = Math.max(...next.map(([, e]) => e.retryAfterMs ?? 0));
      const delay = Math.max(backoffDelay(round, policy), retryAfter);
      if (policy.now() + delay >= deadline) {
        for (const [s, e] of next) giveUp(s, e);
        return;
      }
      policy.onRetry?.({ route, attempt: round, delayMs: delay, error: next[0]![1] });
      await policy.sleep(delay);
      pending = (beforeResend ? await beforeResend(next) : next).map(([s]) => s);
    }
  }

  /** `permissions.list` of many files, batched; a file's entry is its permissions or the error that kept them. */
  async function listPermissionsMany(fileIds: readonly string[]): Promise<Map<string, DrivePermission[] | GoogleApiError>> {
    const out = new Map<string, DrivePermission[] | GoogleApiError>();
    const states = [...new Set(fileIds)].map((id) => ({ id, attempts: 0 }));
    const mask = fields.permissionList(['id', 'type', 'role', 'emailAddress']);
    await inRounds(
      'drive.permissions.list',
      states,
      async (pending) => {
        const again: Array<[(typeof states)[number], GoogleApiError]> = [];
        for (const chunk of chunks(pending, MAX_BATCH_PARTS)) {
          let answers: PartAnswer[];
          try {
            answers = await exchange(
              chunk.map((s) => ({ method: 'GET', path: `drive/v3/files/${encodeURIComponent(s.id)}/permissions`, query: { fields: mask, pageSize: '100' } })),
              chunk.map(() => 'drive.permissions.list'),
              true,
            );
          } catch (e) {
            if (!(e instanceof GoogleApiError)) throw e;
            for (const s of chunk) out.set(s.id, e);
            continue;
          }
          for (const [i, s] of chunk.entries()) {
            const a = answers[i]!;
            if (!a.ok) {
              if (isRetryable(a.error, true)) again.push([s, a.error]);
              else out.set(s.id, a.error);
              continue;
            }
            const data = (a.data ?? {}) as { permissions?: unknown; nextPageToken?: unknown };
            if (typeof data.nextPageToken === 'string' && data.nextPageToken !== '') {
              // More than a page of permissions (rare): the paging single call.
              try {
                out.set(s.id, await deps.listPermissions(s.id));
              } catch (e) {
                if (!(e instanceof GoogleApiError)) throw e;
                out.set(s.id, e);
              }
            } else out.set(s.id, Array.isArray(data.permissions) ? data.permissions.map(asPermission) : []);
          }
        }
        return again;
      },
      (s, e) => out.set(s.id, e),
    );
    return out;
  }

  return {
    async deleteFiles(ids) {
      for (const id of ids) if (typeof id !== 'string' || id === '') throw new TypeError(`deleteFiles: invalid file id ${JSON.stringify(id)}`);
      const order = new Map<string, number>();
      for (const id of ids) if (!order.has(id)) order.set(id, order.size);
      const deleted: string[] = [];
      const missing: string[] = [];
      const failed: DeleteFilesResult['failed'] = [];
      type S = { id: string; attempts: number };
      await inRounds<S>(
        'drive.files.delete',
        [...order.keys()].map((id) => ({ id, attempts: 0 })),
        async (pending) => {
          const again: Array<[S, GoogleApiError]> = [];
          for (const chunk of chunks(pending, MAX_BATCH_PARTS)) {
            let answers: PartAnswer[];
            try {
              // Idempotent: a re-sent delete of a deleted file answers 404, which counts as gone.
              answers = await exchange(
                chunk.map((s) => ({ method: 'DELETE', path: `drive/v3/files/${encodeURIComponent(s.id)}`, query: { supportsAllDrives: 'true' } })),
                chunk.map(() => 'drive.files.delete'),
                true,
              );
            } catch (e) {
              // withRetry has already re-sent whatever could be re-sent.
              if (!(e instanceof GoogleApiError)) throw e;
              for (const s of chunk) failed.push({ id: s.id, error: e });
              continue;
            }
            for (const [i, s] of chunk.entries()) {
              const a = answers[i]!;
              if (a.ok) deleted.push(s.id);
              else if (a.error.status === 404 || (a.error.status === 403 && a.error.reason === 'insufficientFilePermissions')) missing.push(s.id);
              else if (isRetryable(a.error, true)) again.push([s, a.error]);
              else {
                a.error.attempts = s.attempts;
                failed.push({ id: s.id, error: a.error });
              }
            }
          }
          return again;
        },
        (s, error) => failed.push({ id: s.id, error }),
      );
      const byInput = (a: string, b: string) => order.get(a)! - order.get(b)!;
      return { deleted: deleted.sort(byInput), missing: missing.sort(byInput), failed: failed.sort((a, b) => byInput(a.id, b.id)) };
    },

    async shareMany(items, o = {}) {
      for (const it of items) {
        if (!it || typeof it.fileId !== 'string' || it.fileId === '' || typeof it.email !== 'string' || it.email === '' || (it.role !== 'reader' && it.role !== 'writer')) {
          throw new TypeError(`shareMany: invalid item ${JSON.stringify(it)}`);
        }
      }
      const notify = String(o.sendNotificationEmail ?? true);
      const results: Array<ShareManyResult | undefined> = new Array<ShareManyResult | undefined>(items.length);
      type S = { index: number; item: ShareManyItem; attempts: number; /** An attempt may have created it. */ ambiguous: boolean };
      const item = (s: S): ShareManyItem => ({ fileId: s.item.fileId, email: s.item.email, role: s.item.role });
      const fail = (s: S, error: GoogleApiError) => {
        error.attempts = Math.max(error.attempts, s.attempts);
        results[s.index] = { ...item(s), ok: false, error };
      };
      await inRounds<S>(
        'drive.permissions.create',
        items.map((it, index) => ({ index, item: it, attempts: 0, ambiguous: false })),
        async (pending) => {
          const again: Array<[S, GoogleApiError]> = [];
          for (const chunk of chunks(pending, MAX_BATCH_PARTS)) {
            let answers: PartAnswer[];
            try {
              answers = await exchange(
                chunk.map((s) => ({
                  method: 'POST',
                  path: `drive/v3/files/${encodeURIComponent(s.item.fileId)}/permissions`,
                  query: { sendNotificationEmail: notify, fields: 'id,type,role,emailAddress' },
                  json: { type: 'user', role: s.item.role, emailAddress: s.item.email },
                })),
                chunk.map(() => 'drive.permissions.create'),
                false,
              );
            } catch (e) {
              if (!(e instanceof GoogleApiError)) throw e;
              // Not processed (withRetry already re-sent it as often as allowed) or fatal: final. Ambiguous: look, then maybe re-send.
              if (classify(e) !== 'transient') for (const s of chunk) fail(s, e);
              else
                for (const s of chunk) {
                  s.ambiguous = true;
                  again.push([s, e]);
                }
              continue;
            }
            for (const [i, s] of chunk.entries()) {
              const a = answers[i]!;
              if (a.ok) {
                results[s.index] = { ...item(s), ok: true, permission: asPermission(a.data), recovered: false };
                continue;
              }
              const c = classify(a.error);
              if (c === 'fatal') fail(s, a.error);
              else {
                if (c === 'transient') s.ambiguous = true;
                again.push([s, a.error]);
              }
            }
          }
          return again;
        },
        fail,
        async (again) => {
          const look = again.filter(([s]) => s.ambiguous);
          if (look.length === 0) return again;
          const perms = await listPermissionsMany(look.map(([s]) => s.item.fileId));
          return again.filter(([s, e]) => {
            if (!s.ambiguous) return true;
            const p = perms.get(s.item.fileId);
            if (p === undefined || p instanceof GoogleApiError) {
              // Cannot tell whether it was created: report rather than risk a second invitation.
              fail(s, p !== undefined && classify(p) === 'fatal' ? p : e);
              return false;
            }
            const found = deps.hasRole(p, s.item.email, s.item.role);
            if (found) {
              results[s.index] = { ...item(s), ok: true, permission: found, recovered: true };
              return false;
            }
            return true;
          });
        },
      );
      return results.map((r, i) => r ?? { ...items[i]!, ok: false as const, error: new GoogleApiError({ route: 'drive.permissions.create', message: 'no result (internal error)' }) });
    },
  };
}
