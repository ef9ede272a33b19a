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
  return new Client({
    clientId: opts.clientId,
    clientSecret: opts.clientSecret,
    endpoints: { oauth2TokenUrl: oauthTokenUrl(env, opts.tokenUrl) },
    transporterOptions: { fetchImplementation: globalThis.fetch as never },
  });
}
