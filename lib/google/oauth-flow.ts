/**
 * The desktop ("installed app") OAuth flow of https://developers.google.com/identity/protocols/oauth2/native-app :
 * loopback redirect on 127.0.0.1 (random port), PKCE S256, `state`, offline access with forced consent (so Google
 * returns a refresh token), then the code exchange, a check of the account that signed in, and one `token.json` in
 * the Python google-auth shape.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import type { OAuth2Client } from 'google-auth-library';
import { UserError, EXIT } from '../errors';
import { makeOAuthClient } from './clients';
import { googleRootUrl } from './root-url';
import { INIT_SCOPES, SERVICE_SCOPES, missingScopes, shortScope } from './scopes';
import { GOOGLE_TOKEN_URI, newPythonToken, writeTokenFile } from './token-file';
import { oauthErrorCode, scrubError } from './auth';

export const GOOGLE_AUTH_URI = 'https://accounts.google.com/o/oauth2/auth';
export const DEFAULT_FLOW_TIMEOUT_MS = 5 * 60_000;

/** An OAuth client file (`credentials.json`) as downloaded from the Google Cloud console. */
export interface ClientSecrets {
  kind: 'installed' | 'web';
  clientId: string;
  clientSecret: string;
  authUri: string;
  tokenUri: string;
  redirectUris: string[];
}

function badSecrets(file: string, what: string): UserError {
  return new UserError(`OAuth client file ${file}: ${what}`, EXIT.usage);
}

/** Parse `credentials.json`: `{"installed": {…}}` (Desktop app) or `{"web": {…}}`. */
export function parseClientSecrets(text: string, file: string): ClientSecrets {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw badSecrets(file, 'not valid JSON');
  }
  const o = v as Record<string, unknown> | null;
  const kind = o && typeof o === 'object' ? (['installed', 'web'] as const).find((k) => typeof o[k] === 'object' && o[k] !== null) : undefined;
  if (!o || !kind) {
    throw badSecrets(
      file,
      'expected {"installed": {...}}: create an OAuth client ID of type "Desktop app" in the Google Cloud console ' +
        '(APIs & Services → Credentials) and download its JSON',
    );
  }
  const s = o[kind] as Record<string, unknown>;
  const get = (k: string): string | undefined => {
    const x = s[k];
    if (x === undefined || x === null) return undefined;
    if (typeof x !== 'string') throw badSecrets(file, `"${kind}.${k}" must be a string`);
    return x;
  };
  const missing = ['client_id', 'client_secret'].filter((k) => !get(k));
  if (missing.length > 0) throw badSecrets(file, `missing ${missing.map((k) => `"${kind}.${k}"`).join(', ')}`);
  const uris = s.redirect_uris;
  return {
    kind,
    clientId: get('client_id')!,
    clientSecret: get('client_secret')!,
    authUri: get('auth_uri') || GOOGLE_AUTH_URI,
    tokenUri: get('token_uri') || GOOGLE_TOKEN_URI,
    redirectUris: Array.isArray(uris) ? uris.filter((u): u is string => typeof u === 'string') : [],
  };
}

export function readClientSecrets(file: string): ClientSecrets {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(code === 'ENOENT' ? `OAuth client file not found: ${file}` : `Cannot read OAuth client file ${file} (${code ?? 'error'})`, EXIT.usage);
  }
  return parseClientSecrets(text, file);
}

/** PKCE (RFC 7636) with S256: a 64-character verifier and its challenge. */
export function makePkce(): { verifier: string; challenge: string } {
  const verifier = crypto.randomBytes(48).toString('base64url');
  return { verifier, challenge: crypto.createHash('sha256').update(verifier).digest('base64url') };
}

export interface AuthUrlParams {
  authEndpoint: string;
  clientId: string;
  redirectUri: string;
  scopes: readonly string[];
  state: string;
  codeChallenge: string;
  loginHint?: string;
}

export function buildAuthUrl(p: AuthUrlParams): string {
  const u = new URL(p.authEndpoint);
  const q: Array<[string, string]> = [
    ['client_id', p.clientId],
    ['redirect_uri', p.redirectUri],
    ['response_type', 'code'],
    ['scope', p.scopes.join(' ')],
    ['state', p.state],
    ['code_challenge', p.codeChallenge],
    ['code_challenge_method', 'S256'],
    ['access_type', 'offline'],
    ['prompt', 'consent'],
  ];
  if (p.loginHint) q.push(['login_hint', p.loginHint]);
  for (const [k, v] of q) u.searchParams.set(k, v);
  return u.toString();
}

/** The auth endpoint: `<SYFT_BG_GOOGLE_ROOT_URL>o/oauth2/v2/auth` when set, else credentials.json's `auth_uri`. */
export function authEndpoint(secrets: ClientSecrets, env: NodeJS.ProcessEnv = process.env): string {
  const root = googleRootUrl(env);
  return root ? new URL('o/oauth2/v2/auth', root).toString() : secrets.authUri;
}

function onPath(cmd: string, env: NodeJS.ProcessEnv): boolean {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      fs.accessSync(path.join(dir, cmd), fs.constants.X_OK);
      return true;
    } catch {
      // next
    }
  }
  return false;
}

/**
 * Open `url` in the desktop's browser (`open` on macOS; `xdg-open` on Linux when a display is available), detached,
 * errors ignored. Returns whether a browser was launched (as far as we can tell).
 */
export function openInBrowser(url: string, o: { platform?: NodeJS.Platform; env?: NodeJS.ProcessEnv } = {}): boolean {
  const platform = o.platform ?? process.platform;
  const env = o.env ?? process.env;
  let cmd: string;
  let args: string[];
  if (platform === 'darwin') {
    cmd = 'open';
    args = [url];
  } else if (platform === 'win32') {
    cmd = 'rundll32';
    args = ['url.dll,FileProtocolHandler', url];
  } else {
    if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return false;
    if (!onPath('xdg-open', env)) return false;
    cmd = 'xdg-open';
    args = [url];
  }
  try {
    const child = spawn(cmd, args, { detached: true, stdio: 'ignore', env });
    child.on('error', () => {});
    child.unref();
    return true;
  } catch {
    return false;
  }
}

const PAGE = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head>` +
  `<body style="font-family:sans-serif;margin:3em"><h2>${title}</h2><p>${body}</p></body></html>`;

function answer(res: http.ServerResponse, status: number, title: string, body: string): void {
  const html = PAGE(title, body);
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html), connection: 'close' });
  res.end(html);
}

interface Redirect {
  params: URLSearchParams;
  res: http.ServerResponse;
}

interface Loopback {
  redirectUri: string;
  port: number;
  next: Promise<Redirect>;
  close(): Promise<void>;
}

/** Where Google redirects to: a loopback URI registered for a web client, else `http://127.0.0.1:<random port>/`. */
function loopbackTarget(secrets: ClientSecrets): { port: number; pathname: string; redirectUri?: string } {
  if (secrets.kind === 'web') {
    for (const r of secrets.redirectUris) {
      try {
        const u = new URL(r);
        if (u.protocol === 'http:' && ['127.0.0.1', 'localhost'].includes(u.hostname) && u.port) {
          return { port: Number(u.port), pathname: u.pathname || '/', redirectUri: r };
        }
      } catch {
        // not a URL
      }
    }
  }
  return { port: 0, pathname: '/' };
}

async function startLoopback(secrets: ClientSecrets): Promise<Loopback> {
  const target = loopbackTarget(secrets);
  let deliver!: (r: Redirect) => void;
  const next = new Promise<Redirect>((resolve) => (deliver = resolve));
  let delivered = false;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' || url.pathname !== target.pathname) {
      answer(res, 404, 'Not found', 'This is syft-bg\'s sign-in helper; it only answers Google\'s redirect.');
      return;
    }
    const p = url.searchParams;
    if (!p.has('code') && !p.has('error')) {
      answer(res, 400, 'Waiting for Google', 'This address receives Google\'s answer after you sign in. Nothing to do here.');
      return;
    }
    if (delivered) {
      answer(res, 409, 'Already done', 'syft-bg already received an answer from Google. You can close this tab.');
      return;
    }
    delivered = true;
    deliver({ params: p, res });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new UserError(`Cannot listen on 127.0.0.1:${target.port} for the Google sign-in (${e.code ?? e.message})`, EXIT.failure)),
    );
    server.listen(target.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    redirectUri: target.redirectUri ?? `http://127.0.0.1:${port}/`,
    next,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface DesktopFlowOptions {
  /** `credentials.json` (the OAuth client). */
  credentialsPath: string;
  /** Where to store the token (`<home>/token.json`). */
  tokenPath: string;
  /** The account to sign in as (`login_hint`). */
  email?: string;
  /** Default: INIT_SCOPES (Gmail + Drive). */
  scopes?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Try to open a browser (default true; `--no-browser` sets false). */
  openBrowser?: boolean;
  /** Default 5 minutes. */
  timeoutMs?: number;
  /** Output, one line per call (default: stdout). */
  print?: (line: string) => void;
  /** Browser launcher (default: openInBrowser). */
  opener?: (url: string) => boolean;
}

/**
 * Which Google account the new tokens belong to, asked with the scopes that were granted: Drive `about.get`
 * (`user.emailAddress`, https://developers.google.com/workspace/drive/api/reference/rest/v3/about) when `drive` was
 * granted, else (or when Drive does not answer) Gmail `users.getProfile` (`emailAddress`,
 * https://developers.google.com/workspace/gmail/api/reference/rest/v1/users/getProfile). The token response carries an
 * `id_token` naming the account only for the `openid`/`email` scopes, which syft-bg does not ask for. Undefined when
 * no granted scope allows either call; a UserError (exit 1) when every call failed.
 */
export async function signedInAccount(client: OAuth2Client, granted: readonly string[], env: NodeJS.ProcessEnv): Promise<string | undefined> {
  // A few quick attempts: the user is waiting at the terminal.
  const retry = { maxAttempts: 3, deadlineMs: 30_000, attemptTimeoutMs: 20_000 };
  const asks: Array<() => Promise<string>> = [];
  if (missingScopes(granted, SERVICE_SCOPES.approve).length === 0) {
    asks.push(() => (require('./drive') as typeof import('./drive')).createDriveApi(client, { env, retry }).whoami());
  }
  if (missingScopes(granted, SERVICE_SCOPES.notify).length === 0) {
    asks.push(async () => (await (require('./gmail') as typeof import('./gmail')).createGmailApi(client, { env, retry }).getProfile()).emailAddress);
  }
  if (asks.length === 0) return undefined;
  const failures: string[] = [];
  for (const ask of asks) {
    try {
      return await ask();
    } catch (e) {
      failures.push((e as Error).message);
    }
  }
  throw new UserError(
    `Could not find out which Google account signed in (${failures.join('; ')}). Nothing was stored; re-run 'syft-bg init'.`,
    EXIT.failure,
  );
}

/** The refusal of a sign-in with another account than the data owner's (nothing is stored). */
export function wrongAccountMessage(signedIn: string, expected: string): string {
  return `You signed in as ${signedIn}, but this syft-bg is for ${expected}: sign in again with that account (or run 'syft-bg init -e ${signedIn}').`;
}

export interface DesktopFlowResult {
  tokenPath: string;
  /** The scopes stored in the token (those Google granted). */
  scopes: string[];
  /** Requested scopes Google did not grant (the user unticked them on the consent screen). */
  missing: string[];
}

const SCOPE_NAME: Record<string, string> = {
  'https://www.googleapis.com/auth/gmail.modify': 'Gmail',
  'https://www.googleapis.com/auth/drive': 'Google Drive',
};

/** What a missing scope breaks, for the warning after the sign-in. */
const SCOPE_USE: Record<string, string> = {
  'https://www.googleapis.com/auth/gmail.modify': 'e-mail notifications through Gmail',
  'https://www.googleapis.com/auth/drive': 'approvals through Google Drive',
};

/** Run the desktop sign-in and store `token.json` (Python shape, mode 0600, atomic). Nothing is written on failure. */
export async function runDesktopFlow(o: DesktopFlowOptions): Promise<DesktopFlowResult> {
  const env = o.env ?? process.env;
  const print = o.print ?? ((l: string) => void process.stdout.write(l + '\n'));
  const secrets = readClientSecrets(o.credentialsPath);
  const scopes = [...(o.scopes ?? INIT_SCOPES)];
  const timeoutMs = o.timeoutMs ?? DEFAULT_FLOW_TIMEOUT_MS;
  const pkce = makePkce();
  const state = crypto.randomBytes(24).toString('base64url');
  const loop = await startLoopback(secrets);
  let timer: NodeJS.Timeout | undefined;
  try {
    const url = buildAuthUrl({
      authEndpoint: authEndpoint(secrets, env),
      clientId: secrets.clientId,
      redirectUri: loop.redirectUri,
      scopes,
      state,
      codeChallenge: pkce.challenge,
      ...(o.email ? { loginHint: o.email } : {}),
    });
    const who = o.email ? ` as ${o.email}` : '';
    const names = [...new Set(scopes.map((s) => SCOPE_NAME[s] ?? shortScope(s)))];
    print(`To let syft-bg use ${names.join(' and ')}${who}, open this URL in a browser and allow access:`);
    print('');
    print(url);
    print('');
    const opened = o.openBrowser !== false && (o.opener ?? openInBrowser)(url);
    if (opened) print('(A browser window should have opened.)');
    else print(`The browser must run on this machine. From another computer, forward the port first: ssh -L ${loop.port}:127.0.0.1:${loop.port} <this host>`);
    const minutes = Math.round((timeoutMs / 60_000) * 10) / 10;
    print(`Waiting up to ${minutes} minute${minutes === 1 ? '' : 's'} for Google to send you back to ${loop.redirectUri} …`);

    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new UserError(
              `Timed out after ${minutes} minute${minutes === 1 ? '' : 's'} waiting for the Google sign-in (nothing came back to ${loop.redirectUri}). ` +
                `Re-run 'syft-bg init' to try again, or add --no-google to set up without a Google account.`,
              EXIT.failure,
            ),
          ),
        timeoutMs,
      );
    });
    const { params, res } = await Promise.race([loop.next, timeout]);
    clearTimeout(timer);

    try {
      if (params.get('state') !== state) {
        throw new UserError('The answer from Google did not carry the state syft-bg sent (a stale tab, or someone else\'s redirect). Nothing was stored; re-run \'syft-bg init\'.', EXIT.failure);
      }
      const error = params.get('error');
      if (error === 'access_denied') {
        throw new UserError(
          "Google sign-in was cancelled or access was denied (access_denied): no token was stored. Re-run 'syft-bg init' and choose Allow, " +
            'or add --no-google to set up without a Google account.',
          EXIT.failure,
        );
      }
      if (error) throw new UserError(`Google sign-in failed (${error.replace(/[^\w.-]/g, '?').slice(0, 64)}): no token was stored.`, EXIT.failure);
      const code = params.get('code') ?? '';
      const client = makeOAuthClient({ clientId: secrets.clientId, clientSecret: secrets.clientSecret, tokenUrl: secrets.tokenUri }, env);
      let tokens;
      try {
        ({ tokens } = await client.getToken({ code, codeVerifier: pkce.verifier, redirect_uri: loop.redirectUri }));
      } catch (e) {
        const oauth = oauthErrorCode(e);
        const clean = scrubError(e, [code, pkce.verifier, secrets.clientSecret]) as Error;
        throw new UserError(
          oauth
            ? `Google refused the sign-in code (${oauth}). Nothing was stored; re-run 'syft-bg init'.`
            : `Could not exchange the sign-in code at the token endpoint (${(clean as { code?: unknown }).code ?? clean.message}). Nothing was stored.`,
          EXIT.failure,
        );
      }
      if (!tokens.refresh_token || !tokens.access_token) {
        throw new UserError(
          'Google did not return a refresh token. Remove syft-bg\'s access at https://myaccount.google.com/permissions and re-run \'syft-bg init\'.',
          EXIT.failure,
        );
      }
      const granted = typeof tokens.scope === 'string' && tokens.scope.trim() !== '' ? tokens.scope.split(/\s+/) : undefined;
      // Store what was granted (requested order first): Python refreshes with the file's scopes, and asking for a
      // scope that was not granted fails with invalid_scope.
      const stored = granted ? [...scopes.filter((s) => granted.includes(s)), ...granted.filter((s) => !scopes.includes(s))] : scopes;
      // `login_hint` only preselects an account: the user can pick another one in Google's account chooser. A token of
      // another account is not stored (the previous state stays: no token), else setup-status would say Ready and the
      // services would fail at start. The file's `account` stays "" as google-auth-oauthlib writes it.
      if (o.email) {
        client.setCredentials(tokens);
        const who = await signedInAccount(client, stored, env);
        if (who !== undefined && who.trim().toLowerCase() !== o.email.trim().toLowerCase()) {
          throw new UserError(wrongAccountMessage(who, o.email), EXIT.failure);
        }
      }
      writeTokenFile(
        o.tokenPath,
        newPythonToken({
          accessToken: tokens.access_token,
          refreshToken: tokens.refresh_token,
          clientId: secrets.clientId,
          clientSecret: secrets.clientSecret,
          tokenUri: secrets.tokenUri,
          scopes: stored,
          ...(tokens.expiry_date ? { expiryMs: tokens.expiry_date } : {}),
        }),
      );
      answer(res, 200, 'syft-bg is signed in', 'syft-bg received the authorization. You can close this tab.');
      const missing = missingScopes(stored, scopes);
      print(`Stored Google token at ${o.tokenPath} (scopes: ${stored.map(shortScope).join(', ')})`);
      if (missing.length > 0) {
        print(
          `Warning: Google did not grant ${missing.map(shortScope).join(', ')}; ` +
            `${missing.map((s) => SCOPE_USE[s] ?? shortScope(s)).join(' and ')} will not work until you sign in again and allow it.`,
        );
      }
      return { tokenPath: o.tokenPath, scopes: stored, missing };
    } catch (e) {
      if (!res.headersSent) answer(res, 400, 'syft-bg sign-in failed', e instanceof UserError ? escapeHtml(e.message) : 'See the terminal for details.');
      throw e;
    }
  } finally {
    clearTimeout(timer);
    await loop.close();
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
