/**
 * One retry policy for every Google API call (Drive, Gmail), replacing gaxios' built-in retries (which retry
 * every 5xx on GET/PUT/DELETE and nothing on POST; node-ecosystem.md §B.5). Every call site passes
 * {@link gaxiosNoRetry} so that exactly one layer retries: this one.
 *
 * Pure apart from the default clock/sleep/random, which tests replace.
 *
 * What is retried (see {@link classify}):
 *
 * | condition                                                            | idempotent call | non-idempotent call (create, send, share) |
 * |----------------------------------------------------------------------|-----------------|-------------------------------------------|
 * | HTTP 429 (any reason)                                                | retry           | retry: rejected by the rate limiter before any work |
 * | HTTP 503                                                             | retry           | retry: "unable to handle the request" (RFC 9110 §15.6.4) |
 * | HTTP 403 reason rateLimitExceeded / userRateLimitExceeded            | retry           | retry: Drive's rate-limit rejection, same as a 429 |
 * | connection refused (ECONNREFUSED), connect timeout, DNS EAI_AGAIN    | retry           | retry: the request never left this machine |
 * | a transient failure of the OAuth token refresh before the call       | retry           | retry: the API request itself was never sent |
 * | HTTP 500, 502, 504                                                   | retry           | **no**: the backend may have done the work |
 * | reason backendError / internalError (any status)                     | retry           | **no** (unless the status is 429/503) |
 * | ECONNRESET, EPIPE, socket hang up, `fetch failed`, other side closed | retry           | **no**: the request may have arrived |
 * | ETIMEDOUT / timeout of an attempt                                    | retry           | **no**: the request may still be running |
 * | HTTP 401 from the API with a refresh token at hand (`onUnauthorized`) | once, refreshed first | once, refreshed first: a 401 did no work |
 * | 403 other reasons (insufficientFilePermissions, quotaExceeded, …), 400, 401 again, 404, 409, 412 … | no | no |
 *
 * A duplicate Drive file or a duplicate e-mail is worse than a delay: a non-idempotent call that failed
 * ambiguously is surfaced to the caller, who can check (e.g. `findByRfc822MsgId`) before trying again.
 *
 * Backoff: attempt n (n = 1 for the first retry) sleeps `random() × min(maxDelayMs, baseDelayMs × 2^(n-1))`
 * ("full jitter"), but never less than the server's `Retry-After` (delta-seconds or an HTTP date). No attempt
 * starts after `deadlineMs` (counted from the first attempt): if the next sleep would cross the deadline, the
 * last error is thrown instead. Each attempt gets `timeoutMs = min(attemptTimeoutMs, time left)`.
 */

export interface RetryPolicy {
  /** Total attempts, the first one included. */
  maxAttempts: number;
  /** Backoff ceiling before the first retry. */
  baseDelayMs: number;
  /** Cap of the exponential backoff ceiling (not of Retry-After, which is always honoured within the deadline). */
  maxDelayMs: number;
  /** Overall budget from the first attempt; no attempt starts after it. */
  deadlineMs: number;
  /** Timeout of a single attempt (handed to the call as `timeoutMs`). */
  attemptTimeoutMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Uniform in [0, 1). */
  random: () => number;
  /** Called before each sleep (for logging). */
  onRetry?: (event: RetryEvent) => void;
}

export interface RetryEvent {
  route: string;
  /** The attempt that failed (1-based). */
  attempt: number;
  delayMs: number;
  error: GoogleApiError;
}

export interface RetryOptions extends Partial<RetryPolicy> {
  /** Route key, e.g. `drive.files.list` (the emulator's counter key). */
  route: string;
  /** False for calls that create something (files.create, permissions.create, messages.send). */
  idempotent: boolean;
  /**
   * Called on an HTTP 401 from the API (not from the token endpoint), at most once per call: returns true when it
   * made the credentials refresh before the next attempt (an access token Google refused before its expiry:
   * clock skew, a token revoked early). That attempt follows at once and is not counted against `maxAttempts`;
   * a 401 is never processed by Google, so this holds for non-idempotent calls too. See `reauthorizer` in clients.ts.
   */
  onUnauthorized?: () => boolean;
}

export interface AttemptInfo {
  /** 1-based. */
  attempt: number;
  /** Time this attempt may take. */
  timeoutMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 1000,
  maxDelayMs: 32_000,
  deadlineMs: 120_000,
  attemptTimeoutMs: 120_000,
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: () => Math.random(),
};

/**
 * Per-call gaxios options that switch its own retry logic off (both switches, in case one is ignored). A fresh
 * object per call: gaxios writes its retry state into `retryConfig`.
 */
export function gaxiosNoRetry(): { retry: false; retryConfig: { retry: number; noResponseRetries: number } } {
  return { retry: false, retryConfig: { retry: 0, noResponseRetries: 0 } };
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

/** A failed Google API call. `message` never contains tokens. */
export class GoogleApiError extends Error {
  /** HTTP status; undefined for network errors. */
  readonly status: number | undefined;
  /** `error.errors[0].reason` (Drive/Gmail), `error` (OAuth token endpoint), or undefined. */
  readonly reason: string | undefined;
  /** Route key of the call, e.g. `drive.files.create`. */
  readonly route: string;
  /** Network error code (`ECONNRESET`, `ECONNREFUSED`, `TimeoutError`, …) when there was no response. */
  readonly code: string | undefined;
  /** The server's Retry-After, in ms from when the response arrived. */
  readonly retryAfterMs: number | undefined;
  /** True when the failure happened while refreshing the OAuth token, before the API request was sent. */
  readonly duringTokenRefresh: boolean;
  /** Attempts made (set by {@link withRetry}). */
  attempts = 1;

  constructor(init: {
    route: string;
    message: string;
    status?: number;
    reason?: string;
    code?: string;
    retryAfterMs?: number;
    duringTokenRefresh?: boolean;
  }) {
    const what = init.status !== undefined
      ? `HTTP ${init.status}${init.reason ? ` ${init.reason}` : ''}`
      : `network error${init.code ? ` ${init.code}` : ''}`;
    super(redact(`${init.route}: ${what}${init.duringTokenRefresh ? ' (token refresh)' : ''}: ${init.message}`).slice(0, 1000));
    this.name = 'GoogleApiError';
    this.route = init.route;
    this.status = init.status;
    this.reason = init.reason;
    this.code = init.code;
    this.retryAfterMs = init.retryAfterMs;
    this.duringTokenRefresh = init.duringTokenRefresh ?? false;
  }
}

export function isGoogleApiError(e: unknown): e is GoogleApiError {
  return e instanceof GoogleApiError;
}

/** Remove anything that looks like an OAuth token or client secret. */
export function redact(s: string): string {
  return s
    .replace(/ya29\.[\w.\-~+/=]+/g, 'ya29.[redacted]')
    .replace(/1\/\/[\w.\-~+/=]+/g, '1//[redacted]')
    .replace(/GOCSPX-[\w\-]+/g, 'GOCSPX-[redacted]')
    .replace(/(bearer\s+)[^\s"',;]+/gi, '$1[redacted]')
    .replace(/((?:access_token|refresh_token|id_token|client_secret)["']?\s*[=:]\s*["']?)[^\s"'&,;}]+/gi, '$1[redacted]');
}

/** `Retry-After`: delta-seconds or an HTTP date → ms to wait (≥ 0); undefined when absent or unparsable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  // An HTTP date must name a weekday or month; plain numbers with other characters are not dates.
  if (!/[A-Za-z]/.test(v)) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - nowMs);
}

interface ErrorLike {
  message?: unknown;
  name?: unknown;
  code?: unknown;
  cause?: unknown;
  status?: unknown;
  response?: { status?: unknown; data?: unknown; headers?: unknown };
  config?: { url?: unknown };
}

function asObject(e: unknown): ErrorLike | undefined {
  return e !== null && typeof e === 'object' ? (e as ErrorLike) : undefined;
}

function headerValue(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const h = headers as { get?: unknown } & Record<string, unknown>;
  if (typeof h.get === 'function') {
    const v = (h.get as (n: string) => unknown).call(headers, name);
    return typeof v === 'string' ? v : undefined;
  }
  for (const [k, v] of Object.entries(h)) {
    if (k.toLowerCase() === name) return Array.isArray(v) ? String(v[0]) : typeof v === 'string' ? v : undefined;
  }
  return undefined;
}

/** The string code of a network error anywhere in the cause chain (gaxios → fetch TypeError → system error). */
function networkCode(e: ErrorLike): string | undefined {
  let cur: unknown = e;
  for (let depth = 0; depth < 5 && cur; depth++) {
    const o = asObject(cur);
    if (!o) break;
    if (typeof o.code === 'string' && o.code !== '') return o.code;
    if (o.name === 'TimeoutError' || o.name === 'AbortError') return o.name;
    cur = o.cause;
  }
  return undefined;
}

function causeMessages(e: ErrorLike): string[] {
  const out: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; depth < 5 && cur; depth++) {
    const o = asObject(cur);
    if (!o) break;
    if (typeof o.message === 'string' && o.message !== '' && out[out.length - 1] !== o.message) out.push(o.message);
    cur = o.cause;
  }
  return out;
}

function isTokenEndpoint(url: unknown): boolean {
  if (typeof url !== 'string' && !(url instanceof URL)) return false;
  try {
    const u = new URL(String(url));
    return u.hostname === 'oauth2.googleapis.com' || (u.pathname.endsWith('/token') && !/\/(drive|gmail|upload)\//.test(u.pathname));
  } catch {
    return false;
  }
}

/**
 * Turn whatever a googleapis call threw (a GaxiosError from either gaxios copy, a fetch TypeError, a system
 * error) into a {@link GoogleApiError}. Programming errors (no response, no network code, not a fetch failure)
 * are returned unchanged so they are never retried nor disguised.
 */
export function toGoogleApiError(e: unknown, route: string, nowMs = Date.now()): GoogleApiError | Error {
  if (e instanceof GoogleApiError) return e;
  const o = asObject(e);
  if (!o) return new Error(`${route}: ${String(e)}`);
  const duringTokenRefresh = isTokenEndpoint(o.config?.url);
  const res = o.response;
  if (res && typeof res.status === 'number') {
    const data = res.data as unknown;
    let reason: string | undefined;
    let message: string | undefined;
    const parsed = typeof data === 'string' ? safeJson(data) : data;
    const err = asObject(parsed) as { error?: unknown; error_description?: unknown } | undefined;
    if (err && typeof err.error === 'object' && err.error !== null) {
      const ge = err.error as { message?: unknown; errors?: unknown; status?: unknown };
      if (typeof ge.message === 'string') message = ge.message;
      if (Array.isArray(ge.errors)) {
        const first = asObject(ge.errors[0]) as { reason?: unknown } | undefined;
        if (first && typeof first.reason === 'string') reason = first.reason;
      }
      if (reason === undefined && typeof ge.status === 'string') reason = ge.status;
    } else if (err && typeof err.error === 'string') {
      // OAuth token endpoint: {"error": "invalid_grant", "error_description": "…"}
      reason = err.error;
      message = typeof err.error_description === 'string' ? err.error_description : err.error;
    }
    if (message === undefined) message = typeof o.message === 'string' ? o.message : `HTTP ${res.status}`;
    return new GoogleApiError({
      route,
      status: res.status,
      reason,
      message,
      retryAfterMs: parseRetryAfter(headerValue(res.headers, 'retry-after'), nowMs),
      duringTokenRefresh,
    });
  }
  const code = networkCode(o);
  const messages = causeMessages(o);
  const fetchFailed = messages.some((m) => /fetch failed|socket hang up|other side closed|terminated/i.test(m));
  if (code !== undefined || fetchFailed) {
    return new GoogleApiError({ route, code: code ?? 'UND_ERR_SOCKET', message: messages.join(': ') || 'network error', duringTokenRefresh });
  }
  return e instanceof Error ? e : new Error(`${route}: ${String(e)}`);
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Classification

const RATE_LIMIT_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded']);
const BACKEND_REASONS = new Set(['backendError', 'internalError']);
/** No byte of the request reached the server. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'ENETUNREACH', 'EHOSTUNREACH']);
/** The request may have reached the server. */
const AMBIGUOUS_CODES = new Set([
  'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'TimeoutError',
  'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
]);

export type Classification =
  /** Proven not processed: safe to retry any call. */
  | 'not-processed'
  /** Transient, but the server may have done the work: retry idempotent calls only. */
  | 'transient'
  /** Retrying will not help. */
  | 'fatal';

export function classify(err: GoogleApiError | Error): Classification {
  if (!(err instanceof GoogleApiError)) return 'fatal';
  const transientish = (c: Classification): Classification => (err.duringTokenRefresh && c === 'transient' ? 'not-processed' : c);
  if (err.status !== undefined) {
    const s = err.status;
    if (s === 429 || s === 503) return 'not-processed';
    if (s === 403 && err.reason !== undefined && RATE_LIMIT_REASONS.has(err.reason)) return 'not-processed';
    if (s === 500 || s === 502 || s === 504) return transientish('transient');
    if (err.reason !== undefined && BACKEND_REASONS.has(err.reason)) return transientish('transient');
    return 'fatal';
  }
  if (err.code !== undefined) {
    if (NOT_SENT_CODES.has(err.code)) return 'not-processed';
    if (AMBIGUOUS_CODES.has(err.code)) return transientish('transient');
  }
  return 'fatal';
}

/** Whether `err` may be retried for a call of the given idempotency. */
export function isRetryable(err: GoogleApiError | Error, idempotent: boolean): boolean {
  const c = classify(err);
  return c === 'not-processed' || (c === 'transient' && idempotent);
}

/** Full-jitter backoff for the n-th retry (n ≥ 1). */
export function backoffDelay(retry: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs' | 'random'>): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  const r = policy.random();
  const u = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
  return Math.floor(u * ceiling);
}

// ---------------------------------------------------------------------------------------------------------------

/**
 * Run `fn` until it succeeds, the error is not retryable for this call's idempotency, `maxAttempts` is reached or
 * the deadline would be crossed. Always rejects with a {@link GoogleApiError} (with `attempts` set) for API and
 * network failures; other errors (bugs) are rethrown untouched on the first occurrence.
 */
export async function withRetry<T>(fn: (info: AttemptInfo) => Promise<T>, options: RetryOptions): Promise<T> {
  const { route, idempotent, onUnauthorized, ...overrides } = options;
  const p: RetryPolicy = { ...DEFAULT_RETRY_POLICY };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) (p as unknown as Record<string, unknown>)[k] = v;
  if (!(p.maxAttempts >= 1)) throw new TypeError('maxAttempts must be at least 1');
  const start = p.now();
  const deadline = start + p.deadlineMs;
  let reauthorized = false;
  for (let attempt = 1; ; attempt++) {
    const left = deadline - p.now();
    try {
      return await fn({ attempt, timeoutMs: Math.max(1, Math.min(p.attemptTimeoutMs, left)) });
    } catch (e) {
      const err = toGoogleApiError(e, route, p.now());
      if (!(err instanceof GoogleApiError)) throw err;
      err.attempts = attempt;
      if (err.status === 401 && !err.duringTokenRefresh && !reauthorized && onUnauthorized && p.now() < deadline) {
        reauthorized = true;
        if (onUnauthorized()) {
          attempt--; // the refreshed attempt is extra: the 401 used none of the call's budget
          continue;
        }
      }
      if (attempt >= p.maxAttempts || !isRetryable(err, idempotent)) throw err;
      const backoff = backoffDelay(attempt, p);
      const delay = err.retryAfterMs !== undefined ? Math.max(backoff, err.retryAfterMs) : backoff;
      if (p.now() + delay >= deadline) throw err;
      p.onRetry?.({ route, attempt, delayMs: delay, error: err });
      await p.sleep(delay);
    }
  }
}
