/**
 * Core of the loopback Google API emulator: HTTP server, routing, bearer-token users, Google-shaped errors,
 * per-route fault injection and request counters. Drive, Gmail and OAuth routes are registered by their modules.
 * Behaviour follows Google's documented semantics; see the comments in each route module.
 */
import * as http from 'node:http';
import * as crypto from 'node:crypto';
import { AddressInfo } from 'node:net';

export interface User {
  email: string;
  /**
   * In a {@link RequestContext}: the OAuth client the request's access token was issued to (what Drive keys
   * `appProperties` by). In `World.users`: the client of the user's first grant.
   */
  clientId: string;
}

export interface IssuedToken {
  email: string;
  scopes: string[];
  expiresAt: number;
  /** The OAuth client the token was issued to (token endpoint: the authenticated client_id). */
  clientId: string;
  /** The refresh token (grant) this access token was issued from, so revoking one revokes the other. */
  refreshToken?: string;
}

/**
 * The OAuth client of tokens made by `POST /__admin/users` (and `--users`, `World.addUser`) when no client is named;
 * registered on first use with a random secret (returned with the user's tokens).
 */
export const DEFAULT_CLIENT_ID = 'emulator-default-client.apps.googleusercontent.com';

export interface Fault {
  /**
   * Route key, e.g. `drive.files.list`; `*` for every API route; or a prefix ending in `*`, e.g. `drive.upload.*`.
   * Admin routes (`/__admin/…`) are never faulted.
   */
  route: string;
  /** HTTP status to answer with (with a Google error body). */
  status?: number;
  /** `errors[0].reason` in the body, e.g. `rateLimitExceeded`, `backendError`. */
  reason?: string;
  /** Seconds for a `Retry-After` header. */
  retryAfter?: number;
  /** Delay before answering (ms). Applied to the real answer when no status is set. */
  latencyMs?: number;
  /** Destroy the connection without answering. */
  drop?: boolean;
  /** How many matching requests this fault applies to (default 1; -1 = forever). */
  count?: number;
}

export interface RequestContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  url: URL;
  params: Record<string, string>;
  /** Raw request body. */
  body: Buffer;
  /** The authenticated user and the OAuth client of its access token (routes registered with auth: true). */
  user: User;
  route: string;
}

export type Handler = (ctx: RequestContext) => void | Promise<void>;

interface Route {
  key: string;
  method: string;
  pattern: RegExp;
  names: string[];
  auth: boolean;
  /** Under `/__admin/`: test plumbing, not API traffic (no counters, no faults). */
  admin: boolean;
  handler: Handler;
}

export class HttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly reason: string,
    readonly status?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  412: 'FAILED_PRECONDITION',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
};

/** Google's JSON error format: https://cloud.google.com/apis/design/errors#http_mapping */
export function errorBody(code: number, message: string, reason: string, status?: string) {
  return {
    error: {
      code,
      message,
      errors: [{ message, domain: 'global', reason }],
      status: status ?? STATUS_TEXT[code] ?? 'UNKNOWN',
    },
  };
}

export function sendJson(res: http.ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function newId(prefix = ''): string {
  return prefix + crypto.randomBytes(12).toString('base64url');
}

/** State shared by all route modules. */
export class World {
  readonly users = new Map<string, User>();
  readonly tokens = new Map<string, IssuedToken>();
  /** refresh token → grant */
  readonly refreshTokens = new Map<string, { email: string; clientId: string; scopes: string[] }>();
  /** OAuth clients: id → secret */
  readonly clients = new Map<string, string>();
  faults: Fault[] = [];
  /** API requests per route key (admin routes are not counted). */
  readonly counters = new Map<string, number>();
  /**
   * Lifetime in seconds of access tokens issued from now on (Google's: 3600, the default). Set with
   * `--token-lifetime` or `POST /__admin/oauth/lifetime`; `reset()` keeps it.
   */
  tokenLifetimeS = 3600;
  /** Free-form per-module state (drive, gmail). */
  readonly modules = new Map<string, unknown>();

  constructor(readonly now: () => number = Date.now) {}

  addClient(clientId = newId('client-') + '.apps.googleusercontent.com', secret = newId('secret-')): { clientId: string; clientSecret: string } {
    this.clients.set(clientId, secret);
    return { clientId, clientSecret: secret };
  }

  /** The {@link DEFAULT_CLIENT_ID} client, registered on first use. */
  defaultClient(): { clientId: string; clientSecret: string } {
    const secret = this.clients.get(DEFAULT_CLIENT_ID);
    return secret !== undefined ? { clientId: DEFAULT_CLIENT_ID, clientSecret: secret } : this.addClient(DEFAULT_CLIENT_ID);
  }

  /**
   * Create (or fetch) a user and issue a fresh grant (access + refresh token) for it, to `opts.clientId` (which must
   * be registered) or to the default client {@link DEFAULT_CLIENT_ID}.
   */
  addUser(email: string, opts: { clientId?: string; scopes?: string[] } = {}) {
    let client: { clientId: string; clientSecret: string };
    if (opts.clientId !== undefined) {
      const secret = this.clients.get(opts.clientId);
      if (secret === undefined) throw new HttpError(400, `Unknown OAuth client ${opts.clientId}: create it with POST /__admin/clients first`, 'badRequest');
      client = { clientId: opts.clientId, clientSecret: secret };
    } else client = this.defaultClient();
    if (!this.users.has(email)) this.users.set(email, { email, clientId: client.clientId });
    const scopes = opts.scopes ?? ['https://www.googleapis.com/auth/drive', 'https://www.googleapis.com/auth/gmail.modify'];
    const refreshToken = newId('1//');
    this.refreshTokens.set(refreshToken, { email, clientId: client.clientId, scopes });
    const accessToken = this.issueAccessToken(email, scopes, client.clientId, refreshToken);
    return { email, accessToken, refreshToken, clientId: client.clientId, clientSecret: client.clientSecret, scopes };
  }

  issueAccessToken(email: string, scopes: string[], clientId: string, refreshToken?: string): string {
    const t = newId('ya29.');
    this.tokens.set(t, { email, scopes, expiresAt: this.now() + this.tokenLifetimeS * 1000, clientId, refreshToken });
    return t;
  }

  /**
   * The caller of an API request from its `Authorization: Bearer` header: the user and the OAuth client of the
   * token, or undefined for a missing, unknown or expired token or a removed user (Google answers 401).
   */
  authenticate(authorization: string | undefined): User | undefined {
    const m = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
    const tok = m ? this.tokens.get(m[1]!.trim()) : undefined;
    const user = tok ? this.users.get(tok.email) : undefined;
    if (!tok || !user || tok.expiresAt <= this.now()) return undefined;
    return { email: user.email, clientId: tok.clientId };
  }

  count(route: string): void {
    this.counters.set(route, (this.counters.get(route) ?? 0) + 1);
  }

  /** The first fault matching this route, consumed once. */
  takeFault(route: string): Fault | undefined {
    const i = this.faults.findIndex((f) => f.route === route || f.route === '*' || (f.route.endsWith('*') && route.startsWith(f.route.slice(0, -1))));
    if (i < 0) return undefined;
    const f = this.faults[i]!;
    const left = f.count ?? 1;
    if (left !== -1) {
      if (left <= 1) this.faults.splice(i, 1);
      else f.count = left - 1;
    }
    return f;
  }

  module<T>(name: string, init: () => T): T {
    if (!this.modules.has(name)) this.modules.set(name, init());
    return this.modules.get(name) as T;
  }

  reset(): void {
    this.users.clear();
    this.tokens.clear();
    this.refreshTokens.clear();
    this.clients.clear();
    this.faults = [];
    this.counters.clear();
    this.modules.clear();
  }
}

export class Router {
  readonly routes: Route[] = [];

  /** Register `METHOD /path/:param/...` under a route key used by faults and counters. */
  add(key: string, method: string, path: string, handler: Handler, opts: { auth?: boolean } = {}): void {
    const names: string[] = [];
    const pattern = new RegExp(
      '^' +
        path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\/:(\w+)/g, (_m, n: string) => {
          names.push(n);
          return '/([^/]+)';
        }) +
        '$',
    );
    this.routes.push({ key, method, pattern, names, auth: opts.auth ?? true, admin: path.startsWith('/__admin/'), handler });
  }

  /** The distinct route keys of API (non-admin) routes. */
  apiKeys(): string[] {
    return [...new Set(this.routes.filter((r) => !r.admin).map((r) => r.key))];
  }

  match(method: string, pathname: string): { route: Route; params: Record<string, string> } | undefined {
    for (const r of this.routes) {
      if (r.method !== method) continue;
      const m = r.pattern.exec(pathname);
      if (!m) continue;
      const params: Record<string, string> = {};
      r.names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1]!)));
      return { route: r, params };
    }
    return undefined;
  }
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export interface Emulator {
  url: string;
  port: number;
  world: World;
  router: Router;
  close(): Promise<void>;
}

export type Module = (router: Router, world: World) => void;

/** Start the emulator on 127.0.0.1 (port 0 = any free port) with the given route modules. */
export async function startServer(modules: Module[], opts: { port?: number; host?: string; world?: World } = {}): Promise<Emulator> {
  const world = opts.world ?? new World();
  const router = new Router();
  registerAdmin(router, world);
  for (const m of modules) m(router, world);

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const found = router.match(req.method ?? 'GET', url.pathname);
    if (!found) {
      sendJson(res, 404, errorBody(404, `No emulated route for ${req.method} ${url.pathname}`, 'notFound'));
      return;
    }
    const { route, params } = found;
    // Counters and faults are for API traffic only: benchmarks count Drive calls with them.
    if (!route.admin) world.count(route.key);
    try {
      const body = await readBody(req);
      if (!route.admin) {
        const fault = world.takeFault(route.key);
        if (fault) {
          if (fault.latencyMs) await new Promise((r) => setTimeout(r, fault.latencyMs));
          if (fault.drop) {
            req.socket.destroy();
            return;
          }
          if (fault.status) {
            const headers: Record<string, string> = fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {};
            sendJson(res, fault.status, errorBody(fault.status, `Injected fault on ${route.key}`, fault.reason ?? defaultReason(fault.status)), headers);
            return;
          }
        }
      }
      let user: User | undefined;
      if (route.auth) {
        user = world.authenticate(req.headers.authorization);
        if (!user) {
          // https://developers.google.com/workspace/drive/api/guides/handle-errors#resolve_a_401_error_invalid_credentials
          sendJson(res, 401, errorBody(401, 'Request had invalid authentication credentials.', 'authError'), {
            'www-authenticate': 'Bearer realm="https://accounts.google.com/"',
          });
          return;
        }
      }
      await route.handler({ req, res, url, params, body, user: user ?? { email: '', clientId: '' }, route: route.key });
    } catch (e) {
      if (e instanceof HttpError) {
        sendJson(res, e.code, errorBody(e.code, e.message, e.reason, e.status), e.headers);
      } else {
        sendJson(res, 500, errorBody(500, `Emulator bug: ${(e as Error).message}`, 'internalError'));
      }
    }
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    world,
    router,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function defaultReason(status: number): string {
  if (status === 429) return 'rateLimitExceeded';
  if (status === 403) return 'userRateLimitExceeded';
  if (status >= 500) return 'backendError';
  return 'badRequest';
}

/** An admin request body: JSON (an empty body is `{}`); anything else is 400, never an "Emulator bug" 500. */
export function adminJson(body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (e) {
    throw new HttpError(400, `Invalid JSON payload received: ${(e as Error).message}`, 'parseError');
  }
}

/** An admin request body that must be a JSON object. */
export function adminObject(body: Buffer): Record<string, unknown> {
  const v = adminJson(body);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new HttpError(400, 'Expected a JSON object', 'badRequest');
  return v as Record<string, unknown>;
}

const FAULT_KEYS = new Set(['route', 'status', 'reason', 'retryAfter', 'latencyMs', 'drop', 'count']);

/**
 * Check one fault of `POST /__admin/faults`: known fields of the right types, and a route that exists (`*`, a key
 * of an API route, or a prefix ending in `*` that matches at least one), so that a typo never silently fails to fire.
 */
export function validateFault(v: unknown, routes: readonly string[], where = 'fault'): Fault {
  const bad = (msg: string) => new HttpError(400, `${where}: ${msg}`, 'badRequest');
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad('expected an object {route, status?, reason?, retryAfter?, latencyMs?, drop?, count?}');
  const f = v as Record<string, unknown>;
  const unknown = Object.keys(f).filter((k) => !FAULT_KEYS.has(k));
  if (unknown.length > 0) throw bad(`unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${[...FAULT_KEYS].join(', ')})`);
  if (typeof f.route !== 'string' || f.route === '') throw bad('route is required (a route key such as drive.files.list, or *)');
  const route = f.route;
  const known = route.endsWith('*') ? routes.some((r) => r.startsWith(route.slice(0, -1))) : routes.includes(route);
  if (!known) throw bad(`unknown route '${route}'; known routes: ${[...routes].sort().join(', ')}`);
  const int = (k: string, ok: (n: number) => boolean, what: string) => {
    if (f[k] === undefined) return;
    if (typeof f[k] !== 'number' || !Number.isInteger(f[k]) || !ok(f[k] as number)) throw bad(`${k} must be ${what}`);
  };
  int('status', (n) => n >= 400 && n <= 599, 'an HTTP error status (400-599)');
  int('retryAfter', (n) => n >= 0, 'a whole number of seconds >= 0');
  int('latencyMs', (n) => n >= 0, 'a whole number of milliseconds >= 0');
  int('count', (n) => n >= 1 || n === -1, 'a number of requests >= 1, or -1 for every request');
  if (f.reason !== undefined && typeof f.reason !== 'string') throw bad('reason must be a string');
  if (f.drop !== undefined && typeof f.drop !== 'boolean') throw bad('drop must be true or false');
  if (f.status === undefined && f.latencyMs === undefined && f.drop !== true) throw bad('a fault needs status, latencyMs or drop: true');
  return f as unknown as Fault;
}

/** An e-mail address as the admin API accepts it: one `@`, no spaces, a dotted domain (kept simple). */
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * A scope Google's authorization endpoint accepts: a scope URL (`https://www.googleapis.com/auth/drive`,
 * `https://mail.google.com/`) or one of the OpenID Connect short forms
 * (https://developers.google.com/identity/protocols/oauth2/scopes#openid-connect).
 */
export function isScope(s: string): boolean {
  if (s === 'openid' || s === 'email' || s === 'profile') return true;
  try {
    const u = new URL(s);
    return u.protocol === 'https:' && u.hostname.includes('.') && !/\s/.test(s);
  } catch {
    return false;
  }
}

/**
 * Admin endpoints (no auth) for tests and benchmarks. They are not API traffic: neither counted nor faulted.
 * - `POST /__admin/users {email, scopes?, clientId?}` → `{email, accessToken, refreshToken, clientId, clientSecret, scopes}`.
 *   400 for an `email` that is not an address or a scope that is neither an https:// URL nor openid/email/profile.
 *   Without `clientId` the tokens belong to the default client {@link DEFAULT_CLIENT_ID}; a `clientId` must have been
 *   created with `POST /__admin/clients`. Calling it again for the same e-mail adds a grant (e.g. for another client).
 * - `POST /__admin/clients` → `{clientId, clientSecret}`
 * - `POST /__admin/faults Fault | Fault[]` (appends; 400 for invalid JSON, an unknown route or field), `DELETE /__admin/faults`
 * - `GET /__admin/counters` → `{route: count}` (API routes only); `DELETE /__admin/counters`
 * - `POST /__admin/reset` (everything but the configured token lifetime)
 */
function registerAdmin(router: Router, world: World): void {
  router.add('admin.users', 'POST', '/__admin/users', (c) => {
    const b = adminObject(c.body);
    if (typeof b.email !== 'string' || b.email.trim() === '') throw new HttpError(400, 'email is required', 'badRequest');
    if (!EMAIL_RE.test(b.email)) throw new HttpError(400, `email ${JSON.stringify(b.email)} is not an e-mail address (name@domain)`, 'badRequest');
    if (b.clientId !== undefined && typeof b.clientId !== 'string') throw new HttpError(400, 'clientId must be a string', 'badRequest');
    if (b.scopes !== undefined && (!Array.isArray(b.scopes) || b.scopes.length === 0 || b.scopes.some((s) => typeof s !== 'string')))
      throw new HttpError(400, 'scopes must be a non-empty array of strings', 'badRequest');
    const badScope = (b.scopes as string[] | undefined)?.find((s) => !isScope(s));
    if (badScope !== undefined) throw new HttpError(400, `scope ${JSON.stringify(badScope)} is not an OAuth scope (an https:// URL, or openid, email, profile)`, 'badRequest');
    const opts = { ...(b.clientId !== undefined ? { clientId: b.clientId as string } : {}), ...(b.scopes !== undefined ? { scopes: b.scopes as string[] } : {}) };
    sendJson(c.res, 200, world.addUser(b.email, opts));
  }, { auth: false });
  router.add('admin.clients', 'POST', '/__admin/clients', (c) => sendJson(c.res, 200, world.addClient()), { auth: false });
  router.add('admin.faults.add', 'POST', '/__admin/faults', (c) => {
    const b = adminJson(c.body);
    const list = Array.isArray(b) ? b : [b];
    const routes = router.apiKeys();
    // All or nothing: one bad fault adds none of them.
    const faults = list.map((f, i) => validateFault(f, routes, Array.isArray(b) ? `fault ${i}` : 'fault'));
    world.faults.push(...faults);
    sendJson(c.res, 200, { faults: world.faults });
  }, { auth: false });
  router.add('admin.faults.clear', 'DELETE', '/__admin/faults', (c) => {
    world.faults = [];
    sendJson(c.res, 200, { faults: [] });
  }, { auth: false });
  router.add('admin.counters', 'GET', '/__admin/counters', (c) => sendJson(c.res, 200, Object.fromEntries(world.counters)), { auth: false });
  router.add('admin.counters.clear', 'DELETE', '/__admin/counters', (c) => {
    world.counters.clear();
    sendJson(c.res, 200, {});
  }, { auth: false });
  router.add('admin.reset', 'POST', '/__admin/reset', (c) => {
    world.reset();
    sendJson(c.res, 200, {});
  }, { auth: false });
}
