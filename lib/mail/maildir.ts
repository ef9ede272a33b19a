/**
 * Maildir delivery (https://cr.yp.to/proto/maildir.html, maildir(5)): the embedded default transport when the data
 * owner has no Google account. Any Maildir reader opens the folder: `mutt -f <dir>`, `neomutt -f <dir>`, Dovecot,
 * Thunderbird (Maildir store), `mailx -f`...
 *
 * Delivery: create `tmp/ new/ cur/` (0700) when missing; create `tmp/<unique>` exclusively (O_EXCL, mode 0600),
 * write, fsync; hard-link it to `new/<unique>` (link refuses to overwrite: EEXIST → start again under a new name),
 * unlink the tmp file, fsync `new/`. Filesystems without hard links (FUSE mounts such as Google Drive on Colab) fall
 * back to rename after checking the name is free.
 *
 * Unique names: `<sec>.M<usec>P<pid>Q<n>.<host>` — wall-clock seconds and microseconds, the pid, a per-process
 * delivery counter and the hostname (`/` → `\057`, `:` → `\072`). Two processes differ in pid, one process in Q;
 * O_EXCL and link(2) catch anything else (pid reuse, a clock step, a shared folder).
 *
 * Files are stored with LF line endings, the Unix Maildir convention (qmail, Postfix local(8), procmail): the MIME
 * text from buildMime is 7-bit with every CR of the content encoded, so CRLF → LF loses nothing.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildMime, type EmailMessage } from './message';
import type { FoundMessage, MailTransport, SendResult } from './transport';

export interface MaildirOptions {
  /** Used in unique file names and generated Message-IDs; default `os.hostname()`. */
  hostname?: string;
  /** Clock for the `Date` header and the file names (ms since the epoch); default `Date.now`. */
  clock?: () => number;
  /** Pid written into file names; default `process.pid`. Tests override it to force name collisions. */
  pid?: number;
}

export interface MaildirSendResult extends SendResult {
  /** The unique file name in `new/`. */
  id: string;
  /** Absolute path of the delivered file. */
  path: string;
}

export interface MaildirEntry {
  /** Unique name (the file name without the `:2,<flags>` info part). */
  id: string;
  path: string;
  folder: 'new' | 'cur';
  /** Maildir flags (`S` seen, `R` replied, ...) of messages a reader moved to `cur/`. */
  flags: string;
  deliveredAt: Date;
}

const SUBDIRS = ['tmp', 'new', 'cur'] as const;
const MAX_ATTEMPTS = 100;
/** link(2) not supported here: deliver with rename instead. */
const NO_LINK = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'ENOSYS', 'EMLINK']);

/** Per-process delivery counter (the `Q<n>` of the unique name), shared by every transport in the process. */
let deliveryCounter = 0;
/** Sub-millisecond sequence so that names from one process sort in delivery order. */
let lastMs = -1;
let sameMsSeq = 0;

export class MaildirTransport implements MailTransport {
  readonly kind = 'maildir' as const;
  readonly dir: string;
  private readonly hostname: string;
  private readonly clock: () => number;
  private readonly pid: number;

  constructor(dir: string, opts: MaildirOptions = {}) {
    this.dir = path.resolve(dir);
    this.hostname = opts.hostname ?? os.hostname();
    this.clock = opts.clock ?? Date.now;
    this.pid = opts.pid ?? process.pid;
  }

  /** The folders were checked by this instance (re-checked when one disappears). */
  private ensured = false;

  async send(msg: EmailMessage): Promise<MaildirSendResult> {
    if (!this.ensured) {
      await ensureMaildir(this.dir);
      this.ensured = true;
    }
    const { raw, messageId } = buildMime(msg, { now: new Date(this.clock()), hostname: this.hostname });
    const data = Buffer.from(raw.replace(/\r\n/g, '\n'), 'utf8');
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const id = this.uniqueName();
      const tmpPath = path.join(this.dir, 'tmp', id);
      const newPath = path.join(this.dir, 'new', id);
      let fh: fsp.FileHandle;
      try {
        fh = await fsp.open(tmpPath, 'wx', 0o600);
      } catch (e) {
        if (errno(e) === 'EEXIST') continue;
        if (errno(e) === 'ENOENT' && attempt === 0) {
          // Someone removed the Maildir (or tmp/) since: create it again.
          await ensureMaildir(this.dir);
          continue;
        }
        throw e;
      }
      try {
        await fh.writeFile(data);
        await fh.chmod(0o600);
        await fh.sync();
      } catch (e) {
        await fh.close().catch(() => undefined);
        await fsp.rm(tmpPath, { force: true });
        throw e;
      }
      await fh.close();
      try {
        await fsp.link(tmpPath, newPath);
      } catch (e) {
        const code = errno(e);
        if (code === 'EEXIST') {
          await fsp.rm(tmpPath, { force: true });
          continue;
        }
        if (code === 'ENOENT' && attempt < 2) {
          // new/ was removed since this transport checked the folders.
          await fsp.rm(tmpPath, { force: true });
          await ensureMaildir(this.dir);
          continue;
        }
        if (code !== undefined && NO_LINK.has(code)) {
          if (await exists(newPath)) {
            await fsp.rm(tmpPath, { force: true });
            continue;
          }
          await fsp.rename(tmpPath, newPath);
          await fsyncDir(path.join(this.dir, 'new'));
          return { id, path: newPath, messageId };
        }
        await fsp.rm(tmpPath, { force: true });
        throw e;
      }
      await fsp.rm(tmpPath, { force: true });
      await fsyncDir(path.join(this.dir, 'new'));
      return { id, path: newPath, messageId };
    }
    throw new Error(`Maildir ${this.dir}: no unique file name after ${MAX_ATTEMPTS} attempts`);
  }

  /** The message in `new/` or `cur/` whose Message-ID header is `messageId` (case-insensitive), if any. */
  async find(messageId: string): Promise<FoundMessage | undefined> {
    const want = messageId.trim().replace(/^<(.*)>$/, '$1').toLowerCase();
    for (const e of listMaildir(this.dir)) {
      if (headerMessageId(readHead(e.path)) === want) return { id: e.id };
    }
    return undefined;
  }

  private uniqueName(): string {
    const ms = this.clock();
    if (ms === lastMs) sameMsSeq = Math.min(sameMsSeq + 1, 999);
    else {
      lastMs = ms;
      sameMsSeq = 0;
    }
    const sec = Math.floor(ms / 1000);
    const usec = Math.floor(ms - sec * 1000) * 1000 + sameMsSeq;
    deliveryCounter += 1;
    return `${sec}.M${usec}P${this.pid}Q${deliveryCounter}.${maildirHost(this.hostname)}`;
  }
}

/** The hostname as the Maildir spec wants it in a file name. */
export function maildirHost(hostname: string): string {
  const h = hostname.replace(/\//g, '\\057').replace(/:/g, '\\072');
  return h === '' ? 'localhost' : h;
}

/** Create `<dir>/{tmp,new,cur}` with mode 0700 where missing; existing folders are left as they are. */
export async function ensureMaildir(dir: string): Promise<void> {
  const created = await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  if (created !== undefined) await fsp.chmod(dir, 0o700);
  for (const sub of SUBDIRS) {
    const p = path.join(dir, sub);
    try {
      await fsp.mkdir(p, { mode: 0o700 });
      await fsp.chmod(p, 0o700); // the umask must not widen or narrow it
    } catch (e) {
      if (errno(e) !== 'EEXIST') throw e;
    }
  }
}

const NAME_RE = /^(\d+)\.M(\d+)P(\d+)Q(\d+)\./;

/**
 * Messages in `new/` and `cur/`, oldest delivery first (by the time in the unique name; names from other delivery
 * agents fall back to a leading `<sec>.` and then to the file's mtime). A missing folder yields [].
 */
export function listMaildir(dir: string): MaildirEntry[] {
  const rows: { e: MaildirEntry; sec: number; usec: number; q: number }[] = [];
  for (const folder of ['new', 'cur'] as const) {
    let names: string[];
    try {
      names = fs.readdirSync(path.join(dir, folder));
    } catch (e) {
      if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') continue;
      throw e;
    }
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const p = path.join(dir, folder, name);
      const colon = name.indexOf(':');
      const id = colon >= 0 ? name.slice(0, colon) : name;
      const info = colon >= 0 ? name.slice(colon + 1) : '';
      const flags = info.startsWith('2,') ? info.slice(2) : '';
      let sec: number;
      let usec = 0;
      let q = 0;
      const m = NAME_RE.exec(id);
      if (m) {
        sec = Number(m[1]);
        usec = Number(m[2]);
        q = Number(m[4]);
      } else if (/^\d+\./.test(id)) {
        sec = Number(id.slice(0, id.indexOf('.')));
      } else {
        let st: fs.Stats;
        try {
          st = fs.statSync(p);
        } catch {
          continue; // moved or deleted by a reader meanwhile
        }
        sec = Math.floor(st.mtimeMs / 1000);
        usec = Math.floor((st.mtimeMs % 1000) * 1000);
      }
      rows.push({ e: { id, path: p, folder, flags, deliveredAt: new Date(sec * 1000 + Math.floor(usec / 1000)) }, sec, usec, q });
    }
  }
  rows.sort((a, b) => a.sec - b.sec || a.usec - b.usec || a.q - b.q || (a.e.id < b.e.id ? -1 : a.e.id > b.e.id ? 1 : 0));
  return rows.map((r) => r.e);
}

/** The header block of a message file (up to the first empty line, at most 64 KiB). */
function readHead(file: string): string {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return '';
  }
  try {
    const buf = Buffer.alloc(65536);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const text = buf.subarray(0, n).toString('latin1');
    const end = text.search(/\r?\n\r?\n/);
    return end >= 0 ? text.slice(0, end) : text;
  } catch {
    return '';
  } finally {
    fs.closeSync(fd);
  }
}

/** The Message-ID of a header block (unfolded), without brackets, lower-cased. */
export function headerMessageId(head: string): string | undefined {
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  const m = /^message-id:[ \t]*<?([^<>\s]+)>?/im.exec(unfolded);
  return m ? m[1]!.toLowerCase() : undefined;
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  try {
    const fh = await fsp.open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Some filesystems (e.g. Google Drive FUSE on Colab) do not support fsync on directories.
  }
}
