import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError, EXIT, isUserError } from './errors';
import { expandTilde } from './home';
import { readFileIfExists, writeFileAtomic } from './fs/atomic';
import { isValidEmail } from './config/email';
import { TRANSPORTS_COMMENT, pythonLayoutDocument } from './config/defaults';
import { yamlLib } from './config/deps';
import { getIn, setIn, updateConfig } from './config/edit';
import { ConfigError, issuesToProblems } from './config/errors';
import { parseConfigText } from './config/load';
import { defaultSyftboxRoot, defaultUserHome, resolveConfig, syftboxTransportWithToken } from './config/resolve';
import { validateConfig } from './config/schema';
import type { ConfigHome, EmailTransport, SyftBgConfig, SyftboxTransport } from './config/types';
import { PYTHON_STYLE, renderDocument } from './config/yamldoc';
import { SERVICE_SCOPES, missingScopes } from './google/scopes';
import { checkTokenText, describeScopes, folderProblem, fsReason, mkdirRecursive, type MkdirFn } from './setup-check';

/**
 * `syft-bg init -e EMAIL [-r SYFTBOX_ROOT] [-t TOKEN_PATH]` (reference §2.8), with the reference's bugs fixed:
 * works without `-t`; a config that exists is merged (objects, settings, comments and unknown keys kept) instead of
 * overwritten; the top-level `drive_token_path` points at the stored copy `<home>/token.json`, not the `-t` path.
 *
 * A failed init changes nothing: the arguments and the token are checked first; then the home folder and (with
 * `createSyftboxRoot`) the SyftBox folder are created and the token is stored, and config.yaml is written last. When
 * a step fails, what the earlier ones created or replaced is undone. Exit codes: 2 for an argument that is wrong in
 * itself (invalid e-mail, empty `-r`, `-r` naming a file, a `-t` file that is missing or not a usable OAuth user
 * token), 1 for a filesystem that refuses (a folder that cannot be created, a file that cannot be read or written:
 * the message names the path and the OS reason).
 */
export interface InitOptions {
  home: ConfigHome;
  email: string;
  /** `-r`: resolved against `cwd`, `~` expanded. */
  syftboxRoot?: string;
  /** `-t`: an OAuth token JSON file, copied to `<home>/token.json` (mode 0600). */
  tokenPath?: string;
  /** For the "created on" comment of a new config.yaml. */
  now?: Date;
  /** For relative `-r`/`-t` (default: process.cwd()). */
  cwd?: string;
  /**
   * Create the SyftBox folder when it does not exist, whatever the transport (`syft-bg init` does): a folder that
   * cannot be created fails init now rather than the first sync.
   */
  createSyftboxRoot?: boolean;
  /** `fs.mkdirSync` (tests make it fail the way Node does on a read-only file system). */
  mkdir?: MkdirFn;
  /** The token was just written by the sign-in (which printed its scopes): do not describe it again. */
  signedIn?: boolean;
}

export interface InitResult {
  /** Lines to print, in order. */
  messages: string[];
  configPath: string;
  /** Where the token now is (`<home>/token.json`), when `-t` was given. */
  tokenStored?: string;
  /** The SyftBox folder, when init created it. */
  createdSyftboxRoot?: string;
  /**
   * What changed that the running services read only at start: `do_email`, `syftbox_root`, `transports.email`,
   * `transports.syftbox`, `transports.maildir_path`, `gmail_token_path`, `drive_token_path`, `token` (the token file's
   * content). Empty when a re-run changed none of them.
   */
  changed: string[];
}

const TOP_KEYS = ['do_email', 'syftbox_root', 'credentials_path', 'gmail_token_path', 'drive_token_path'];
const SERVICES = ['notify', 'approve', 'email_approve', 'sync'] as const;

function sameFile(a: string, b: string): boolean {
  try {
    const sa = fs.statSync(a);
    const sb = fs.statSync(b);
    return sa.ino === sb.ino && sa.dev === sb.dev;
  } catch {
    return false;
  }
}

/** A filesystem failure as one line naming the path and the OS reason (exit 1). */
function fsError(what: string, file: string, e: unknown): UserError {
  if (isUserError(e)) return e;
  const at = (e as NodeJS.ErrnoException | undefined)?.path;
  // Where it failed when that is elsewhere (an ancestor folder); not the temp file next to a file written atomically.
  const elsewhere =
    typeof at === 'string' && path.resolve(at) !== path.resolve(file) && path.dirname(path.resolve(at)) !== path.dirname(path.resolve(file));
  const where = elsewhere ? ` (at ${at})` : '';
  return new UserError(`Cannot ${what} ${file}: ${fsReason(e)}${where}`, EXIT.failure);
}

function isErrno(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && !isUserError(e);
}

/** What a token file allows, as the services will read it. */
interface TokenInfo {
  bytes: Buffer;
  scopes: string[];
  /** Lists no scopes, or covers `gmail.modify` (SERVICE_SCOPES.notify). */
  gmail: boolean;
  /** Lists no scopes, or covers `drive` (SERVICE_SCOPES.approve). */
  drive: boolean;
}

function tokenInfo(bytes: Buffer, scopes: string[]): TokenInfo {
  // A file that lists no scopes (an authorized_user file never does) is taken as allowing everything, as
  // lib/google/auth does: Google answers at the first call.
  const none = scopes.length === 0;
  return {
    bytes,
    scopes,
    gmail: none || missingScopes(scopes, SERVICE_SCOPES.notify).length === 0,
    drive: none || missingScopes(scopes, SERVICE_SCOPES.approve).length === 0,
  };
}

/**
 * Check `-t`: a file holding an OAuth user token the services can use (lib/google/token-file's Python, authorized_user
 * and saved-OAuth2Client shapes; the latter's client comes from `<home>/credentials.json`, where the services look for
 * it). Service-account keys, OAuth client files and anything else are refused (exit 2) naming the file. Never prints
 * the token.
 */
function readToken(src: string, home: ConfigHome, email: string): TokenInfo {
  let st: fs.Stats;
  try {
    st = fs.statSync(src);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(`Token file not found: ${src}`, EXIT.usage);
    throw new UserError(`Cannot read the token file ${src}: ${fsReason(e)}`, EXIT.usage);
  }
  if (!st.isFile()) throw new UserError(`Token path is not a file: ${src}`, EXIT.usage);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(src);
  } catch (e) {
    throw new UserError(`Cannot read the token file ${src}: ${fsReason(e)}`, EXIT.usage);
  }
  const r = checkTokenText(bytes.toString('utf8'), src, home.credentials, email);
  if (!r.ok) throw new UserError(r.error, EXIT.usage);
  return tokenInfo(bytes, r.scopes);
}

/** The stored `<home>/token.json` of an earlier sign-in or init, when there is one (undefined: none, or unusable). */
function storedToken(home: ConfigHome, email: string, notes: string[]): TokenInfo | undefined {
  let text: string | undefined;
  try {
    text = readFileIfExists(home.token);
  } catch (e) {
    throw fsError('read the token', home.token, e);
  }
  if (text === undefined) return undefined;
  const r = checkTokenText(text, home.token, home.credentials, email);
  if (!r.ok) {
    notes.push(`The stored token is not usable, so e-mail and SyftBox stay local: ${r.error}`);
    return undefined;
  }
  return tokenInfo(Buffer.from(text), r.scopes);
}

function signInAgain(home: ConfigHome, email: string): string {
  return `sign in again to allow it (move ${home.token} away and run 'syft-bg init -e ${email}' with ${home.credentials} in place)`;
}

/** The lines saying which service stays local because the token does not allow its Google transport. */
function limitNotes(t: TokenInfo, home: ConfigHome, email: string, was: { email?: boolean; syftbox?: boolean } = {}): string[] {
  const out: string[] = [];
  if (!t.gmail) {
    out.push(`The token does not allow Gmail: e-mail ${was.email ? 'switches to' : 'stays in'} the local Maildir; ${signInAgain(home, email)}.`);
  }
  if (!t.drive && syftboxTransportWithToken(true) === 'drive') {
    out.push(`The token does not allow Drive: SyftBox ${was.syftbox ? 'switches to' : 'stays'} local; ${signInAgain(home, email)}.`);
  }
  return out;
}

/** What the services read at start, for telling whether a re-run changed something they use. */
function watched(c: SyftBgConfig | undefined): Record<string, unknown> {
  return {
    do_email: c?.do_email,
    syftbox_root: c?.syftbox_root,
    'transports.email': c?.transports.email,
    'transports.syftbox': c?.transports.syftbox,
    'transports.maildir_path': c?.transports.maildir_path,
    gmail_token_path: c?.gmail_token_path,
    drive_token_path: c?.drive_token_path,
  };
}

function changedKeys(before: SyftBgConfig | undefined, after: SyftBgConfig): string[] {
  const a = watched(before);
  const b = watched(after);
  return Object.keys(b).filter((k) => a[k] !== b[k]);
}

/**
 * Filesystem steps that can be undone: folders created (removed again when still empty) and files replaced (put back
 * as they were).
 */
class Undo {
  private steps: Array<() => void> = [];

  constructor(private readonly mkdirFn: MkdirFn = fs.mkdirSync) {}

  /** `mkdir -p dir`; returns whether it created anything. */
  mkdir(dir: string): boolean {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError('create the folder', dir, e);
    }
    if (st?.isDirectory()) return false;
    if (st) throw new UserError(`Cannot create the folder ${dir}: a file with that name is there`, EXIT.failure);
    let first: string | undefined;
    try {
      // With the OS's reason (EROFS, not the ENOENT Node 20 reports for a read-only file system).
      first = mkdirRecursive(dir, this.mkdirFn);
    } catch (e) {
      throw fsError('create the folder', dir, e);
    }
    if (first === undefined) return false;
    // The folders made, deepest first: rmdir removes each only while it is still empty.
    const made: string[] = [];
    for (let d = dir; ; d = path.dirname(d)) {
      made.push(d);
      if (d === first || path.dirname(d) === d) break;
    }
    this.steps.push(() => {
      for (const d of made) fs.rmdirSync(d);
    });
    return true;
  }

  /** Write `file` atomically, remembering what was there. */
  write(file: string, data: string | Buffer, what: string, opts: { mode?: number } = {}): void {
    let previous: Buffer | undefined;
    let previousMode: number | undefined;
    try {
      previous = fs.readFileSync(file);
      previousMode = fs.statSync(file).mode & 0o777;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError(`read ${what}`, file, e);
    }
    try {
      writeFileAtomic(file, data, opts);
    } catch (e) {
      throw fsError(`write ${what}`, file, e);
    }
    this.steps.push(() => {
      if (previous === undefined) fs.rmSync(file, { force: true });
      else writeFileAtomic(file, previous, { mode: previousMode! });
    });
  }

  rollback(): void {
    for (const step of this.steps.reverse()) {
      try {
        step();
      } catch {
        // best effort: the error being reported is the one that made init fail
      }
    }
    this.steps = [];
  }
}

/**
 * Whether the folder `dir` can be created (or written in, when it exists): its nearest existing folder must be
 * writable. `syft-bg init` checks the home folder before the Google sign-in, so nobody is sent to a browser for a
 * token that cannot be stored. A UserError (exit 1) naming the path and the OS reason otherwise.
 */
export function checkWritableFolder(dir: string): void {
  const p = folderProblem(dir);
  if (p === undefined) return;
  if (p.notAFolder) throw new UserError(`Cannot create the folder ${dir}: ${p.at} is a file`, EXIT.failure);
  throw fsError(p.at === path.resolve(dir) && p.error?.syscall === 'access' ? 'write in the folder' : 'create the folder', dir, p.error);
}

export function runInit(opts: InitOptions): InitResult {
  const { home } = opts;
  const email = opts.email.trim();
  if (!isValidEmail(email)) throw new UserError(`Invalid email '${opts.email}': expected an address like name@example.com`, EXIT.usage);
  const cwd = opts.cwd ?? process.cwd();
  const userHome = home.userHome ?? defaultUserHome();
  let root: string | undefined;
  if (opts.syftboxRoot !== undefined) {
    if (opts.syftboxRoot.trim() === '') throw new UserError('Invalid SyftBox root: the path is empty', EXIT.usage);
    root = path.resolve(cwd, expandTilde(opts.syftboxRoot, userHome));
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(root);
    } catch {
      st = undefined; // missing (created below), or unreachable (reported when it is created)
    }
    if (st && !st.isDirectory()) throw new UserError(`Invalid SyftBox root ${root}: it is a file, not a folder`, EXIT.usage);
  }

  // Everything is checked before anything is written: a failed init changes nothing.
  const messages: string[] = [];
  const notes: string[] = [];
  let token: TokenInfo | undefined;
  let copyToken = false;
  if (opts.tokenPath !== undefined) {
    const src = path.resolve(cwd, expandTilde(opts.tokenPath, userHome));
    token = readToken(src, home, email);
    copyToken = !sameFile(src, home.token);
    if (copyToken) messages.push(`Stored token at ${home.token} (${describeScopes(token.scopes)})`);
    else if (!opts.signedIn) messages.push(`Using the token at ${home.token} (${describeScopes(token.scopes)})`);
  }
  // A sign-in only runs when no token was stored: its token is new to the services.
  let tokenChanged = opts.signedIn === true;
  if (copyToken) {
    try {
      const old = fs.readFileSync(home.token);
      tokenChanged = !old.equals(token!.bytes);
    } catch {
      tokenChanged = true;
    }
  }

  let existing: string | undefined;
  try {
    existing = readFileIfExists(home.config);
  } catch (e) {
    throw fsError('read the config file', home.config, e);
  }
  const resolveEnv = { userHome, exists: (p: string) => (token !== undefined && p === home.token) || fs.existsSync(p) };
  let before: SyftBgConfig | undefined;
  if (existing !== undefined && existing.trim() !== '') {
    try {
      before = parseConfigText(existing, home.config, home.dir, { userHome, exists: (p) => fs.existsSync(p) }).config;
    } catch {
      before = undefined; // invalid before: whatever the services run with, the new file differs
    }
  }

  const undo = new Undo(opts.mkdir);
  let createdRoot: string | undefined;
  let tokenWritten = false;
  /** The writes before config.yaml's: home folder, SyftBox folder, token. Repeatable (updateConfig may redo its edit). */
  const prepare = (after: SyftBgConfig) => {
    undo.mkdir(home.dir);
    const r = after.syftbox_root;
    // Whatever the transport: a Drive sync needs the folder as much as the local one does, and one that cannot be
    // created (a file in the way, a read-only file system) is refused here as it is for the local transport.
    if (opts.createSyftboxRoot && r && createdRoot !== r && undo.mkdir(r)) createdRoot = r;
    if (copyToken && !tokenWritten) {
      undo.write(home.token, token!.bytes, 'the token', { mode: 0o600 });
      tokenWritten = true;
    }
  };
  const finish = (after: SyftBgConfig, saved: string): InitResult => {
    messages.push(...notes, saved);
    // Created before config.yaml was written; reported after it, as `syft-bg init` always has.
    if (createdRoot) messages.push(`Created SyftBox folder ${createdRoot}`);
    const changed = changedKeys(before, after);
    if (tokenChanged) changed.push('token');
    return {
      messages,
      configPath: home.config,
      ...(opts.tokenPath !== undefined ? { tokenStored: home.token } : {}),
      ...(createdRoot ? { createdSyftboxRoot: createdRoot } : {}),
      changed,
    };
  };

  try {
    if (existing === undefined || existing.trim() === '') {
      if (token === undefined) token = storedToken(home, email, notes);
      const transports = {
        email: (token?.gmail ? 'gmail' : 'maildir') as EmailTransport,
        syftbox: (token?.drive ? syftboxTransportWithToken(true) : 'local') as SyftboxTransport,
        maildir_path: home.mail,
      };
      if (token) notes.push(...limitNotes(token, home, email));
      const when = (opts.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
      const doc = pythonLayoutDocument(
        home.dir,
        {
          do_email: email,
          syftbox_root: root ?? defaultSyftboxRoot(email, userHome),
          gmail_token_path: home.token,
          drive_token_path: home.token,
          transports,
        },
        ` syft-bg configuration, created by 'syft-bg init' on ${when}.\n` +
          ' Same layout as the Python syft-bg writes; the Node syft-bg keeps comments and unknown keys when it edits this file.',
      );
      const v = validateConfig(doc.toJS());
      if (!v.ok) throw new ConfigError(home.config, issuesToProblems(v.issues, undefined, undefined), `Refusing to write ${home.config}:`);
      const after = resolveConfig(v.value, home.dir, resolveEnv);
      prepare(after);
      undo.write(home.config, renderDocument(doc, PYTHON_STYLE), 'the config file');
      return finish(after, `Config saved to ${home.config}`);
    }

    const followed: string[] = [];
    let edits: string[] = [];
    let after: SyftBgConfig | undefined;
    let r: ReturnType<typeof updateConfig>;
    try {
      r = updateConfig(home, (doc) => {
        followed.length = 0;
        edits = [];
        const prevEmail = getIn(doc, ['do_email']);
        const prevRoot = getIn(doc, ['syftbox_root']);
        setIn(doc, ['do_email'], email, { start: true });
        let newRoot: string | undefined = root;
        if (newRoot === undefined && (prevRoot === undefined || prevRoot === null || prevRoot === '')) newRoot = defaultSyftboxRoot(email, userHome);
        if (
          newRoot === undefined &&
          typeof prevEmail === 'string' &&
          prevEmail.trim() !== email &&
          typeof prevRoot === 'string' &&
          path.resolve(expandTilde(prevRoot, userHome)) === defaultSyftboxRoot(prevEmail.trim(), userHome)
        ) {
          // The root was the default derived from the old address: it follows the new one. A chosen root stays.
          newRoot = defaultSyftboxRoot(email, userHome);
          edits.push(
            `syftbox_root follows the new address: ${newRoot} (${prevRoot} was the default for ${prevEmail.trim()}; that folder is left as it is).`,
          );
        }
        if (newRoot !== undefined) setIn(doc, ['syftbox_root'], newRoot, { after: ['do_email'], start: true });
        // Service-level values that are copies of the old top-level ones (the Python syft-bg saves merged values,
        // reference §4.5) would otherwise keep the services on the old address/folder.
        for (const svc of SERVICES) {
          if (typeof prevEmail === 'string' && prevEmail !== email && getIn(doc, [svc, 'do_email']) === prevEmail) {
            setIn(doc, [svc, 'do_email'], email);
            followed.push(`${svc}.do_email`);
          }
          if (newRoot !== undefined && typeof prevRoot === 'string' && prevRoot !== '' && prevRoot !== newRoot && getIn(doc, [svc, 'syftbox_root']) === prevRoot) {
            setIn(doc, [svc, 'syftbox_root'], newRoot);
            followed.push(`${svc}.syftbox_root`);
          }
        }
        if (token !== undefined) {
          setIn(doc, ['gmail_token_path'], home.token, { after: ['credentials_path', 'syftbox_root', 'do_email'] });
          setIn(doc, ['drive_token_path'], home.token, { after: ['gmail_token_path'] });
          const drive = token.drive ? syftboxTransportWithToken(true) : 'local';
          if (getIn(doc, ['transports']) == null) {
            // A new block goes next to the top-level keys, as in a fresh config.
            setIn(doc, ['transports'], { email: token.gmail ? 'gmail' : 'maildir', syftbox: drive }, { after: [...TOP_KEYS].reverse() });
            const Y = yamlLib();
            const pair = Y.isMap(doc.contents) ? doc.contents.items.find((p) => Y.isScalar(p.key) && p.key.value === 'transports') : undefined;
            if (pair && Y.isScalar(pair.key) && !pair.key.commentBefore) pair.key.commentBefore = TRANSPORTS_COMMENT;
            edits.push(...limitNotes(token, home, email));
          } else {
            // An absent key is derived from the token's existence (Google once it is stored): written out when the
            // token cannot serve it. A chosen transport never becomes one the token cannot serve; a chosen local
            // SyftBox becomes drive only when this build syncs with Drive.
            const wasEmail = getIn(doc, ['transports', 'email']);
            const wasSyftbox = getIn(doc, ['transports', 'syftbox']);
            setIn(doc, ['transports', 'email'], token.gmail ? 'gmail' : 'maildir');
            if (drive === 'drive' || wasSyftbox !== 'local') setIn(doc, ['transports', 'syftbox'], drive);
            edits.push(...limitNotes(token, home, email, { email: wasEmail === 'gmail', syftbox: wasSyftbox === 'drive' }));
          }
        }
        // Only a result that will be written prepares the folders and the token (an invalid one is refused next).
        const v = validateConfig(doc.toJS({ maxAliasCount: 1000 }) ?? {});
        if (v.ok) {
          after = resolveConfig(v.value, home.dir, resolveEnv);
          prepare(after);
        }
      });
    } catch (e) {
      throw isErrno(e) ? fsError('write the config file', home.config, e) : e;
    }
    notes.unshift(...r.notices, ...edits);
    if (followed.length > 0) notes.push(`Also updated ${followed.join(', ')} (they held the previous value).`);
    return finish(after!, `Config saved to ${home.config} (merged with the existing file)`);
  } catch (e) {
    undo.rollback();
    throw isErrno(e) ? fsError('write the config file', home.config, e) : e;
  }
}
