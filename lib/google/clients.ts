import type { drive_v3 } from '@googleapis/drive';
import type { gmail_v1 } from '@googleapis/gmail';
import type { OAuth2Client } from 'google-auth-library';
import { googleRootUrl } from './root-url';

/**
 * Per-call options for every request. googleapis-common rewrites normal requests to the client's `rootUrl`,
 * but builds *upload* URLs (media, multipart, resumable) from the per-call `rootUrl` only
 * (node-ecosystem.md §B.5), so uploads would still go to www.googleapis.com without this.
 */
export function callOptions(env: NodeJS.ProcessEnv = process.env): { rootUrl?: string } {
  const rootUrl = googleRootUrl(env);
  return rootUrl ? { rootUrl } : {};
}

/** A Drive v3 client that honours SYFT_BG_GOOGLE_ROOT_URL (loaded lazily: it costs ~60 ms). */
export function makeDrive(auth: OAuth2Client, env: NodeJS.ProcessEnv = process.env): drive_v3.Drive {
  const { drive } = require('@googleapis/drive') as typeof import('@googleapis/drive');
  return drive({ version: 'v3', auth, ...callOptions(env) });
}

/** A Gmail v1 client that honours SYFT_BG_GOOGLE_ROOT_URL (loaded lazily). */
export function makeGmail(auth: OAuth2Client, env: NodeJS.ProcessEnv = process.env): gmail_v1.Gmail {
  const { gmail } = require('@googleapis/gmail') as typeof import('@googleapis/gmail');
  return gmail({ version: 'v1', auth, ...callOptions(env) });
}

/**
 * An OAuth2 client whose token endpoint honours SYFT_BG_GOOGLE_ROOT_URL. Every request (API calls go through
 * the auth client's transporter) uses Node's built-in fetch: gaxios would otherwise load the ESM-only
 * node-fetch with a dynamic import, which costs start-up time and does not load under jest's CommonJS runtime.
 */
export function makeOAuthClient(opts: { clientId?: string; clientSecret?: string; tokenUrl?: string }, env: NodeJS.ProcessEnv = process.env): OAuth2Client {
  const { OAuth2Client: Client } = require('google-auth-library') as typeof import('google-auth-library');
  const { oauthTokenUrl } = require('./root-url') as typeof import('./root-url');
  const client = new Client({
    clientId: opts.clientId,
    clientSecret: opts.clientSecret,
    endpoints: { oauth2TokenUrl: oauthTokenUrl(env, opts.tokenUrl) },
    transporterOptions: { fetchImplementation: globalThis.fetch as never },
  });
  // google-auth-library asks gaxios to retry its token requests (OAuth2Client.RETRY_CONFIG) and our API calls
  // retry too (retry.ts): a failing token endpoint would be hit attempts × 4 times. Exactly one layer retries:
  // ours, which sees a failed refresh as "not sent" and retries the whole call. An authorization code (the
  // desktop flow) is single-use, so retrying its exchange blindly was never right either.
  const transporter = client.transporter;
  const request = transporter.request.bind(transporter);
  // Every request gets a time limit: API calls pass their attempt's; token requests (refresh, code exchange) pass
  // none, and a token endpoint that never answers would hold the call, and the service's cycle, forever.
  transporter.request = ((o: Parameters<typeof request>[0]) =>
    request({ ...o, timeout: o?.timeout ?? TOKEN_REQUEST_TIMEOUT_MS, retry: false, retryConfig: { retry: 0, noResponseRetries: 0 } })) as typeof transporter.request;
  return client;
}

/** Time limit of a request that brings none of its own (the OAuth token requests). */
export const TOKEN_REQUEST_TIMEOUT_MS = 30_000;

/** The access token `client` holds now (what an attempt starting now will send, unless it refreshes first). */
export function currentAccessToken(client: OAuth2Client): string | null | undefined {
  return (client as Partial<OAuth2Client>).credentials?.access_token;
}

/**
 * The `onUnauthorized` hook of `withRetry` (retry.ts) for calls made with `client`. google-auth-library refreshes an
 * access token only when its expiry says so (or on a 401 when no expiry is known, which we never leave unset);
 * a token Google refuses *before* its expiry (clock skew, revoked early) would otherwise stay in use until it
 * expires, and the services would tell the user to sign in again although the refresh token is fine. Given the
 * token the failed attempt started with (`currentAccessToken` before it), the hook marks that token expired so the
 * next attempt refreshes first; when the client already holds another token (a concurrent call refreshed, or the
 * attempt refreshed before sending), it just lets the call try again. False when there is no refresh token.
 */
export function reauthorizer(client: OAuth2Client): (tokenAtStart: string | null | undefined) => boolean {
  return (tokenAtStart) => {
    const c = (client as Partial<OAuth2Client>).credentials;
    if (!c?.refresh_token) return false;
    if (c.access_token === tokenAtStart) client.setCredentials({ ...c, expiry_date: 1 });
    return true;
  };
}
