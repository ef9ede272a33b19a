/**
 * `token.json` codec: the OAuth token file shared with the Python syft-bg / syft-client (syftbox-protocol.md §5).
 *
 * Pure: no I/O except in `readTokenFile` / `writeTokenFile`. Three shapes are read, and each is written back in the
 * shape it was read in, so the Python tool keeps working on the same file:
 *
 * - `python`: google-auth's `Credentials.to_json()` (Python), a single-line `json.dumps` of
 *   `token, refresh_token, token_uri, client_id, client_secret, scopes, rapt_token, universe_domain, account, expiry`
 *   (None values dropped; `expiry` = naive UTC `isoformat()` + `Z`). No `type` key.
 * - `authorized_user`: `{type: 'authorized_user', client_id, client_secret, refresh_token, …}` as written by
 *   `gcloud auth application-default login` and read by google-auth-library's `fromJSON`. It holds no access token.
 * - `oauth2client`: a saved google-auth-library `OAuth2Client.credentials`
 *   `{access_token, refresh_token, expiry_date (ms), scope ('a b'), token_type, …}`. Its client id/secret usually
 *   live in `credentials.json`; pass them as `fallbackClient`.
 *
 * Keys the codec does not map into `credentials` are kept in `extra` (in file order) and written back.
 * Error messages name the file and the key, never a value.
 */
import * as fs from 'node:fs';
import { UserError, EXIT } from '../errors';
import { writeFileAtomic } from '../fs/atomic';

export const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';

export type TokenShape = 'python' | 'authorized_user' | 'oauth2client';

export interface TokenCredentials {
  accessToken?: string;
  refreshToken: string;
  clientId: string;
  clientSecret: string;
  /** The file's `token_uri` (Google's token endpoint when the file has none). */
  tokenUri: string;
  /** As listed in the file (`scopes` / `scope`); empty when the file lists none. */
  scopes: string[];
  /** Access token expiry, ms since the epoch. */
  expiryMs?: number;
}

/** How the file looked, so that writing it back changes only what changed. */
export interface TokenFormat {
  /** Top-level keys in file order. */
  keys: string[];
  /** JSON.stringify indentation of a multi-line (non-Python) file; undefined = one line. */
  indent?: string;
  /** A one-line non-Python-shape file written with Python's separators (`", "`, `": "`). */
  pySeparators?: boolean;
  trailingNewline: boolean;
  /** The `expiry` string as read (kept verbatim while the expiry does not change). */
  expiryRaw?: string;
  /** The `expiry_date` value as read. */
  expiryDateRaw?: unknown;
  /** The scopes value as read (kept verbatim while the scopes do not change). */
  scopesRaw?: unknown;
  /** Whether the client id/secret came from the file (false: from `fallbackClient`, not written back). */
  clientInFile: boolean;
}

export interface TokenFile {
  shape: TokenShape;
  credentials: TokenCredentials;
  /** Every key not mapped into `credentials` (e.g. `universe_domain`, `account`, `type`, `token_type`), file order. */
  extra: Record<string, unknown>;
  /** Absent for a file created from scratch (it is then written the way Python writes a new one). */
  format?: TokenFormat;
}

export interface ClientPair {
  clientId: string;
  clientSecret: string;
}

export interface ParseOptions {
  /**
   * For `oauth2client` files, which usually hold no client id/secret: the OAuth client from credentials.json.
   * A function is called only when it is needed.
   */
  fallbackClient?: ClientPair | (() => ClientPair | undefined);
}

/** Python's key order in `Credentials.to_json()`. */
export const PYTHON_KEY_ORDER = [
  'token',
  'refresh_token',
  'token_uri',
  'client_id',
  'client_secret',
  'scopes',
  'rapt_token',
  'universe_domain',
  'account',
  'expiry',
] as const;

const PYTHON_MAPPED = new Set(['token', 'refresh_token', 'token_uri', 'client_id', 'client_secret', 'scopes', 'expiry']);
const ADC_MAPPED = new Set(['refresh_token', 'client_id', 'client_secret', 'token_uri']);
const NODE_MAPPED = new Set(['access_token', 'refresh_token', 'expiry_date', 'scope', 'client_id', 'client_secret', 'token_uri']);

function bad(file: string, what: string): UserError {
  return new UserError(`Google token file ${file}: ${what}`, EXIT.usage);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Which shape a parsed token object is in. */
export function detectShape(obj: Record<string, unknown>): TokenShape {
  const has = (k: string) => Object.prototype.hasOwnProperty.call(obj, k);
  if ((has('access_token') || has('expiry_date')) && !has('token') && !has('expiry')) return 'oauth2client';
  if (obj.type === 'authorized_user' && !has('token') && !has('expiry') && !has('scopes')) return 'authorized_user';
  return 'python';
}

/** A string value, or undefined when absent/null; a wrong type is an error naming the key. */
function str(obj: Record<string, unknown>, key: string, file: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw bad(file, `"${key}" must be a string`);
  return v;
}

function splitScopes(v: unknown, key: string, file: string): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return v.split(/\s+/).filter(Boolean);
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return [...(v as string[])];
  throw bad(file, `"${key}" must be a list of scope strings`);
}

const EXPIRY_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * Parse a google-auth `expiry` (naive UTC ISO, optional fraction and `Z`; an explicit offset is accepted too) to
 * ms since the epoch. Python reads only the seconds (`split('.')[0]`); we keep the milliseconds.
 */
export function parsePythonExpiry(s: string): number | undefined {
  const m = EXPIRY_RE.exec(s.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, se, frac, zone] = m;
  const ms = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +se!, frac ? Math.floor(+`0.${frac}` * 1000 + 1e-6) : 0);
  if (!Number.isFinite(ms)) return undefined;
  let offset = 0;
  if (zone && zone !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
    offset = (z[1] === '-' ? -1 : 1) * (+z[2]! * 60 + +z[3]!) * 60_000;
  }
  return ms - offset;
}

/** Python's `datetime.isoformat() + 'Z'` for a naive UTC datetime: microseconds, or no fraction when zero. */
export function formatPythonExpiry(ms: number): string {
  const d = new Date(Math.floor(ms));
  const base = d.toISOString().slice(0, 19);
  const milli = d.getUTCMilliseconds();
  return milli === 0 ? `${base}Z` : `${base}.${String(milli * 1000).padStart(6, '0')}Z`;
}

/** Parse the text of a token file. `file` is used in error messages only. */
export function parseTokenFile(text: string, file: string, opts: ParseOptions = {}): TokenFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text around the error, which can be a token: do not show it.
    throw bad(file, 'not valid JSON (expected an OAuth token file such as the one `syft-bg init` writes)');
  }
  if (!isObject(value)) throw bad(file, 'not a JSON object (expected an OAuth token file)');
  const obj = value;
  if (obj.type !== undefined && obj.type !== null && obj.type !== 'authorized_user') {
    // Name the value only when it looks like a credential type (service_account, external_account, …): a file
    // mixed up by hand may hold a secret in any field, and messages never show secrets.
    const t = typeof obj.type === 'string' && /^[a-z][a-z_]{0,39}$/.test(obj.type) ? `'${obj.type}'` : 'an unexpected value';
    throw bad(file, `"type" is ${t}; syft-bg needs an OAuth user token ("authorized_user"), e.g. from 'syft-bg init'`);
  }
  const shape = detectShape(obj);
  const keys = Object.keys(obj);
  const format: TokenFormat = {
    keys,
    indent: detectIndent(text),
    pySeparators: /^\{"(?:[^"\\]|\\.)*": /.test(text.trim()),
    trailingNewline: /\n\s*$/.test(text),
    clientInFile: true,
  };

  let clientId = str(obj, 'client_id', file);
  let clientSecret = str(obj, 'client_secret', file);
  const refreshToken = str(obj, 'refresh_token', file);
  if (shape === 'oauth2client' && !clientId && !clientSecret && opts.fallbackClient) {
    const pair = typeof opts.fallbackClient === 'function' ? opts.fallbackClient() : opts.fallbackClient;
    if (pair) {
      clientId = pair.clientId;
      clientSecret = pair.clientSecret;
      format.clientInFile = false;
    }
  }
  const missing = (
    [
      ['refresh_token', refreshToken],
      ['client_id', clientId],
      ['client_secret', clientSecret],
    ] as const
  )
    .filter(([, v]) => !v)
    .map(([k]) => `"${k}"`);
  if (missing.length > 0) {
    const hint =
      shape === 'oauth2client' && !clientId
        ? ' (a saved OAuth2Client token has no client id/secret: put credentials.json next to it)'
        : " (re-run 'syft-bg init' to sign in again)";
    throw bad(file, `missing ${missing.join(', ')}${hint}`);
  }
  const tokenUri = str(obj, 'token_uri', file) ?? GOOGLE_TOKEN_URI;

  const credentials: TokenCredentials = {
    refreshToken: refreshToken!,
    clientId: clientId!,
    clientSecret: clientSecret!,
    tokenUri,
    scopes: [],
  };
  let mapped: Set<string>;
  if (shape === 'python') {
    mapped = PYTHON_MAPPED;
    const token = str(obj, 'token', file);
    if (token !== undefined) credentials.accessToken = token;
    credentials.scopes = splitScopes(obj.scopes, 'scopes', file);
    format.scopesRaw = obj.scopes;
    const expiry = str(obj, 'expiry', file);
    if (expiry) {
      const ms = parsePythonExpiry(expiry);
      if (ms === undefined) throw bad(file, '"expiry" is not a date like 2026-06-11T15:19:42.123456Z');
      credentials.expiryMs = ms;
      format.expiryRaw = expiry;
    }
  } else if (shape === 'authorized_user') {
    mapped = ADC_MAPPED;
  } else {
    mapped = NODE_MAPPED;
    const token = str(obj, 'access_token', file);
    if (token !== undefined) credentials.accessToken = token;
    credentials.scopes = splitScopes(obj.scope, 'scope', file);
    format.scopesRaw = obj.scope;
    const e = obj.expiry_date;
    format.expiryDateRaw = e;
    if (e !== undefined && e !== null) {
      const ms = typeof e === 'number' ? e : typeof e === 'string' && /^\d+$/.test(e) ? Number(e) : NaN;
      if (!Number.isFinite(ms)) throw bad(file, '"expiry_date" must be a number (ms since 1970)');
      credentials.expiryMs = ms;
    }
  }
  const extra: Record<string, unknown> = {};
  for (const k of keys) if (!mapped.has(k)) extra[k] = obj[k];
  return { shape, credentials, extra, format };
}

function detectIndent(text: string): string | undefined {
  const m = /^\{\s*?\n([ \t]+)"/.exec(text.trimStart());
  return m ? m[1] : undefined;
}

function sameScopes(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

/** Serialise back, in the shape it was read in (a `TokenFile` without `format` is written as Python writes a new one). */
export function serializeToken(t: TokenFile): string {
  const f = t.format;
  const c = t.credentials;
  const out = new Map<string, unknown>();
  if (t.shape === 'python') {
    // Python's order; keys whose value is None are dropped (to_json), everything else we do not interpret goes
    // after it, in file order. A key the file did not have is not added (except on a new file).
    const present = (k: string) => !f || f.keys.includes(k);
    const scopesValue = f && sameScopes(splitScopesLenient(f.scopesRaw), c.scopes) ? f.scopesRaw : c.scopes;
    const expiryValue =
      c.expiryMs === undefined ? undefined : f?.expiryRaw !== undefined && parsePythonExpiry(f.expiryRaw) === c.expiryMs ? f.expiryRaw : formatPythonExpiry(c.expiryMs);
    const known: Record<string, unknown> = {
      token: c.accessToken,
      refresh_token: c.refreshToken,
      token_uri: present('token_uri') ? c.tokenUri : undefined,
      client_id: c.clientId,
      client_secret: c.clientSecret,
      scopes: present('scopes') || c.scopes.length > 0 ? scopesValue : undefined,
      rapt_token: t.extra.rapt_token,
      universe_domain: t.extra.universe_domain,
      account: t.extra.account,
      expiry: expiryValue,
    };
    for (const k of PYTHON_KEY_ORDER) if (known[k] !== undefined && known[k] !== null) out.set(k, known[k]);
    for (const [k, v] of Object.entries(t.extra)) if (!(PYTHON_KEY_ORDER as readonly string[]).includes(k)) out.set(k, v);
    return pyJsonDumps(Object.fromEntries(out)) + (f?.trailingNewline ? '\n' : '');
  }

  // Node shapes: the file's own key order, values updated in place; keys the shape needs are added at the end.
  const values: Record<string, unknown> = { ...t.extra, refresh_token: c.refreshToken };
  const order = f ? [...f.keys] : [];
  const want = (k: string, v: unknown) => {
    if (v === undefined) return;
    values[k] = v;
    if (!order.includes(k)) order.push(k);
  };
  if (!f || f.clientInFile) {
    want('client_id', c.clientId);
    want('client_secret', c.clientSecret);
  }
  want('refresh_token', c.refreshToken);
  if (f?.keys.includes('token_uri') || c.tokenUri !== GOOGLE_TOKEN_URI) want('token_uri', c.tokenUri);
  if (t.shape === 'oauth2client') {
    want('access_token', c.accessToken);
    if (c.expiryMs !== undefined) want('expiry_date', f && f.expiryDateRaw !== undefined && Number(f.expiryDateRaw) === c.expiryMs ? f.expiryDateRaw : c.expiryMs);
    if (f && f.keys.includes('scope')) values.scope = sameScopes(splitScopesLenient(f.scopesRaw), c.scopes) ? f.scopesRaw : c.scopes.join(' ');
    else if (c.scopes.length > 0) want('scope', c.scopes.join(' '));
  } else if (!f) {
    want('type', 'authorized_user');
  }
  for (const k of Object.keys(t.extra)) if (!order.includes(k)) order.push(k);
  for (const k of order) if (Object.prototype.hasOwnProperty.call(values, k)) out.set(k, values[k]);
  const obj = Object.fromEntries(out);
  const text = f && f.indent === undefined && f.pySeparators ? pyJsonDumps(obj) : JSON.stringify(obj, null, f?.indent);
  return text + (f ? (f.trailingNewline ? '\n' : '') : '\n');
}

function splitScopesLenient(v: unknown): string[] {
  try {
    return splitScopes(v, '', '');
  } catch {
    return [];
  }
}

/**
 * Python's `json.dumps(obj)` with its defaults: `", "` and `": "` separators, `ensure_ascii=True` (every character
 * outside printable ASCII, DEL included, escaped as lower-case `\uXXXX`, surrogate pairs for astral characters).
 */
export function pyJsonDumps(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (typeof v === 'number') return pyNumber(v);
  if (typeof v === 'string') return pyString(v);
  if (Array.isArray(v)) return `[${v.map(pyJsonDumps).join(', ')}]`;
  if (typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `${pyString(k)}: ${pyJsonDumps(x)}`)
      .join(', ')}}`;
  }
  throw new TypeError(`cannot serialise a ${typeof v}`);
}

function pyNumber(n: number): string {
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : n < 0 ? '-Infinity' : 'NaN';
  // JSON.parse does not tell 1 from 1.0, so integral values come out as ints. Python pads exponents to 2 digits.
  return String(n).replace(/e([+-])(\d)$/, 'e$10$2');
}

const NAMED: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function pyString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const code = s.charCodeAt(i);
    const named = NAMED[ch];
    if (named) out += named;
    else if (code < 0x20 || code > 0x7e) out += '\\u' + code.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

/** A new Python-shaped token, as google-auth's `Credentials.to_json()` writes it after a sign-in. */
export function newPythonToken(c: TokenCredentials, extra: Record<string, unknown> = { universe_domain: 'googleapis.com', account: '' }): TokenFile {
  return { shape: 'python', credentials: { ...c, scopes: [...c.scopes] }, extra: { ...extra } };
}

/** Read and parse a token file. A missing or unreadable file is a UserError naming it. */
export function readTokenFile(file: string, opts: ParseOptions = {}): TokenFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`No Google token at ${file}: run 'syft-bg init -e EMAIL' with a credentials.json, or -t TOKEN`, EXIT.usage);
    throw new UserError(`Cannot read Google token file ${file} (${code ?? 'error'})`, EXIT.failure);
  }
  return parseTokenFile(text, file, opts);
}

/** Write a token file atomically (temp file + rename), mode 0600. */
export function writeTokenFile(file: string, t: TokenFile): void {
  writeFileAtomic(file, serializeToken(t), { mode: 0o600 });
}
