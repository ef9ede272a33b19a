/**
 * Local changes -> events (protocol §3.6): scan the datasite (stat cache, only changed files hashed), compare with
 * what has been published (`owner_file_hashes.json` plus pending journal entries), and journal one events message
 * for the personal log plus one filtered message per recipient:
 * - data events go to peers with read access to the path;
 * - `syft.pub.yaml` events go to peers with admin on it (in practice nobody), and every file under that folder is
 *   re-checked: peers that gained read access get a full copy ("resend", `old_hash: null`). Who was last routed
 *   each path is persisted (the reference keeps it in memory and resends whole folders after a restart).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadRuleFiles } from './codec/access-fs';
import { canAccess, type RuleSet } from './codec/access';
import { contentHash } from './codec/content';
import { deletionEvent, eventsMessageFileName, fileChangeEvent, makeEventsMessage, packEvents, type FileChangeEvent } from './codec/events';
import { isNormalSyncable } from './codec/paths';
import { PERMISSION_FILE_NAME } from '../datasite/permissions';
import type { Ctx } from './context';
import { ts } from './context';
import { advance } from './deliver';
import type { JournalUpload } from './journal';
import { scanDatasite, type ScannedFile } from './scan';

export interface LocalDiff {
  changed: string[];
  deleted: string[];
}

/** Pure: files whose hash differs from what was published, and published files that are gone. */
export function diffLocal(files: ReadonlyMap<string, ScannedFile>, published: ReadonlyMap<string, string | null>, unreadable: ReadonlySet<string>): LocalDiff {
  const changed: string[] = [];
  const deleted: string[] = [];
  for (const [p, f] of files) if ((published.get(p) ?? null) !== f.hash) changed.push(p);
  for (const [p, h] of published) {
    if (h === null || files.has(p) || unreadable.has(p) || !isNormalSyncable(p)) continue;
    deleted.push(p);
  }
  return { changed: changed.sort(), deleted: deleted.sort() };
}

/** A file's content as syft-client carries it: text when it is valid UTF-8, bytes otherwise. */
export function fileContent(buf: Buffer): string | Buffer {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(buf);
  } catch {
    return buf;
  }
}

const isPermFile = (p: string) => p === PERMISSION_FILE_NAME || p.endsWith(`/${PERMISSION_FILE_NAME}`);

function readersOf(rules: ReadonlyMap<string, RuleSet>, p: string, peers: readonly string[], me: string, level: 'read' | 'admin' = 'read'): string[] {
  return peers.filter((r) => canAccess(rules, p, r, me, level));
}

function readFile(datasite: string, rel: string): Buffer | undefined {
  try {
    const abs = path.join(datasite, ...rel.split('/'));
    if (fs.lstatSync(abs).isSymbolicLink()) return undefined;
    return fs.readFileSync(abs);
  } catch {
    return undefined;
  }
}

/** One publish step. Returns the number of events published. */
export async function publishLocalChanges(ctx: Ctx): Promise<number> {
  const datasite = ctx.store.paths.datasite;
  fs.mkdirSync(datasite, { recursive: true });
  const scan = scanDatasite(datasite, ctx.statCache, { syncable: isNormalSyncable, maxFileBytes: ctx.opts.maxFileBytes, now: ctx.now() });
  for (const s of scan.skipped) ctx.log.debug?.({ path: s.path }, `not published: ${s.path}: ${s.reason}`);
  ctx.statCache = scan.cache;
  const diff = diffLocal(scan.files, ctx.effective, new Set(scan.skipped.map((s) => s.path)));
  if (diff.changed.length === 0 && diff.deleted.length === 0) {
    ctx.store.saveStatCache(ctx.statCache);
    return 0;
  }
  const rules = loadRuleFiles(datasite).rules;
  const events: FileChangeEvent[] = [];
  const hashes: Record<string, string | null> = {};
  for (const p of diff.changed) {
    const buf = readFile(datasite, p);
    if (buf === undefined) continue; // vanished since the scan: next cycle sees it as deleted
    const content = fileContent(buf);
    const ev = fileChangeEvent({ path: p, datasiteEmail: ctx.me, content, oldHash: ctx.effective.get(p) ?? null, timestamp: ts(ctx) });
    if (ev.new_hash !== scan.files.get(p)!.hash) {
      // Changed between the scan and the read: publish what we read, and hash it again next time.
      const c = ctx.statCache[p];
      if (c) ctx.statCache[p] = { ...c, hash: contentHash(content), racy: true };
    }
    events.push(ev);
    hashes[p] = ev.new_hash;
  }
  for (const p of diff.deleted) {
    events.push(deletionEvent({ path: p, datasiteEmail: ctx.me, oldHash: ctx.effective.get(p) ?? null, timestamp: ts(ctx) }));
    hashes[p] = null;
  }
  if (events.length === 0) {
    ctx.store.saveStatCache(ctx.statCache);
    return 0;
  }

  // Routing (§3.6 step 2).
  const byRecipient = new Map<string, FileChangeEvent[]>(ctx.peers.map((r) => [r, []]));
  const sentTo = new Map<string, Set<string>>();
  const readers: Record<string, string[]> = {};
  const permEvents: FileChangeEvent[] = [];
  for (const ev of events) {
    const p = ev.path_in_datasite;
    if (isPermFile(p)) {
      permEvents.push(ev);
      continue;
    }
    const rs = readersOf(rules, p, ctx.peers, ctx.me);
    readers[p] = ev.is_deleted ? [] : rs;
    sentTo.set(p, new Set(rs));
    for (const r of rs) byRecipient.get(r)!.push(ev);
  }
  let resends = 0;
  for (const ev of permEvents) {
    for (const r of readersOf(rules, ev.path_in_datasite, ctx.peers, ctx.me, 'admin')) byRecipient.get(r)!.push(ev);
    const dir = path.posix.dirname(ev.path_in_datasite);
    const prefix = dir === '.' ? '' : `${dir}/`;
    for (const p of scan.files.keys()) {
      if (!p.startsWith(prefix) || isPermFile(p)) continue;
      const now = readersOf(rules, p, ctx.peers, ctx.me);
      const before = new Set(readers[p] ?? ctx.state.readers[p] ?? []);
      readers[p] = now;
      const already = sentTo.get(p) ?? new Set<string>();
      const needs = now.filter((r) => !before.has(r) && !already.has(r));
      if (needs.length === 0) continue;
      const buf = readFile(datasite, p);
      if (buf === undefined) continue;
      const t = ts(ctx);
      const resend = fileChangeEvent({ path: p, datasiteEmail: ctx.me, content: fileContent(buf), oldHash: null, timestamp: t });
      for (const r of needs) byRecipient.get(r)!.push(resend);
      resends++;
    }
  }

  const log = makeEventsMessage(events, { timestamp: ts(ctx) });
  const blobs: Buffer[] = [packEvents(log, { mtime: ctx.now() / 1000 })];
  const uploads: JournalUpload[] = [{ target: { kind: 'log' }, name: eventsMessageFileName(log), blob: 0 }];
  for (const [r, evs] of byRecipient) {
    if (evs.length === 0) continue;
    const m = makeEventsMessage(evs, { timestamp: ts(ctx) });
    blobs.push(packEvents(m, { mtime: ctx.now() / 1000 }));
    uploads.push({ target: { kind: 'outbox', peer: r }, name: eventsMessageFileName(m), blob: blobs.length - 1 });
  }
  const entry = ctx.journal.create({ kind: 'local', createdAt: ctx.now(), uploads, hashes, rollingEvents: 0, readers }, blobs);
  ctx.pending.push(entry);
  for (const [p, h] of Object.entries(hashes)) ctx.effective.set(p, h);
  ctx.store.saveStatCache(ctx.statCache);
  ctx.result.published.events += events.length;
  ctx.result.published.messages += uploads.length;
  ctx.result.published.resends += resends;
  ctx.log.info(
    { events: events.length, recipients: uploads.filter((u) => u.target.kind === 'outbox').map((u) => (u.target as { peer: string }).peer), resends },
    `publishing ${events.length} local change(s)`,
  );
  await advance(ctx, entry);
  return events.length;
}
