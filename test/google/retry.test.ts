import * as http from 'node:http';
import * as util from 'node:util';
import { AddressInfo } from 'node:net';
import {
  backoffDelay,
  classify,
  GoogleApiError,
  isRetryable,
  parseRetryAfter,
  redact,
  RetryPolicy,
  toGoogleApiError,
  withRetry,
  gaxiosNoRetry,
} from '../../lib/google/retry';

// ---------------------------------------------------------------------------------------------------------------
// Error shapes as gaxios produces them

function apiError(status: number, reason?: string, opts: { headers?: Record<string, string>; url?: string; message?: string } = {}) {
  const message = opts.message ?? `failed with ${status}`;
  const e = new Error(message) as Error & Record<string, unknown>;
  e.name = 'GaxiosError';
  e.status = status;
  e.config = { url: opts.url ?? 'https://www.googleapis.com/drive/v3/files', headers: { authorization: 'Bearer ya29.SECRET' } };
  e.response = {
    status,
    headers: new Headers(opts.headers ?? {}),
    data: { error: { code: status, message, errors: reason ? [{ message, domain: 'global', reason }] : [], status: 'X' } },
  };
  return e;
}

function netError(code: string | undefined, message = 'fetch failed', causeMessage = 'boom') {
  const sys = Object.assign(new Error(causeMessage), code ? { code } : {});
  const fetchErr = new TypeError(message, { cause: sys });
  const e = new Error(fetchErr.message, { cause: fetchErr }) as Error & Record<string, unknown>;
  e.name = 'GaxiosError';
  e.config = { url: 'https://www.googleapis.com/drive/v3/files' };
  return e;
}

function timeoutError() {
  const cause = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
  const e = new Error(cause.message, { cause }) as Error & Record<string, unknown>;
  e.code = 'TimeoutError';
  return e;
}

// ---------------------------------------------------------------------------------------------------------------
// A fake clock

function fakeClock(randoms: number[] = [0.5], start = Date.UTC(2026, 0, 1)) {
  let now = start;
  const sleeps: number[] = [];
  let i = 0;
  const policy: Partial<RetryPolicy> = {
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    random: () => randoms[Math.min(i++, randoms.length - 1)]!,
  };
  return { policy, sleeps, get now() { return now; }, advance: (ms: number) => (now += ms) };
}

/** A function failing with `errors` in turn, then returning 'ok'; records each attempt. */
function failing(errors: unknown[]) {
  const calls: Array<{ attempt: number; timeoutMs: number }> = [];
  const fn = async (info: { attempt: number; timeoutMs: number }) => {
    calls.push(info);
    const e = errors[calls.length - 1];
    if (e !== undefined) throw e;
    return 'ok';
  };
  return { fn, calls };
}

// ---------------------------------------------------------------------------------------------------------------

describe('classification', () => {
  const cases: Array<[string, unknown, 'not-processed' | 'transient' | 'fatal']> = [
    ['429', apiError(429, 'rateLimitExceeded'), 'not-processed'],
    ['429 without reason', apiError(429), 'not-processed'],
    ['503', apiError(503, 'backendError'), 'not-processed'],
    ['403 rateLimitExceeded', apiError(403, 'rateLimitExceeded'), 'not-processed'],
    ['403 userRateLimitExceeded', apiError(403, 'userRateLimitExceeded'), 'not-processed'],
    ['500', apiError(500, 'internalError'), 'transient'],
    ['500 without reason', apiError(500), 'transient'],
    ['502', apiError(502), 'transient'],
    ['504', apiError(504), 'transient'],
    ['400 backendError', apiError(400, 'backendError'), 'transient'],
    ['403 internalError', apiError(403, 'internalError'), 'transient'],
    ['403 insufficientFilePermissions', apiError(403, 'insufficientFilePermissions'), 'fatal'],
    ['403 dailyLimitExceeded', apiError(403, 'dailyLimitExceeded'), 'fatal'],
    ['403 without reason', apiError(403), 'fatal'],
    ['400 badRequest', apiError(400, 'badRequest'), 'fatal'],
    ['401 authError', apiError(401, 'authError'), 'fatal'],
    ['404 notFound', apiError(404, 'notFound'), 'fatal'],
    ['408', apiError(408), 'fatal'],
    ['409', apiError(409), 'fatal'],
    ['412', apiError(412, 'conditionNotMet'), 'fatal'],
    ['ECONNREFUSED', netError('ECONNREFUSED'), 'not-processed'],
    ['EAI_AGAIN', netError('EAI_AGAIN'), 'not-processed'],
    ['UND_ERR_CONNECT_TIMEOUT', netError('UND_ERR_CONNECT_TIMEOUT'), 'not-processed'],
    ['ECONNRESET', netError('ECONNRESET'), 'transient'],
    ['socket hang up', netError('ECONNRESET', 'socket hang up'), 'transient'],
    ['ETIMEDOUT', netError('ETIMEDOUT'), 'transient'],
    ['EPIPE', netError('EPIPE'), 'transient'],
    ['UND_ERR_SOCKET (other side closed)', netError('UND_ERR_SOCKET', 'fetch failed', 'other side closed'), 'transient'],
    ['fetch failed without a code', netError(undefined), 'transient'],
    ['attempt timeout (TimeoutError)', timeoutError(), 'transient'],
    ['ENOTFOUND', netError('ENOTFOUND'), 'fatal'],
    ['caller abort', Object.assign(new Error('aborted'), { name: 'AbortError' }), 'fatal'],
    ['token refresh 500', apiError(500, undefined, { url: 'https://oauth2.googleapis.com/token' }), 'not-processed'],
    ['token refresh ECONNRESET (emulator /token)', Object.assign(netError('ECONNRESET'), { config: { url: 'http://127.0.0.1:9/token' } }), 'not-processed'],
  ];

  it.each(cases)('%s → %s', (_name, raw, expected) => {
    const err = toGoogleApiError(raw, 'drive.files.list');
    expect(classify(err)).toBe(expected);
    expect(isRetryable(err, true)).toBe(expected !== 'fatal');
    expect(isRetryable(err, false)).toBe(expected === 'not-processed');
  });

  it('token endpoint invalid_grant is fatal and keeps the OAuth reason', () => {
    const e = new Error('invalid_grant') as Error & Record<string, unknown>;
    e.config = { url: 'http://127.0.0.1:9/token' };
    e.response = { status: 400, headers: {}, data: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' } };
    const err = toGoogleApiError(e, 'gmail.messages.send') as GoogleApiError;
    expect(err).toBeInstanceOf(GoogleApiError);
    expect(err.status).toBe(400);
    expect(err.reason).toBe('invalid_grant');
    expect(err.duringTokenRefresh).toBe(true);
    expect(err.message).toContain('Token has been expired or revoked.');
    expect(classify(err)).toBe('fatal');
  });

  it('leaves programming errors alone', () => {
    const bug = new TypeError('x.y is not a function');
    expect(toGoogleApiError(bug, 'r')).toBe(bug);
    expect(classify(bug)).toBe('fatal');
  });

  it('maps status, reason, route and Retry-After (Headers and plain objects)', () => {
    const a = toGoogleApiError(apiError(429, 'rateLimitExceeded', { headers: { 'retry-after': '7' } }), 'drive.files.list', 0) as GoogleApiError;
    expect([a.status, a.reason, a.route, a.retryAfterMs]).toEqual([429, 'rateLimitExceeded', 'drive.files.list', 7000]);
    expect(a.message).toBe('drive.files.list: HTTP 429 rateLimitExceeded: failed with 429');
    const raw = apiError(503);
    (raw.response as Record<string, unknown>).headers = { 'Retry-After': '2' };
    expect((toGoogleApiError(raw, 'r', 0) as GoogleApiError).retryAfterMs).toBe(2000);
    const n = toGoogleApiError(netError('ECONNRESET'), 'gmail.messages.send') as GoogleApiError;
    expect([n.status, n.code, n.route]).toEqual([undefined, 'ECONNRESET', 'gmail.messages.send']);
    expect(n.message).toMatch(/^gmail\.messages\.send: network error ECONNRESET: fetch failed: boom$/);
  });

  it('keeps tokens out of the message and out of the error object', () => {
    const raw = apiError(401, 'authError', { message: 'bad token Bearer ya29.a0AfB_secret-token and access_token=ya29.other&refresh_token=1//0gRefresh client_secret: GOCSPX-abc' });
    const err = toGoogleApiError(raw, 'drive.files.get') as GoogleApiError;
    expect(err.message).not.toMatch(/secret-token|ya29\.other|0gRefresh|GOCSPX-abc/);
    expect(err.message).toContain('[redacted]');
    // The gaxios error (whose config carries the Authorization header) is not kept as a cause.
    const dump = util.inspect(err, { depth: 10, showHidden: true });
    expect(dump).not.toContain('ya29.SECRET');
    expect(dump).not.toContain('secret-token');
    expect(redact('Authorization: Bearer abc.def')).toBe('Authorization: Bearer [redacted]');
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);
  it.each([
    ['0', 0],
    ['1', 1000],
    [' 120 ', 120_000],
    ['1.5', 1500],
    [new Date(now + 5000).toUTCString(), 5000],
    ['Thu, 01 Jan 2026 12:00:30 GMT', 30_000],
    [new Date(now - 60_000).toUTCString(), 0],
  ])('%j → %d ms', (v, ms) => {
    expect(parseRetryAfter(v, now)).toBe(ms);
  });
  it.each([undefined, null, '', '-1', 'soon', '12abc', '1e3'])('%j → undefined', (v) => {
    expect(parseRetryAfter(v, now)).toBeUndefined();
  });
});

describe('backoffDelay (full jitter)', () => {
  const p = { baseDelayMs: 1000, maxDelayMs: 8000 };
  it('doubles the ceiling per retry and caps it', () => {
    const top = (n: number) => backoffDelay(n, { ...p, random: () => 0.999999 });
    expect([1, 2, 3, 4, 5, 10, 60].map(top)).toEqual([999, 1999, 3999, 7999, 7999, 7999, 7999]);
    expect(backoffDelay(3, { ...p, random: () => 0 })).toBe(0);
    expect(backoffDelay(2, { ...p, random: () => 0.5 })).toBe(1000);
  });
  it('stays within [0, ceiling) for any random value, even a broken one', () => {
    for (let n = 1; n <= 8; n++) {
      const ceiling = Math.min(8000, 1000 * 2 ** (n - 1));
      for (let i = 0; i < 200; i++) {
        const d = backoffDelay(n, { ...p, random: Math.random });
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(ceiling);
      }
    }
    expect(backoffDelay(1, { ...p, random: () => NaN })).toBe(0);
    expect(backoffDelay(1, { ...p, random: () => 7 })).toBe(1000);
    expect(backoffDelay(1, { ...p, random: () => -1 })).toBe(0);
  });
});

describe('withRetry', () => {
  it('returns the first success without sleeping', async () => {
    const c = fakeClock();
    const { fn, calls } = failing([]);
    await expect(withRetry(fn, { ...c.policy, route: 'r', idempotent: true })).resolves.toBe('ok');
    expect(calls).toHaveLength(1);
    expect(c.sleeps).toEqual([]);
  });

  it('retries a 503 twice and succeeds on the third attempt with jittered exponential sleeps', async () => {
    const c = fakeClock([0.5, 0.25]);
    const { fn, calls } = failing([apiError(503), apiError(503)]);
    const events: unknown[] = [];
    await expect(withRetry(fn, { ...c.policy, baseDelayMs: 1000, route: 'drive.files.list', idempotent: true, onRetry: (e) => events.push([e.attempt, e.delayMs, e.error.status]) })).resolves.toBe('ok');
    expect(calls.map((x) => x.attempt)).toEqual([1, 2, 3]);
    expect(c.sleeps).toEqual([500, 500]); // 0.5 × 1000, 0.25 × 2000
    expect(events).toEqual([[1, 500, 503], [2, 500, 503]]);
  });

  it('stops at maxAttempts and reports the attempts', async () => {
    const c = fakeClock([0]);
    const { fn, calls } = failing(Array.from({ length: 10 }, () => apiError(500, 'backendError')));
    const err = await withRetry(fn, { ...c.policy, maxAttempts: 4, route: 'drive.files.get', idempotent: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GoogleApiError);
    expect((err as GoogleApiError).attempts).toBe(4);
    expect((err as GoogleApiError).status).toBe(500);
    expect(calls).toHaveLength(4);
    expect(c.sleeps).toHaveLength(3);
  });

  it('never sleeps less than Retry-After (seconds), but longer when the backoff is longer', async () => {
    const c = fakeClock([0, 0.9]);
    const { fn } = failing([apiError(429, 'rateLimitExceeded', { headers: { 'retry-after': '3' } }), apiError(429, 'rateLimitExceeded', { headers: { 'retry-after': '1' } })]);
    await withRetry(fn, { ...c.policy, baseDelayMs: 1000, route: 'r', idempotent: false });
    expect(c.sleeps).toEqual([3000, 1800]); // max(0, 3000); max(0.9 × 2000, 1000)
  });

  it('honours Retry-After as an HTTP date', async () => {
    const c = fakeClock([0]);
    const date = new Date(c.now + 4000).toUTCString();
    const { fn } = failing([apiError(503, undefined, { headers: { 'retry-after': date } })]);
    await withRetry(fn, { ...c.policy, route: 'r', idempotent: true });
    expect(c.sleeps).toEqual([4000]);
  });

  it('honours a Retry-After above maxDelayMs (the cap is for our own backoff)', async () => {
    const c = fakeClock([0.999]);
    const { fn } = failing([apiError(429, undefined, { headers: { 'retry-after': '20' } })]);
    await withRetry(fn, { ...c.policy, maxDelayMs: 2000, route: 'r', idempotent: true });
    expect(c.sleeps).toEqual([20_000]);
  });

  it('gives up at once when Retry-After reaches past the deadline', async () => {
    const c = fakeClock([0]);
    const { fn, calls } = failing([apiError(429, undefined, { headers: { 'retry-after': '60' } })]);
    const err = await withRetry(fn, { ...c.policy, deadlineMs: 30_000, route: 'r', idempotent: true }).catch((e: unknown) => e);
    expect((err as GoogleApiError).status).toBe(429);
    expect((err as GoogleApiError).attempts).toBe(1);
    expect(calls).toHaveLength(1);
    expect(c.sleeps).toEqual([]);
  });

  it('starts no attempt after the deadline and hands each attempt the time left', async () => {
    const c = fakeClock([0.99]);
    const start = c.now;
    const { fn, calls } = failing(Array.from({ length: 20 }, () => apiError(503)));
    const err = await withRetry(fn, { ...c.policy, maxAttempts: 20, baseDelayMs: 1000, maxDelayMs: 100_000, deadlineMs: 10_000, attemptTimeoutMs: 5000, route: 'r', idempotent: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GoogleApiError);
    // sleeps 990, 1980, 3960 (= 6930); the next (7920) would end past 10 000.
    expect(c.sleeps).toEqual([990, 1980, 3960]);
    expect(calls.map((x) => x.timeoutMs)).toEqual([5000, 5000, 5000, 10_000 - 6930]);
    expect(c.now - start).toBeLessThan(10_000);
  });

  it('counts time spent inside attempts against the deadline', async () => {
    const c = fakeClock([0]);
    let n = 0;
    const err = await withRetry(
      async () => {
        n++;
        c.advance(4000);
        throw apiError(503);
      },
      { ...c.policy, maxAttempts: 10, deadlineMs: 10_000, route: 'r', idempotent: true },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GoogleApiError);
    expect(n).toBe(3); // starts at 0, 4000, 8000; a fourth would start at 12 000
  });

  it('does not retry a non-idempotent call after a 500, a reset or a timeout', async () => {
    for (const e of [apiError(500), apiError(502), apiError(504), apiError(400, 'backendError'), netError('ECONNRESET'), timeoutError()]) {
      const c = fakeClock();
      const { fn, calls } = failing([e]);
      const err = await withRetry(fn, { ...c.policy, route: 'drive.files.create', idempotent: false }).catch((x: unknown) => x);
      expect(err).toBeInstanceOf(GoogleApiError);
      expect(calls).toHaveLength(1);
    }
  });

  it('retries a non-idempotent call after 429, 503, 403 rate limits and connection refused', async () => {
    const c = fakeClock([0]);
    const { fn, calls } = failing([apiError(429), apiError(503), apiError(403, 'userRateLimitExceeded'), netError('ECONNREFUSED')]);
    await expect(withRetry(fn, { ...c.policy, route: 'gmail.messages.send', idempotent: false })).resolves.toBe('ok');
    expect(calls).toHaveLength(5);
  });

  it('fails at once on fatal errors, and rethrows bugs untouched', async () => {
    const c = fakeClock();
    const { fn, calls } = failing([apiError(403, 'insufficientFilePermissions')]);
    const err = await withRetry(fn, { ...c.policy, route: 'r', idempotent: true }).catch((e: unknown) => e);
    expect((err as GoogleApiError).reason).toBe('insufficientFilePermissions');
    expect(calls).toHaveLength(1);
    const bug = new RangeError('oops');
    await expect(withRetry(async () => { throw bug; }, { ...c.policy, route: 'r', idempotent: true })).rejects.toBe(bug);
  });

  it('uses the real timer by default', async () => {
    const { fn, calls } = failing([apiError(503)]);
    const t0 = Date.now();
    await withRetry(fn, { route: 'r', idempotent: true, baseDelayMs: 50, random: () => 0.999 });
    expect(calls).toHaveLength(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
  });

  it('refuses maxAttempts < 1', async () => {
    await expect(withRetry(async () => 1, { route: 'r', idempotent: true, maxAttempts: 0 })).rejects.toThrow(TypeError);
  });
});

describe('withRetry: onUnauthorized (an access token refused before its expiry)', () => {
  const unauthorized = () => apiError(401, 'authError');

  it('on a 401, asks the hook once and retries at once without using an attempt', async () => {
    const c = fakeClock();
    const { fn, calls } = failing([unauthorized()]);
    let asked = 0;
    const r = await withRetry(fn, { ...c.policy, route: 'r', idempotent: false, maxAttempts: 1, onUnauthorized: () => (asked++, true) });
    expect(r).toBe('ok');
    expect(asked).toBe(1);
    expect(calls.map((x) => x.attempt)).toEqual([1, 1]);
    expect(c.sleeps).toEqual([]);
  });

  it('a second 401 in the same call is not retried again', async () => {
    const c = fakeClock();
    const { fn, calls } = failing([unauthorized(), unauthorized()]);
    let asked = 0;
    const e = await withRetry(fn, { ...c.policy, route: 'r', idempotent: true, maxAttempts: 5, onUnauthorized: () => (asked++, true) }).catch((x: unknown) => x);
    expect((e as GoogleApiError).status).toBe(401);
    expect(asked).toBe(1);
    expect(calls).toHaveLength(2);
  });

  it('a hook that cannot refresh (no refresh token) leaves the 401 fatal', async () => {
    const c = fakeClock();
    const { fn, calls } = failing([unauthorized()]);
    const e = await withRetry(fn, { ...c.policy, route: 'r', idempotent: true, onUnauthorized: () => false }).catch((x: unknown) => x);
    expect((e as GoogleApiError).status).toBe(401);
    expect(calls).toHaveLength(1);
  });

  it('a 401 from the token endpoint itself (the refresh) does not call the hook', async () => {
    const c = fakeClock();
    const { fn, calls } = failing([apiError(401, undefined, { url: 'https://oauth2.googleapis.com/token' })]);
    let asked = 0;
    const e = await withRetry(fn, { ...c.policy, route: 'r', idempotent: true, onUnauthorized: () => (asked++, true) }).catch((x: unknown) => x);
    expect((e as GoogleApiError).duringTokenRefresh).toBe(true);
    expect(asked).toBe(0);
    expect(calls).toHaveLength(1);
  });

  it('403s (rate limits, permissions) never call the hook', async () => {
    const c = fakeClock();
    const { fn } = failing([apiError(403, 'rateLimitExceeded'), apiError(403, 'insufficientFilePermissions')]);
    let asked = 0;
    const e = await withRetry(fn, { ...c.policy, route: 'r', idempotent: true, onUnauthorized: () => (asked++, true) }).catch((x: unknown) => x);
    expect((e as GoogleApiError).reason).toBe('insufficientFilePermissions');
    expect(asked).toBe(0);
  });
});

describe('real network error shapes through gaxios', () => {
  // The gaxios copy google-auth-library uses, with Node's fetch (as makeOAuthClient configures it).
  const { Gaxios } = require('gaxios') as typeof import('gaxios');
  const gx = new Gaxios({ fetchImplementation: globalThis.fetch as never });
  let server: http.Server;
  let port: number;
  let mode: 'drop' | 'slow' | '503' = 'drop';
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (mode === 'drop') req.socket.destroy();
      else if (mode === '503') {
        res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '2' });
        res.end(JSON.stringify({ error: { code: 503, message: 'down', errors: [{ reason: 'backendError' }] } }));
      } else setTimeout(() => res.end('{}'), 2000).unref();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const capture = (opts: Record<string, unknown>) => gx.request({ ...gaxiosNoRetry(), ...opts }).then(() => undefined, (e: unknown) => e);

  it('a dropped connection is transient (idempotent only)', async () => {
    mode = 'drop';
    const err = toGoogleApiError(await capture({ url: `http://127.0.0.1:${port}/drive/v3/files` }), 'drive.files.list') as GoogleApiError;
    expect(err).toBeInstanceOf(GoogleApiError);
    expect(err.status).toBeUndefined();
    expect(classify(err)).toBe('transient');
  });

  it('connection refused is "not processed"', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const p = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const err = toGoogleApiError(await capture({ url: `http://127.0.0.1:${p}/x` }), 'r') as GoogleApiError;
    expect(err.code).toBe('ECONNREFUSED');
    expect(classify(err)).toBe('not-processed');
  });

  it('an attempt timeout is transient', async () => {
    mode = 'slow';
    const err = toGoogleApiError(await capture({ url: `http://127.0.0.1:${port}/x`, timeout: 100 }), 'r') as GoogleApiError;
    expect(err.code).toBe('TimeoutError');
    expect(classify(err)).toBe('transient');
  });

  it('a 503 with Retry-After keeps status, reason and delay, and gaxios did not retry', async () => {
    mode = '503';
    let hits = 0;
    server.prependOnceListener('request', () => hits++);
    const err = toGoogleApiError(await capture({ url: `http://127.0.0.1:${port}/x` }), 'r', 0) as GoogleApiError;
    expect([err.status, err.reason, err.retryAfterMs]).toEqual([503, 'backendError', 2000]);
    expect(hits).toBe(1);
  });
});
