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
  /** OAuth client this user's tokens were issued to. */
  clientId: string;
}

export interface IssuedToken {
  email: string;
  scopes: string[];
  expiresAt: number;
  /** The refresh token (grant) this access token was issued from, so revoking one revokes the other. */
  refreshToken?: string;
}

export interface Fault {
  /** Route key, e.g. `drive.files.list`, or `*` for every route. */
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
  /** The authenticated user (routes registered with auth: true). */
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
  readonly counters = new Map<string, number>();
  /** Access token lifetime in seconds (short, so refresh paths get exercised). */
  tokenLifetimeS = 3600;
  /** Free-form per-module state (drive, gmail). */
  readonly modules = new Map<string, unknown>();

  constructor(readonly now: () => number = Date.now) {}

  addClient(clientId = newId('client-') + '.apps.googleusercontent.com', secret = newId('secret-')): { clientId: string; clientSecret: string } {
    this.clients.set(clientId, secret);
    return { clientId, clientSecret: secret };
  }

  /** Create (or fetch) a user and issue a fresh access + refresh token for it. */
  addUser(email: string, opts: { clientId?: string; scopes?: string[] } = {}) {
    const client = opts.clientId ? { clientId: opts.clientId, clientSecret: this.clients.get(opts.clientId)! } : this.addClient();
    if (!this.users.has(email)) this.users.set(email, { email, clientId: client.clientId });
    const scopes = opts.scopes ?? ['https://www.googleapis.com/auth/drive', 'https://www.googleapis.com/auth/gmail.modify'];
    const refreshToken = newId('1//');
    this.refreshTokens.set(refreshToken, { email, clientId: client.clientId, scopes });
    const accessToken = this.issueAccessToken(email, scopes, refreshToken);
    return { email, accessToken, refreshToken, clientId: client.clientId, clientSecret: client.clientSecret, scopes };
  }

  issueAccessToken(email: string, scopes: string[], refreshToken?: string): string {
    const t = newId('ya29.');
    this.tokens.set(t, { email, scopes, expiresAt: this.now() + this.tokenLifetimeS * 1000, refreshToken });
    return t;
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
    this.routes.push({ key, method, pattern, names, auth: opts.auth ?? true, handler });
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
    if (!route.key.startsWith('admin.')) world.count(route.key);
    try {
      const body = await readBody(req);
      if (!route.key.startsWith('admin.')) {
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
        const h = req.headers.authorization ?? '';
        const m = /^Bearer\s+(.+)$/i.exec(h);
        const tok = m ? world.tokens.get(m[1]!.trim()) : undefined;
        if (!tok || tok.expiresAt <= world.now()) {
          // https://developers.google.com/workspace/drive/api/guides/handle-errors#resolve_a_401_error_invalid_credentials
          sendJson(res, 401, errorBody(401, 'Request had invalid authentication credentials.', 'authError'), {
            'www-authenticate': 'Bearer realm="https://accounts.google.com/"',
          });
          return;
        }
        user = world.users.get(tok.email);
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

/**
 * Admin endpoints (no auth) for tests and benchmarks:
 * - `POST /__admin/users {email, scopes?, clientId?}` → `{email, accessToken, refreshToken, clientId, clientSecret}`
 * - `POST /__admin/clients` → `{clientId, clientSecret}`
 * - `POST /__admin/faults [Fault...]` (appends), `DELETE /__admin/faults`
 * - `GET /__admin/counters` → `{route: count}`; `DELETE /__admin/counters`
 * - `POST /__admin/reset`
 */
function registerAdmin(router: Router, world: World): void {
  const json = (b: Buffer) => (b.length ? JSON.parse(b.toString('utf8')) : {});
  router.add('admin.users', 'POST', '/__admin/users', (c) => {
    const b = json(c.body) as { email: string; scopes?: string[]; clientId?: string };
    if (!b.email) throw new HttpError(400, 'email is required', 'badRequest');
    sendJson(c.res, 200, world.addUser(b.email, b));
  }, { auth: false });
  router.add('admin.clients', 'POST', '/__admin/clients', (c) => sendJson(c.res, 200, world.addClient()), { auth: false });
  router.add('admin.faults.add', 'POST', '/__admin/faults', (c) => {
    const b = json(c.body) as Fault | Fault[];
    world.faults.push(...(Array.isArray(b) ? b : [b]));
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
