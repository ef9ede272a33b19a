import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError, EXIT } from './errors';
import { expandTilde } from './home';
import { readFileIfExists, writeFileAtomic } from './fs/atomic';
import { isValidEmail } from './config/email';
import { TRANSPORTS_COMMENT, pythonLayoutDocument } from './config/defaults';
import { yamlLib } from './config/deps';
import { getIn, setIn, updateConfig } from './config/edit';
import { ConfigError, issuesToProblems } from './config/errors';
import { defaultSyftboxRoot, defaultUserHome, syftboxTransportWithToken } from './config/resolve';
import { validateConfig } from './config/schema';
import type { ConfigHome, EmailTransport, SyftboxTransport } from './config/types';
import { PYTHON_STYLE, renderDocument } from './config/yamldoc';

/**
 * `syft-bg init -e EMAIL [-r SYFTBOX_ROOT] [-t TOKEN_PATH]` (reference §2.8), with the reference's bugs fixed:
 * works without `-t`; a config that exists is merged (objects, settings, comments and unknown keys kept) instead of
 * overwritten; the top-level `drive_token_path` points at the stored copy `<home>/token.json`, not the `-t` path.
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
}

export interface InitResult {
  /** Lines to print, in order. */
  messages: string[];
  configPath: string;
  /** Where the token now is (`<home>/token.json`), when `-t` was given. */
  tokenStored?: string;
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

/** Check `-t`: an existing JSON file. Returns its bytes. Never prints the token. */
function readToken(src: string): Buffer {
  let st: fs.Stats;
  try {
    st = fs.statSync(src);
  } catch {
    throw new UserError(`Token file not found: ${src}`, EXIT.usage);
  }
  if (!st.isFile()) throw new UserError(`Token path is not a file: ${src}`, EXIT.usage);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(src);
  } catch (e) {
    throw new UserError(`Cannot read token file ${src} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, EXIT.usage);
  }
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    // The parser's message can quote the token's content: do not show it.
    value = undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UserError(`Token file ${src} is not a JSON file (expected a JSON object such as an OAuth token)`, EXIT.usage);
  }
  return bytes;
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
  }

  // Everything is checked before anything is written: a failed init changes nothing.
  const messages: string[] = [];
  let tokenStored: string | undefined;
  let storeToken: () => void = () => {};
  if (opts.tokenPath !== undefined) {
    const src = path.resolve(cwd, expandTilde(opts.tokenPath, userHome));
    const bytes = readToken(src);
    tokenStored = home.token;
    if (!sameFile(src, home.token)) {
      messages.push(`Stored token at ${home.token}`);
      storeToken = () => writeFileAtomic(home.token, bytes, { mode: 0o600 });
    }
  }

  const existing = readFileIfExists(home.config);
  if (existing === undefined || existing.trim() === '') {
    const google = tokenStored !== undefined || fs.existsSync(home.token);
    const transports = {
      email: (google ? 'gmail' : 'maildir') as EmailTransport,
      syftbox: syftboxTransportWithToken(google),
      maildir_path: home.mail,
    };
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
    writeFileAtomic(home.config, renderDocument(doc, PYTHON_STYLE));
    storeToken();
    messages.push(`Config saved to ${home.config}`);
    return { messages, configPath: home.config, ...(tokenStored ? { tokenStored } : {}) };
  }

  const followed: string[] = [];
  const r = updateConfig(home, (doc) => {
    followed.length = 0;
    const prevEmail = getIn(doc, ['do_email']);
    const prevRoot = getIn(doc, ['syftbox_root']);
    setIn(doc, ['do_email'], email, { start: true });
    let newRoot: string | undefined = root;
    if (newRoot === undefined && (prevRoot === undefined || prevRoot === null || prevRoot === '')) newRoot = defaultSyftboxRoot(email, userHome);
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
    if (tokenStored !== undefined) {
      setIn(doc, ['gmail_token_path'], tokenStored, { after: ['credentials_path', 'syftbox_root', 'do_email'] });
      setIn(doc, ['drive_token_path'], tokenStored, { after: ['gmail_token_path'] });
      if (getIn(doc, ['transports']) == null) {
        // A new block goes next to the top-level keys, as in a fresh config.
        setIn(doc, ['transports'], { email: 'gmail', syftbox: syftboxTransportWithToken(true) }, { after: [...TOP_KEYS].reverse() });
        const Y = yamlLib();
        const pair = Y.isMap(doc.contents) ? doc.contents.items.find((p) => Y.isScalar(p.key) && p.key.value === 'transports') : undefined;
        if (pair && Y.isScalar(pair.key) && !pair.key.commentBefore) pair.key.commentBefore = TRANSPORTS_COMMENT;
      } else {
        setIn(doc, ['transports', 'email'], 'gmail');
        // Never switch an explicit choice back to local; switch to drive only when this build syncs with Drive.
        if (syftboxTransportWithToken(true) === 'drive') setIn(doc, ['transports', 'syftbox'], 'drive');
      }
    }
  });
  storeToken();
  messages.push(...r.notices);
  if (followed.length > 0) messages.push(`Also updated ${followed.join(', ')} (they held the previous value).`);
  messages.push(`Config saved to ${home.config} (merged with the existing file)`);
  return { messages, configPath: home.config, ...(tokenStored ? { tokenStored } : {}) };
}
