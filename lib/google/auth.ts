/**
 * An OAuth2Client for the services, built from the shared `token.json` (any shape `token-file.ts` reads), that
 * writes refreshed access tokens back to the file the way it found it, as the Python syft-bg's Gmail path does
 * (`notify/gmail/auth.py:75-90`): same shape, same refresh token and scopes, mode 0600, atomically.
 */
import * as path from 'node:path';
import type { Credentials, OAuth2Client } from 'google-auth-library';
import { UserError, EXIT } from '../errors';
import { makeOAuthClient } from './clients';
import { missingScopes, shortScope } from './scopes';
import { parseTokenFile, readTokenFile, serializeToken, type ClientPair, type TokenFile, type TokenShape } from './token-file';
import { readFileIfExists, writeFileAtomic } from '../fs/atomic';

/** The subset of a pino logger this module uses. Only file paths and counts are logged, never token values. */
export interface AuthLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface LoadAuthOptions {
  env?: NodeJS.ProcessEnv;
  /**
   * Scopes the caller needs. They are checked against the scopes the file lists (a file that lists none is not
   * checked); they never narrow the token: the refresh keeps every scope the token was granted.
   */
  scopes?: readonly string[];
  /** credentials.json, for saved OAuth2Client tokens that hold no client id/secret (default: next to the token). */
  credentialsPath?: string;
  log?: AuthLogger;
  /** Pause before re-reading a token file another process is writing (default 50 ms; tests). */
  rereadDelayMs?: number;
}

export interface GoogleAuth {
  client: OAuth2Client;
  /** The scopes listed in the token file, as found (empty when the file lists none). */
  scopes: string[];
  /** The file's `account`, when not empty. */
  account?: string;
  tokenPath: string;
  shape: TokenShape;
  /** Resolves once every token write-back started so far has finished (they run one at a time). */
  flush(): Promise<void>;
}

const REDACTED = '[REDACTED]';

/**
 * Remove secrets from an error thrown by gaxios/google-auth-library before it travels further: gaxios' own redactor
 * blanks `client_secret` and `grant_type` in the request body but not `refresh_token`, `code` or `code_verifier`.
 * The request body is dropped entirely, and any known secret string is cut out of the message and stack.
 */
export function scrubError<E>(e: E, secrets: readonly (string | undefined)[]): E {
  if (typeof e !== 'object' || e === null) return e;
  const err = e as { config?: Record<string, unknown>; response?: { config?: Record<string, unknown> }; message?: unknown; stack?: unknown };
  for (const cfg of [err.config, err.response?.config]) {
    if (cfg && typeof cfg === 'object') {
      if ('data' in cfg) cfg.data = REDACTED;
      if ('body' in cfg) cfg.body = REDACTED;
    }
  }
  const cut = (s: string) => secrets.reduce<string>((acc, x) => (x && x.length >= 4 ? acc.split(x).join(REDACTED) : acc), s);
  try {
    if (typeof err.message === 'string') err.message = cut(err.message);
    if (typeof err.stack === 'string') err.stack = cut(err.stack);
  } catch {
    // read-only properties: leave them
  }
  return e;
}

/** The OAuth error code in a token-endpoint error response (`{error: 'invalid_grant', …}`), if any. */
export function oauthErrorCode(e: unknown): string | undefined {
  const data = (e as { response?: { data?: unknown } } | undefined)?.response?.data;
  let d: unknown = data;
  if (typeof data === 'string') {
    try {
      d = JSON.parse(data);
    } catch {
      return undefined;
    }
  }
  const code = (d as { error?: unknown } | undefined)?.error;
  return typeof code === 'string' ? code : undefined;
}

function signInAgain(tokenPath: string): string {
  const home = path.dirname(tokenPath);
  return (
    `Sign in again: move ${tokenPath} away, put your OAuth client file at ${path.join(home, 'credentials.json')} ` +
    `and re-run 'syft-bg init -e EMAIL' (or pass a fresh token with 'syft-bg init -e EMAIL -t TOKEN').`
  );
}

/** Turn a token-refresh failure into something the user can act on, without any secret in it. */
export function refreshFailure(e: unknown, tokenPath: string, secrets: readonly (string | undefined)[]): unknown {
  const code = oauthErrorCode(e);
  if (code === 'invalid_grant') {
    return new UserError(
      `Google refused the refresh token in ${tokenPath} (invalid_grant: it was revoked, it expired, or the account's password changed). ` +
        signInAgain(tokenPath),
      EXIT.failure,
    );
  }
  if (code === 'invalid_client' || code === 'unauthorized_client' || code === 'deleted_client') {
    return new UserError(
      `Google refused the OAuth client in ${tokenPath} (${code}: the client was deleted or its secret changed). ` + signInAgain(tokenPath),
      EXIT.failure,
    );
  }
  return scrubError(e, secrets);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fallbackClientFrom(credentialsPath: string): ClientPair | undefined {
  if (readFileIfExists(credentialsPath) === undefined) return undefined;
  const { readClientSecrets } = require('./oauth-flow') as typeof import('./oauth-flow');
  const s = readClientSecrets(credentialsPath);
  return { clientId: s.clientId, clientSecret: s.clientSecret };
}

/**
 * Load `token.json` and build an OAuth2Client (token endpoint: `<SYFT_BG_GOOGLE_ROOT_URL>token` when set, else the
 * file's `token_uri`). Refreshed tokens are written back (see `GoogleAuth.flush`); a revoked token becomes a
 * `UserError` telling the user to sign in again.
 */
export function loadAuth(tokenPath: string, opts: LoadAuthOptions = {}): GoogleAuth {
  const env = opts.env ?? process.env;
  const credentialsPath = opts.credentialsPath ?? path.join(path.dirname(tokenPath), 'credentials.json');
  // A saved OAuth2Client token has no client id/secret of its own: take them from credentials.json.
  const parsed: TokenFile = readTokenFile(tokenPath, { fallbackClient: () => fallbackClientFrom(credentialsPath) });
  const c = parsed.credentials;
  const account = typeof parsed.extra.account === 'string' && parsed.extra.account !== '' ? parsed.extra.account : undefined;
  if (opts.scopes && c.scopes.length > 0) {
    const missing = missingScopes(c.scopes, opts.scopes);
    if (missing.length > 0) {
      throw new UserError(
        `The Google token ${tokenPath} does not allow ${missing.map(shortScope).join(', ')} (it has ${c.scopes.map(shortScope).join(', ')}). ` +
          signInAgain(tokenPath),
        EXIT.failure,
      );
    }
  }

  const client = makeOAuthClient({ clientId: c.clientId, clientSecret: c.clientSecret, tokenUrl: c.tokenUri }, env);
  client.setCredentials({
    access_token: c.accessToken || undefined,
    refresh_token: c.refreshToken,
    // No expiry means "expired" for google-auth (Python): refresh before the first call.
    expiry_date: c.expiryMs ?? 1,
    scope: c.scopes.length > 0 ? c.scopes.join(' ') : undefined,
    token_type: 'Bearer',
  });

  const secrets = () => [c.refreshToken, c.clientSecret, c.accessToken, client.credentials.access_token ?? undefined, client.credentials.refresh_token ?? undefined];
  const internals = client as unknown as { refreshTokenNoCache(rt?: string | null): Promise<unknown> };
  const refresh = internals.refreshTokenNoCache.bind(client);
  internals.refreshTokenNoCache = async (rt?: string | null) => {
    try {
      return await refresh(rt);
    } catch (e) {
      throw refreshFailure(e, tokenPath, secrets());
    }
  };

  // What we loaded: the write-back only replaces a file that still holds this grant.
  const loadedRefresh = c.refreshToken;
  let current: TokenFile = parsed;
  let queue: Promise<void> = Promise.resolve();
  const rereadDelayMs = opts.rereadDelayMs ?? 50;

  const writeBack = async (t: Credentials): Promise<void> => {
    const next = {
      accessToken: t.access_token ?? undefined,
      expiryMs: t.expiry_date ?? undefined,
      refreshToken: t.refresh_token || current.credentials.refreshToken,
    };
    const replaced = current.credentials.accessToken;
    current = { ...current, credentials: { ...current.credentials, ...next } };
    // Re-read: another process (the other service, the Python tool) may have rewritten the file since we loaded it.
    let base: TokenFile | undefined;
    for (let attempt = 0; ; attempt++) {
      const text = readFileIfExists(tokenPath);
      if (text === undefined) {
        opts.log?.warn({ file: tokenPath }, 'The Google token file was removed; the refreshed token is not saved');
        return;
      }
      try {
        base = parseTokenFile(text, tokenPath, parsed.format?.clientInFile === false ? { fallbackClient: c } : {});
        break;
      } catch {
        // The Python tool writes in place (open + write): we may have read half a file. Look once more, then
        // replace it with what we know.
        if (attempt >= 1) break;
        await sleep(rereadDelayMs);
      }
    }
    if (base) {
      const theirs = base.credentials.refreshToken;
      if (theirs !== loadedRefresh && theirs !== current.credentials.refreshToken) {
        opts.log?.warn({ file: tokenPath }, 'The Google token file now holds another sign-in; leaving it alone');
        return;
      }
      const theirAccess = base.credentials.accessToken;
      if (
        theirAccess !== replaced &&
        base.credentials.expiryMs !== undefined &&
        next.expiryMs !== undefined &&
        base.credentials.expiryMs > next.expiryMs &&
        theirs === next.refreshToken
      ) {
        // Someone saved a newer access token for the same grant. (The token we refreshed away from does not count,
        // whatever its expiry says: Google refused it before its time.)
        return;
      }
    }
    const out: TokenFile = base
      ? { ...base, credentials: { ...base.credentials, ...next } }
      : current;
    writeFileAtomic(tokenPath, serializeToken(out), { mode: 0o600 });
    current = out;
    opts.log?.info({ file: tokenPath }, 'Saved the refreshed Google access token');
  };

  client.on('tokens', (t: Credentials) => {
    queue = queue
      .then(() => writeBack(t))
      .catch((e: unknown) => {
        const msg = scrubError(e instanceof Error ? e : new Error(String(e)), secrets()).message;
        opts.log?.warn({ file: tokenPath, error: msg }, 'Could not save the refreshed Google token');
      });
  });

  return {
    client,
    scopes: [...c.scopes],
    ...(account ? { account } : {}),
    tokenPath,
    shape: parsed.shape,
    flush: () => queue,
  };
}
