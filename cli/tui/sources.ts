/**
 * What the dashboard reads once a second, cheaply: the PM2 process list over the daemon's RPC socket (never the
 * pm2 API, never starting a daemon), the status report built from it, the approve audit log and the notify journal
 * (re-read only when their size or mtime changed, and only their tail), when each service last wrote to its log,
 * and the tail of one service's log for the log view. Every reader tolerates missing and half-written files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SERVICES, type ServiceName } from '../../lib/services';
import type { StatusReport } from '../../lib/status';
import type { DecisionRecord } from '../../lib/approve/audit';
import { currentHome } from '../../lib/home';
import { buildFeed, decisionRow, emailRows, type FeedRow } from './model';
import { safeText } from './text';

export interface Snapshot {
  status: StatusReport;
  feed: FeedRow[];
  lastActivity: Record<ServiceName, number | null>;
  now: number;
}

/** How many records of each file the feed looks at (their tails). */
export const FEED_DECISIONS = 300;
export const FEED_JOURNAL_LINES = 2000;
export const FEED_LIMIT = 300;

interface FileKey {
  size: number;
  mtimeMs: number;
  ino: number;
}

const sameKey = (a: FileKey | undefined, b: FileKey | undefined) => !!a && !!b && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;

function statKey(file: string): FileKey | undefined {
  try {
    const st = fs.statSync(file);
    return { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
  } catch {
    return undefined;
  }
}

/** A file's parsed tail, re-read only when the file changed (by size, mtime and inode). */
export class TailCache<T> {
  private key: FileKey | undefined;
  private value: T;
  /** Times the file was actually read (for tests and the refresh cost report). */
  reads = 0;
  constructor(
    readonly file: string,
    private readonly lines: number,
    private readonly parse: (lines: string[]) => T,
    private readonly empty: T,
  ) {
    this.value = empty;
  }

  get(): T {
    const k = statKey(this.file);
    if (!k) {
      this.key = undefined;
      this.value = this.empty;
      return this.value;
    }
    if (sameKey(k, this.key)) return this.value;
    const { tailFile } = require('../../lib/log/files') as typeof import('../../lib/log/files');
    let lines: string[];
    try {
      lines = tailFile(this.file, this.lines);
    } catch {
      return this.value; // unreadable right now: keep what we had
    }
    this.reads++;
    this.key = k;
    this.value = this.parse(lines);
    return this.value;
  }
}

export function parseDecisionLines(lines: string[]): FeedRow[] {
  const rows: FeedRow[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let rec: DecisionRecord;
    try {
      rec = JSON.parse(line) as DecisionRecord;
    } catch {
      return; // a line cut by a crash
    }
    const r = decisionRow(rec, i);
    if (r) rows.push(r);
  });
  return rows;
}

/** When a service last wrote to its log (mtime of its newest log file), or null when it has none. */
export function lastLogWrite(logsDir: string, service: ServiceName): number | null {
  const { currentLogLink, listLogFiles } = require('../../lib/log/files') as typeof import('../../lib/log/files');
  try {
    return fs.statSync(currentLogLink(logsDir, service)).mtimeMs;
  } catch {
    /* no symlink (yet): look at the files */
  }
  try {
    const files = listLogFiles(logsDir, service);
    const newest = files[files.length - 1];
    return newest ? fs.statSync(newest.path).mtimeMs : null;
  } catch {
    return null;
  }
}

export interface Sources {
  snapshot(): Promise<Snapshot>;
  /** The last `n` lines of a service's log, pretty-printed, one display line per entry line. */
  logTail(service: ServiceName, n: number): string[];
  decisions: TailCache<FeedRow[]>;
  emails: TailCache<FeedRow[]>;
}

export function createSources(opts: { now?: () => number } = {}): Sources {
  const home = currentHome();
  const now = opts.now ?? Date.now;
  const decisions = new TailCache(path.join(home.serviceDir('approve'), 'decisions.jsonl'), FEED_DECISIONS, parseDecisionLines, [] as FeedRow[]);
  const emails = new TailCache(path.join(home.serviceDir('notify'), 'journal.jsonl'), FEED_JOURNAL_LINES, (l) => emailRows(l.join('\n')), [] as FeedRow[]);
  let render: ((line: string) => string) | undefined;
  const logCache = new Map<ServiceName, { key: FileKey | undefined; n: number; lines: string[] }>();

  return {
    decisions,
    emails,
    async snapshot() {
      // `status --json`: the PM2 list over the daemon's RPC socket (no pm2 API, no daemon spawned), the cached config.
      const { status: readStatus } = require('../../lib/api/status') as typeof import('../../lib/api/status');
      const status = await readStatus();
      const t = now();
      const lastActivity = {} as Record<ServiceName, number | null>;
      for (const s of SERVICES) lastActivity[s] = lastLogWrite(home.logs, s);
      return { status, feed: buildFeed(decisions.get(), emails.get(), FEED_LIMIT), lastActivity, now: t };
    },
    logTail(service, n) {
      const { currentLogLink, tailLines } = require('../../lib/log/files') as typeof import('../../lib/log/files');
      const key = statKey(currentLogLink(home.logs, service));
      const hit = logCache.get(service);
      if (hit && key && sameKey(key, hit.key) && hit.n === n) return hit.lines;
      if (!render) {
        const { createRenderer } = require('../../lib/log/render') as typeof import('../../lib/log/render');
        render = createRenderer({ json: false, color: false });
      }
      let raw: string[];
      try {
        raw = tailLines(home.logs, service, n);
      } catch (e) {
        return [`(cannot read the log: ${safeText((e as Error).message)})`];
      }
      const lines = raw.flatMap((l) => render!(l).split('\n')).map(safeText);
      logCache.set(service, { key, n, lines });
      return lines;
    },
  };
}
