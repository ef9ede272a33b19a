import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ConfigView } from './status';
import type { DaemonSnapshot } from './pm2/daemon-reader';
import { SERVICE_SCOPES, missingScopes, shortScope } from './google/scopes';
import { fsReason, folderProblem, describeFolderProblem, type FolderProblem } from './fs/folders';

export interface Check {
  /** ✓ ok, ✗ problem (blocks "ready"), - informational / not needed. */
  mark: '✓' | '✗' | '-';
  label: string;
  detail: string;
  fix?: string;
}

export interface SetupInputs {
  home: string;
  credentialsPath: string;
  legacyGmailToken: string;
  legacyDriveToken: string;
  config: ConfigView;
  daemon: DaemonSnapshot;
  exists: (p: string) => boolean;
  isDir: (p: string) => boolean;
  /**
   * Parse a token file as the services will (`checkTokenFile`): its scopes, or why it is unusable. Without it the
   * token files are only checked to exist.
   */
  readToken?: (p: string, email?: string) => TokenCheck;
  /**
   * Why a folder cannot be created, or written in when it exists (`folderProblem`). Without it the SyftBox folder is
   * only checked to exist.
   */
  folderProblem?: (dir: string) => FolderProblem | undefined;
}

/**
 * A token file parsed as the services read it: the scopes it lists (empty: none listed), or why it is unusable.
 * `needsClient`: a saved OAuth2Client token that holds no client id/secret, read with those of credentials.json.
 */
export type TokenCheck = { ok: true; scopes: string[]; needsClient?: boolean } | { ok: false; error: string; needsClient?: boolean };

/** `{"installed": {…}}` / `{"web": {…}}`: an OAuth client file (credentials.json), not a token. */
function isClientFile(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return ['installed', 'web'].some((k) => typeof o[k] === 'object' && o[k] !== null && !Array.isArray(o[k]));
}

/**
 * The client id/secret of an OAuth client file, for a saved OAuth2Client token (which holds none); read the way
 * lib/google/oauth-flow's `parseClientSecrets` reads it, without loading the Google libraries. Undefined when the
 * file does not exist; an unusable file is an error naming it (never its content).
 */
function clientPairOf(credentialsPath: string): { clientId: string; clientSecret: string } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(credentialsPath, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`Cannot read the OAuth client file ${credentialsPath}: ${fsReason(e)}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    v = undefined;
  }
  if (!isClientFile(v)) throw new Error(`OAuth client file ${credentialsPath}: expected {"installed": {...}} as downloaded from the Google Cloud console`);
  const o = v as Record<string, Record<string, unknown>>;
  const s = (o.installed ?? o.web)!;
  if (typeof s.client_id !== 'string' || !s.client_id || typeof s.client_secret !== 'string' || !s.client_secret) {
    throw new Error(`OAuth client file ${credentialsPath}: missing "client_id" or "client_secret"`);
  }
  return { clientId: s.client_id, clientSecret: s.client_secret };
}

/**
 * Parse a token file's text as lib/google/auth's `loadAuth` will (lib/google/token-file's `parseTokenFile`: the
 * Python, authorized_user and saved-OAuth2Client shapes; the latter takes its client from `credentialsPath`), without
 * loading the Google libraries. Messages name the files and keys, never a value. An OAuth client file passed by
 * mistake gets the way to use it.
 */
export function checkTokenText(text: string, file: string, credentialsPath: string, email = 'EMAIL'): TokenCheck {
  const { parseTokenFile, detectShape } = require('./google/token-file') as typeof import('./google/token-file');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    v = undefined; // parseTokenFile reports it, without quoting the text
  }
  if (isClientFile(v)) {
    return {
      ok: false,
      error:
        `${file} is an OAuth client file (credentials.json), not a token: put it at ${credentialsPath} ` +
        `and run 'syft-bg init -e ${email}' without -t to sign in`,
    };
  }
  try {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (detectShape(o) === 'oauth2client' && !o.client_id && !o.client_secret && !fs.existsSync(credentialsPath)) {
        return {
          ok: false,
          error: `Google token file ${file}: a saved OAuth2Client token holds no client id/secret: put its OAuth client file (credentials.json) at ${credentialsPath}`,
          needsClient: true,
        };
      }
    }
    const t = parseTokenFile(text, file, { fallbackClient: () => clientPairOf(credentialsPath) });
    return { ok: true, scopes: t.credentials.scopes, ...(t.format?.clientInFile === false ? { needsClient: true } : {}) };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

/** `checkTokenText` on a file (credentials.json beside it by default, as the services look for it). */
export function checkTokenFile(file: string, credentialsPath = path.join(path.dirname(file), 'credentials.json'), email?: string): TokenCheck {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return { ok: false, error: `Cannot read the token file ${file}: ${fsReason(e)}` };
  }
  return checkTokenText(text, file, credentialsPath, email);
}

/** `gmail.modify, drive`, or that the file lists none (then Google decides at the first call, as the services do). */
export function describeScopes(scopes: readonly string[]): string {
  return scopes.length > 0 ? `scopes: ${scopes.map(shortScope).join(', ')}` : 'the file lists no scopes';
}

export { fsReason, folderProblem, describeFolderProblem, realMkdirError, mkdirRecursive, type FolderProblem, type MkdirFn } from './fs/folders';

/** The checks of `syft-bg setup-status` (pure given its inputs). */
export function setupChecks(i: SetupInputs): Check[] {
  const c = i.config;
  const out: Check[] = [];
  if (!c.exists) {
    out.push({ mark: '✗', label: 'config.yaml', detail: `missing at ${c.path}`, fix: "run 'syft-bg init -e YOUR_EMAIL'" });
  } else if (c.error) {
    out.push({ mark: '✗', label: 'config.yaml', detail: `invalid: ${c.error}`, fix: `correct ${c.path} at the place named above` });
  } else {
    out.push({ mark: '✓', label: 'config.yaml', detail: c.path });
  }
  const configOk = c.exists && !c.error;
  if (configOk) {
    out.push(
      c.email
        ? { mark: '✓', label: 'data owner', detail: c.email }
        : { mark: '✗', label: 'data owner', detail: 'do_email is not set', fix: "run 'syft-bg init -e YOUR_EMAIL'" },
    );
    if (c.syftboxRoot) {
      const root = c.syftboxRoot;
      const elsewhere = `point syftbox_root at your SyftBox folder ('syft-bg init -e ${c.email ?? 'EMAIL'} -r FOLDER')`;
      // Whatever the transport, the services need a folder they can write in: one that cannot be created (a file in
      // the way, a read-only or foreign ancestor) is a problem now, not at the first sync.
      const problem = i.folderProblem?.(root);
      const isDir = i.isDir(root);
      if (problem) {
        const why = describeFolderProblem(root, problem);
        out.push({
          mark: '✗',
          label: 'SyftBox folder',
          detail: isDir || problem.at === path.resolve(root) ? `${root}: ${isDir ? 'cannot write in it: ' : ''}${why}` : `${root} cannot be created: ${why}`,
          fix: problem.notAFolder ? `move ${problem.at} away, or ${elsewhere}` : `make ${problem.at} writable, or ${elsewhere}`,
        });
      } else if (isDir) out.push({ mark: '✓', label: 'SyftBox folder', detail: root });
      else if (c.transports.syftbox === 'drive') out.push({ mark: '-', label: 'SyftBox folder', detail: `${root} (created by the first sync)` });
      else out.push({ mark: '✗', label: 'SyftBox folder', detail: `${root} does not exist`, fix: `create it (mkdir -p '${root}') or ${elsewhere}` });
    } else {
      out.push({ mark: '✗', label: 'SyftBox folder', detail: 'syftbox_root is not set', fix: "run 'syft-bg init -e YOUR_EMAIL -r FOLDER'" });
    }
    const t = c.transports;
    out.push({
      mark: '✓',
      label: 'e-mail transport',
      detail: t.email === 'maildir' ? `maildir → ${t.maildirPath} (no Google account needed)` : 'gmail',
    });
    out.push({ mark: '✓', label: 'SyftBox transport', detail: t.syftbox === 'local' ? 'local (no Google Drive needed)' : 'drive' });
  }

  // The token files the active Google transports read, with the scopes each needs (one file may serve both).
  const needs = new Map<string, string[]>();
  if (configOk && c.transports.email === 'gmail') needs.set(c.gmailTokenPath, [...SERVICE_SCOPES.notify]);
  if (configOk && c.transports.syftbox === 'drive') needs.set(c.driveTokenPath, [...(needs.get(c.driveTokenPath) ?? []), ...SERVICE_SCOPES.approve]);
  const google = needs.size > 0;
  const tokens = [...needs.keys()];
  const email = c.email ?? 'EMAIL';
  if (!google) {
    out.push({ mark: '-', label: 'credentials.json', detail: 'not needed by the local transports' });
    out.push({ mark: '-', label: 'token.json', detail: 'not needed by the local transports' });
  } else {
    const hasCreds = i.exists(i.credentialsPath);
    let needsClient = false;
    const tokenLines: Check[] = [];
    for (const t of tokens) {
      if (i.exists(t)) {
        const r = tokenCheck(t, needs.get(t)!, i.readToken, email);
        tokenLines.push(r.check);
        needsClient ||= r.needsClient;
        continue;
      }
      const legacy = [i.legacyGmailToken, i.legacyDriveToken].filter((p) => i.exists(p));
      tokenLines.push({
        mark: '✗',
        label: 'token',
        detail: `missing at ${t}`,
        fix: legacy.length
          ? `found the old name ${legacy.join(' and ')}: 'mv ${legacy[0]} ${t}' (or run 'syft-bg init -e ${email} -t ${legacy[0]}')`
          : `sign in with 'syft-bg init -e ${email}' (with credentials.json in place), or copy a token with '-t /path/to/token.json', or use the local transports (transports.email: maildir, transports.syftbox: local)`,
      });
    }
    // The OAuth client is needed to sign in again (a token missing or not usable) and by a saved OAuth2Client token,
    // which holds no client id of its own; only a set of working self-contained tokens can do without it.
    const needed = needsClient || tokenLines.some((l) => l.mark !== '✓');
    if (hasCreds) out.push({ mark: '✓', label: 'credentials.json', detail: i.credentialsPath });
    else if (!needed) out.push({ mark: '-', label: 'credentials.json', detail: 'not needed while the token is valid' });
    else {
      out.push({
        mark: '✗',
        label: 'credentials.json',
        detail: `missing at ${i.credentialsPath}${needsClient ? ' (the saved OAuth2Client token takes its client id from it)' : ' (needed to sign in again)'}`,
        fix: 'Google Cloud Console → APIs & Services → Credentials → Create OAuth client ID (Desktop app) → download it to that path',
      });
    }
    out.push(...tokenLines);
  }

  if (i.daemon.running) {
    out.push({ mark: '✓', label: 'PM2 daemon', detail: `running (pm2 ${i.daemon.version ?? '?'}) at ${i.daemon.home}` });
  } else {
    out.push({ mark: '-', label: 'PM2 daemon', detail: `not running at ${i.daemon.home} ('syft-bg start' starts it)` });
  }
  return out;
}

/**
 * One existing token file: ✓ with its scopes, ✗ when it cannot be parsed or lacks a scope its transport needs; and
 * whether it takes its client id from credentials.json.
 */
function tokenCheck(file: string, needed: readonly string[], readToken: SetupInputs['readToken'], email: string): { check: Check; needsClient: boolean } {
  if (!readToken) return { check: { mark: '✓', label: 'token', detail: file }, needsClient: false };
  const r = readToken(file, email);
  if (!r.ok) return { check: tokenProblem(file, r.error, email), needsClient: r.needsClient === true };
  return { check: scopeCheck(file, needed, r.scopes, email), needsClient: r.needsClient === true };
}

/** A token file that cannot be used: ✗ with the reason (never its content). */
function tokenProblem(file: string, error: string, email: string): Check {
  return {
    mark: '✗',
    label: 'token',
    detail: error,
    fix: `move ${file} away and sign in again with 'syft-bg init -e ${email}' (with credentials.json in place), or copy a working token with 'syft-bg init -e ${email} -t TOKEN'`,
  };
}

/** A usable token file: ✓ with its scopes, ✗ when it lacks a scope its transport needs. */
function scopeCheck(file: string, needed: readonly string[], scopes: string[], email: string): Check {
  // A file that lists no scopes is taken as it is (Google answers at the first call), as lib/google/auth does.
  const missing = scopes.length > 0 ? missingScopes(scopes, needed) : [];
  if (missing.length === 0) return { mark: '✓', label: 'token', detail: `${file} (${describeScopes(scopes)})` };
  const gmail = missing.some((s) => (SERVICE_SCOPES.notify as readonly string[]).includes(s));
  const drive = missing.some((s) => (SERVICE_SCOPES.approve as readonly string[]).includes(s));
  const what = [gmail ? 'Gmail' : '', drive ? 'Drive' : ''].filter(Boolean).join(' and ');
  const local = [gmail ? 'transports.email: maildir' : '', drive ? 'transports.syftbox: local' : ''].filter(Boolean).join(' and ');
  return {
    mark: '✗',
    label: 'token',
    detail: `${file} (${describeScopes(scopes)}) does not allow ${what} (${missing.map(shortScope).join(', ')})`,
    fix: `move ${file} away and sign in again with 'syft-bg init -e ${email}' to allow ${what}, or set ${local}`,
  };
}

/** Continuation lines of a multi-line text, indented to `indent` columns. */
function indentRest(text: string, indent: number): string {
  return text.split('\n').join('\n' + ' '.repeat(indent));
}

export function renderChecks(checks: Check[]): { text: string; ready: boolean } {
  const lines = ['syft-bg setup', '='.repeat(50)];
  // `  ✓ <label padded to 18> <detail>`: the detail starts at column 23, a fix's text at column 11.
  for (const ch of checks) {
    lines.push(`  ${ch.mark} ${ch.label.padEnd(18)} ${indentRest(ch.detail, 23)}`);
    if (ch.fix) lines.push(`      fix: ${indentRest(ch.fix, 11)}`);
  }
  const problems = checks.filter((c) => c.mark === '✗').length;
  lines.push('-'.repeat(50));
  lines.push(problems === 0 ? "✅ Ready. Run 'syft-bg start' to begin." : `⚠️  ${problems} problem(s) found: see the fixes above.`);
  return { text: lines.join('\n') + '\n', ready: problems === 0 };
}

export const realFs = {
  readToken: (p: string, email?: string): TokenCheck => checkTokenFile(p, undefined, email),
  folderProblem,
  exists: (p: string) => fs.existsSync(p),
  isDir: (p: string) => {
    try {
      return fs.statSync(p).isDirectory();
    } catch {
      return false;
    }
  },
};
