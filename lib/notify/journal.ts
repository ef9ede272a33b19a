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
 * Opening replays the file, skipping lines that do not parse (a line cut short by a crash), and rewrites it
 * compacted (one line per key) atomically (temp + fsync + rename), which also removes any torn tail. The journal
 * is compacted again whenever it grows past 4× its live size.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../fs/atomic';
import type { EntryStatus } from './events';

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
    if (text !== undefined) {
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue;
        let r: unknown;
        try {
          r = JSON.parse(line);
        } catch {
          continue; // torn line
        }
        j.apply(r);
      }
    }
    // A fresh journal comes into existence only through initialise(), atomically with its seed records: a crash
    // before that leaves no file, so the next start seeds again instead of mailing every existing job.
    if (!j.fresh) j.compact();
    return j;
  }

  private apply(r: unknown): void {
    if (!r || typeof r !== 'object') return;
    const rec = r as Record<string, unknown>;
    if (rec.k === PEERS_KEY) {
      if (Array.isArray(rec.emails) && rec.emails.every((e) => typeof e === 'string')) this.peerEmails = rec.emails as string[];
      return;
    }
    if (typeof rec.k !== 'string' || !['seen', 'intent', 'sent', 'failed'].includes(rec.s as string)) return;
    this.map.set(rec.k, rec as unknown as JournalEntry);
  }

  /** First start: write the seed (imported or seeded records, peer snapshot) and create the file, atomically. */
  initialise(seed: JournalEntry[], peers?: string[]): void {
    const t = new Date().toISOString();
    for (const e of seed) this.map.set(e.k, { ...e, t: e.t ?? t });
    if (peers !== undefined) this.peerEmails = peers;
    this.compact();
  }

  get(key: string): JournalEntry | undefined {
    return this.map.get(key);
  }

  entries(): IterableIterator<JournalEntry> {
    return this.map.values();
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
  }

  private write(es: JournalEntry[], sync = true): void {
    const t = new Date().toISOString();
    const withTime = es.map((e) => ({ ...e, t: e.t ?? t }));
    this.writeRaw(withTime.map((e) => JSON.stringify(e)).join('\n') + '\n', sync);
    for (const e of withTime) this.map.set(e.k, e);
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
    const lines = [...this.map.values()].map((e) => JSON.stringify(e));
    if (this.peerEmails !== undefined) lines.push(JSON.stringify({ k: PEERS_KEY, emails: this.peerEmails }));
    writeFileAtomic(this.file, lines.length ? lines.join('\n') + '\n' : '', { mode: 0o600 });
    this.lines = lines.length;
  }

  close(): void {
    if (this.fd !== undefined) {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
  }
}
