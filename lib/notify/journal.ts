/**
 * The notify outbox journal: what was mailed (or must never be), durable across crashes.
 *
 * `<notify dir>/journal.jsonl`, one JSON record per line, appended with O_APPEND and fsync'd before the caller goes
 * on. The last record of a key wins. Per mail:
 *
 *   intent  {k, s:"intent", mid, n}             written and fsync'd *before* the transport is called
 *   sent    {k, s:"sent", mid, tid?, id?}       after the transport accepted it
 *   failed  {k, s:"failed", mid, n, next, err, amb?}   the send failed; retry at `next`; `amb`: it may have gone out
 *   seen    {k, s:"seen", tid?}                 never mailed by us, must not be (seeded, imported from Python)
 *   peers   {k:"@peers", emails:[…]}            last peer snapshot
 *
 * A key whose last record is `intent` (or an ambiguous `failed`) after a restart is *uncertain*: the process died
 * (or the connection broke) between handing the mail over and recording it. The caller asks the mailbox for the
 * stable Message-ID before sending again.
 *
 * Opening replays the file, skipping lines that do not parse (a line cut short by a crash), and, unless it already
 * is one good line per key, rewrites it compacted atomically (temp + fsync + rename), which also removes any torn
 * tail. The journal is compacted again whenever it grows past 4× its live size.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EntryStatus } from './events';
import { fsyncDir } from '../fs/atomic';

export interface JournalEntry {
  k: string;
  s: EntryStatus;
  /** Message-ID with brackets. */
  mid?: string;
  /** Gmail thread id. */
  tid?: string;
  /** Transport message id (Gmail id, Maildir file name). */
  id?: string;
  /** Failed attempts so far. */
  n?: number;
  /** ISO time of the next attempt (failed). */
  next?: string;
  err?: string;
  /** The failure may have delivered the mail (timeout, connection reset, 5xx on send). */
  amb?: boolean;
  /** Who and what, for `syft-bg status` (failed entries). */
  to?: string;
  subj?: string;
  /** ISO time of the record. */
  t?: string;
}

const PEERS_KEY = '@peers';

export class Journal {
  private readonly map = new Map<string, JournalEntry>();
  /** Keys whose last record is `failed` (status.json and the PM2 metric read these often). */
  private readonly failedKeys = new Set<string>();
  private peerEmails: string[] | undefined;
  private fd: number | undefined;
  private lines = 0;
  /** The file did not exist when opened (first start of this service). */
  readonly fresh: boolean;

  private constructor(readonly file: string, fresh: boolean) {
    this.fresh = fresh;
  }

  static open(file: string): Journal {
    let text: string | undefined;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const j = new Journal(file, text === undefined);
    let lines = 0;
    let odd = false;
    if (text !== undefined) {
      // Line by line without splitting the whole file (a 10,000-job journal is ~60,000 lines).
      for (let a = 0; a < text.length; ) {
        let b = text.indexOf('\n', a);
        if (b < 0) b = text.length;
        const line = text.slice(a, b);
        a = b + 1;
        if (line.trim() === '') continue;
        lines++;
        let r: unknown;
        try {
          r = JSON.parse(line);
        } catch {
          odd = true; // torn line
          continue;
        }
        if (!j.apply(r)) odd = true;
      }
      if (text !== '' && !text.endsWith('\n')) odd = true;
    }
    // A fresh journal comes into existence only through initialise(), atomically with its seed records: a crash
    // before that leaves no file, so the next start seeds again instead of mailing every existing job.
    // Compacted when it holds anything but one good line per key (a torn tail, superseded records); else kept as is.
    if (!j.fresh) {
      if (odd || lines !== j.map.size + (j.peerEmails !== undefined ? 1 : 0)) j.compact();
      else j.lines = lines;
    }
    return j;
  }

  /** Apply one replayed record; false when it is not a record (it is then dropped by a compaction). */
  private apply(r: unknown): boolean {
    if (!r || typeof r !== 'object') return false;
    const rec = r as Record<string, unknown>;
    if (rec.k === PEERS_KEY) {
      if (!Array.isArray(rec.emails) || !rec.emails.every((e) => typeof e === 'string')) return false;
      this.peerEmails = rec.emails as string[];
      return true;
    }
    if (typeof rec.k !== 'string' || !['seen', 'intent', 'sent', 'failed'].includes(rec.s as string)) return false;
    this.put(rec as unknown as JournalEntry);
    return true;
  }

  private put(e: JournalEntry): void {
    this.map.set(e.k, e);
    if (e.s === 'failed') this.failedKeys.add(e.k);
    else this.failedKeys.delete(e.k);
  }

  /**
   * First start: write the seed (imported or seeded records, peer snapshot) and create the file, atomically. The
   * records are kept (not copied: a seed may hold 60,000 of them).
   */
  initialise(seed: JournalEntry[], peers?: string[]): void {
    const t = new Date().toISOString();
    for (const e of seed) {
      e.t ??= t;
      this.put(e);
    }
    if (peers !== undefined) this.peerEmails = peers;
    this.compact();
  }

  get(key: string): JournalEntry | undefined {
    return this.map.get(key);
  }

  entries(): IterableIterator<JournalEntry> {
    return this.map.values();
  }

  /** Entries whose last record is `failed`. */
  *failed(): IterableIterator<JournalEntry> {
    for (const k of this.failedKeys) yield this.map.get(k)!;
  }

  get size(): number {
    return this.map.size;
  }

  get peers(): string[] | undefined {
    return this.peerEmails;
  }

  /**
   * Append one record and apply it. Durable (fsync) unless `lazy`: a `sent` record may be lazy, because losing it
   * leaves the `intent` before it, which the sender resolves by looking the Message-ID up — never by resending blind.
   */
  append(e: JournalEntry, opts: { lazy?: boolean } = {}): void {
    this.write([e], !opts.lazy);
  }

  /** Append several records with one fsync (seeding, imports). */
  appendMany(es: JournalEntry[]): void {
    if (es.length) this.write(es);
  }

  setPeers(emails: string[]): void {
    const rec = { k: PEERS_KEY, emails };
    this.writeRaw(JSON.stringify(rec) + '\n');
    this.peerEmails = emails;
    this.lines++;
  }

  private write(es: JournalEntry[], sync = true): void {
    const t = new Date().toISOString();
    const withTime = es.map((e) => ({ ...e, t: e.t ?? t }));
    this.writeRaw(withTime.map((e) => JSON.stringify(e)).join('\n') + '\n', sync);
    for (const e of withTime) this.put(e);
    this.lines += es.length;
    if (this.lines > 1000 && this.lines > 4 * (this.map.size + 1)) this.compact();
  }

  private writeRaw(text: string, sync = true): void {
    if (this.fd === undefined) {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      this.fd = fs.openSync(this.file, 'a', 0o600);
    }
    fs.writeSync(this.fd, text);
    if (sync) fs.fdatasyncSync(this.fd);
  }

  /** Rewrite the file as one line per key (atomic). */
  compact(): void {
    if (this.fd !== undefined) {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
    // Written in chunks, not as one string: a 10,000-job journal is ~8 MB.
    const dir = path.dirname(this.file);
    fs.mkdirSync(dir, { recursive: true });
    const tmp = path.join(dir, `.${path.basename(this.file)}.${process.pid}.${Date.now()}.tmp`);
    const fd = fs.openSync(tmp, 'w', 0o600);
    let lines = 0;
    let open = true;
    try {
      let chunk = '';
      const add = (rec: object) => {
        chunk += JSON.stringify(rec) + '\n';
        lines++;
        if (chunk.length >= 256 * 1024) {
          fs.writeSync(fd, chunk);
          chunk = '';
        }
      };
      for (const e of this.map.values()) add(e);
      if (this.peerEmails !== undefined) add({ k: PEERS_KEY, emails: this.peerEmails });
      if (chunk) fs.writeSync(fd, chunk);
      fs.fchmodSync(fd, 0o600);
      fs.fsyncSync(fd);
      open = false;
      fs.closeSync(fd);
      fs.renameSync(tmp, this.file);
    } catch (e) {
      if (open) fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    fsyncDir(dir);
    this.lines = lines;
  }

  close(): void {
    if (this.fd !== undefined) {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
  }
}
