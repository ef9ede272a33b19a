/**
 * The outbox journal: every batch of work the owner sync engine decides on (a proposal to apply, a batch of local
 * changes to publish, a checkpoint to upload) is written here *before* anything is sent, with the final Drive file
 * names and the exact bytes to upload. A crash (kill -9 included) at any point then loses nothing and duplicates
 * nothing: on restart the entry is resumed; an upload that may have happened is first looked up by its exact name
 * in the target folder.
 *
 * Layout, in the engine's state folder: `journal/<seq>-<id>.json` (the entry, rewritten atomically on every
 * progress mark) and `journal/<seq>-<id>.<n>.bin` (payloads, written before the entry that names them). An entry
 * file is the commit point: payload files without one are leftovers of a crash and are removed.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../fs/atomic';

export type UploadTarget = { kind: 'log' } | { kind: 'outbox'; peer: string } | { kind: 'checkpoint' };

export interface JournalUpload {
  target: UploadTarget;
  /** Final Drive file name (`syfteventsmessagev3_<ts>_<uuid>.tar.gz`, `incremental_checkpoint_<n>_<ts>.tar.gz`). */
  name: string;
  /** Payload file index (`<entry>.<n>.bin`). */
  blob: number;
  /** An upload was started (so it may exist on Drive even if we never heard back). */
  attempted?: boolean;
  /** Uploaded (or found already there). */
  done?: boolean;
  /** Given up (peer gone, folder missing); the reason. */
  dropped?: string;
}

export interface JournalWrite {
  /** Path in the datasite (POSIX, relative). */
  path: string;
  /** Payload index with the new content, or null to delete the file. */
  blob: number | null;
  hash: string | null;
}

export interface JournalEntry {
  id: string;
  seq: number;
  kind: 'local' | 'proposal' | 'checkpoint';
  createdAt: number;
  /** The proposal being applied (kind `proposal`). */
  proposal?: { peer: string; fileId: string; name: string };
  /** Datasite files to write (kind `proposal`). */
  writes?: JournalWrite[];
  applied?: boolean;
  archived?: boolean;
  uploads: JournalUpload[];
  /** owner_file_hashes.json updates to make once every upload is done (null: remove). */
  hashes: Record<string, string | null>;
  /** Payload index of the events message JSON to add to the rolling state at commit (kinds local/proposal). */
  rollingEvents?: number;
  /** Recipients each path was routed to (remembered at commit, for permission-change resends). */
  readers?: Record<string, string[]>;
  /** Checkpoint entries: the rolling state events this checkpoint covers (ids), removed from it at commit. */
  checkpoint?: { sequence: number; coveredEventIds: string[] };
}

export class Journal {
  private nextSeq = 1;

  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
  }

  private base(e: Pick<JournalEntry, 'seq' | 'id'>): string {
    return path.join(this.dir, `${String(e.seq).padStart(10, '0')}-${e.id}`);
  }

  blobPath(e: Pick<JournalEntry, 'seq' | 'id'>, n: number): string {
    return `${this.base(e)}.${n}.bin`;
  }

  /** Every committed entry, oldest first; removes payloads of entries that were never committed. */
  load(onCorrupt?: (file: string, err: Error) => void): JournalEntry[] {
    const names = fs.readdirSync(this.dir).sort();
    const entries: JournalEntry[] = [];
    const live = new Set<string>();
    for (const n of names) {
      if (!n.endsWith('.json')) continue;
      const file = path.join(this.dir, n);
      try {
        const e = JSON.parse(fs.readFileSync(file, 'utf8')) as JournalEntry;
        if (typeof e.seq !== 'number' || typeof e.id !== 'string' || !Array.isArray(e.uploads)) throw new Error('not a journal entry');
        entries.push(e);
        live.add(path.basename(this.base(e)));
        this.nextSeq = Math.max(this.nextSeq, e.seq + 1);
      } catch (err) {
        // Written atomically, so this is not a torn write: keep it aside for a human, do not act on it.
        onCorrupt?.(file, err as Error);
        fs.renameSync(file, `${file}.corrupt`);
      }
    }
    for (const n of names) {
      if (!n.endsWith('.bin')) continue;
      const stem = n.replace(/\.\d+\.bin$/, '');
      if (!live.has(stem)) fs.rmSync(path.join(this.dir, n), { force: true });
    }
    for (const n of names) {
      if (n.endsWith('.tmp')) fs.rmSync(path.join(this.dir, n), { force: true });
    }
    return entries.sort((a, b) => a.seq - b.seq);
  }

  /** Write the payloads, then the entry (the commit point). */
  create(init: Omit<JournalEntry, 'id' | 'seq'>, blobs: readonly Uint8Array[]): JournalEntry {
    const e: JournalEntry = { ...init, id: crypto.randomUUID(), seq: this.nextSeq++ };
    blobs.forEach((b, n) => writeFileAtomic(this.blobPath(e, n), b, { mode: 0o600 }));
    this.save(e);
    return e;
  }

  save(e: JournalEntry): void {
    writeFileAtomic(`${this.base(e)}.json`, JSON.stringify(e), { mode: 0o600 });
  }

  blob(e: JournalEntry, n: number): Buffer {
    return fs.readFileSync(this.blobPath(e, n));
  }

  /** Drop a finished entry: the entry first (so a crash leaves only orphan payloads, removed on load). */
  remove(e: JournalEntry): void {
    fs.rmSync(`${this.base(e)}.json`, { force: true });
    for (const n of fs.readdirSync(this.dir)) {
      if (n.startsWith(path.basename(this.base(e)) + '.') && n.endsWith('.bin')) fs.rmSync(path.join(this.dir, n), { force: true });
    }
  }
}
