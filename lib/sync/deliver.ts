/**
 * Carrying out journal entries: apply a proposal's files to the datasite, archive the proposal, upload every
 * message (an upload that may already have happened is looked up by its exact name first), then commit — advance
 * `owner_file_hashes.json`, add the events to the rolling state, remember readers — strictly in journal order, and
 * only once every upload of the entry is done. Every step is idempotent, so a crash anywhere is resumed by running
 * the entry again.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../fs/atomic';
import { GoogleApiError } from '../google/retry';
import { encodeEvents, eventsMessageFileName, unpackEvents } from './codec/events';
import { checkDatasitePath } from './codec/paths';
import { addEventsToRollingState, emptyRollingState } from './codec/state-files';
import type { Ctx } from './context';
import { OWN_STATE_MAX_BYTES, ts } from './context';
import type { JournalEntry, JournalUpload } from './journal';
import { statEntryFor } from './scan';

export class UnsafePathError extends Error {
  constructor(readonly pathInDatasite: string, reason: string) {
    super(`${JSON.stringify(pathInDatasite)}: ${reason}`);
    this.name = 'UnsafePathError';
  }
}

const isNotFound = (e: unknown) => e instanceof GoogleApiError && e.status === 404;

/**
 * The absolute path for a datasite-relative path, refusing anything that could leave the datasite: bad
 * components, or an existing symlink (or non-directory) on the way, or a symlink/directory as the target.
 */
export function safeTarget(datasite: string, rel: string): string {
  const c = checkDatasitePath(rel);
  if (!c.ok) throw new UnsafePathError(rel, c.reason);
  let cur = datasite;
  for (let i = 0; i < c.parts.length; i++) {
    cur = path.join(cur, c.parts[i]!);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(cur);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') break;
      throw e;
    }
    const last = i === c.parts.length - 1;
    if (st.isSymbolicLink()) throw new UnsafePathError(rel, `${path.relative(datasite, cur)} is a symbolic link`);
    if (!last && !st.isDirectory()) throw new UnsafePathError(rel, `${path.relative(datasite, cur)} is not a folder`);
    if (last && !st.isFile()) throw new UnsafePathError(rel, 'the target exists and is not a regular file');
  }
  return path.join(datasite, ...c.parts);
}

function save(ctx: Ctx, e: JournalEntry): void {
  ctx.journal.save(e);
}

/** Write (or delete) a proposal's files. Idempotent. */
function applyWrites(ctx: Ctx, e: JournalEntry): void {
  const datasite = ctx.store.paths.datasite;
  for (const w of e.writes ?? []) {
    const abs = safeTarget(datasite, w.path);
    if (w.blob === null) {
      fs.rmSync(abs, { force: true });
      delete ctx.statCache[w.path];
      continue;
    }
    writeFileAtomic(abs, ctx.journal.blob(e, w.blob));
    const st = statEntryFor(abs, w.hash!, ctx.now());
    if (st) ctx.statCache[w.path] = st;
  }
  ctx.store.saveStatCache(ctx.statCache);
}

async function archiveProposal(ctx: Ctx, e: JournalEntry): Promise<void> {
  const p = e.proposal!;
  const archive = await ctx.folders.archive(p.peer);
  try {
    await ctx.drive.archiveFile(p.fileId, archive);
  } catch (err) {
    if (isNotFound(err)) {
      // Gone already (archived by an earlier attempt whose answer we lost, or removed by the sender).
      ctx.log.debug?.({ file: p.name, peer: p.peer }, `proposal ${p.name} no longer in the inbox`);
      return;
    }
    throw err;
  }
}

async function targetFolder(ctx: Ctx, u: JournalUpload): Promise<string | undefined> {
  switch (u.target.kind) {
    case 'log':
      return ctx.folders.personal();
    case 'checkpoint':
      return ctx.folders.checkpoints(true);
    case 'outbox':
      return ctx.folders.peerFolder('outbox', u.target.peer);
  }
}

function forgetTarget(ctx: Ctx, u: JournalUpload): void {
  if (u.target.kind === 'log') ctx.folders.forget('personal');
  else if (u.target.kind === 'checkpoint') ctx.folders.forget('checkpoints');
  else ctx.folders.forget(`outbox:${u.target.peer}`);
}

async function upload(ctx: Ctx, e: JournalEntry, u: JournalUpload): Promise<void> {
  const folder = await targetFolder(ctx, u);
  if (folder === undefined) {
    // Only outboxes can be missing: the peer has no (compatible) outbox folder, so it cannot receive anything.
    const peer = u.target.kind === 'outbox' ? u.target.peer : '?';
    u.dropped = `no outbox folder from ${peer}`;
    ctx.log.warn({ peer, file: u.name }, `not sending ${u.name} to ${peer}: it has no outbox folder for us`);
    save(ctx, e);
    return;
  }
  if (u.attempted) {
    // An earlier attempt may have created it: look before uploading again.
    if (await ctx.drive.findFileIdByName(u.name, folder)) {
      u.done = true;
      countOutbox(ctx, u);
      save(ctx, e);
      return;
    }
  }
  u.attempted = true;
  save(ctx, e);
  try {
    await ctx.drive.uploadFile({ name: u.name, parentId: folder, content: ctx.journal.blob(e, u.blob), mimeType: 'application/octet-stream' });
  } catch (err) {
    if (isNotFound(err)) forgetTarget(ctx, u);
    throw err;
  }
  ctx.result.uploads++;
  await ctx.hooks.afterUpload?.(u.name);
  u.done = true;
  countOutbox(ctx, u);
  save(ctx, e);
}

/** One more of our messages in that peer's outbox (the trigger of outbox compaction, §3.6 step 3). */
function countOutbox(ctx: Ctx, u: JournalUpload): void {
  if (u.target.kind !== 'outbox') return;
  const counts = (ctx.state.outboxCounts ??= {});
  counts[u.target.peer] = (counts[u.target.peer] ?? 0) + 1;
}

/** Apply/archive/upload what is left of an entry. Throws on the first failure (the entry stays pending). */
export async function advance(ctx: Ctx, e: JournalEntry): Promise<void> {
  if (e.kind === 'proposal') {
    if (!e.applied) {
      applyWrites(ctx, e);
      await ctx.hooks.afterApply?.(e.proposal!.name);
      e.applied = true;
      save(ctx, e);
    }
    if (!e.archived) {
      await archiveProposal(ctx, e);
      e.archived = true;
      save(ctx, e);
    }
  }
  for (const u of e.uploads) {
    if (u.done || u.dropped) continue;
    if (u.target.kind === 'outbox' && !ctx.peers.includes(u.target.peer) && !u.attempted) {
      // No longer a compatible approved peer: it would not be synced with (nor would Python send to it).
      u.dropped = `${u.target.peer} is not a compatible approved peer any more`;
      ctx.log.warn({ peer: u.target.peer, file: u.name }, `not sending ${u.name}: ${u.dropped}`);
      save(ctx, e);
      continue;
    }
    await upload(ctx, e, u);
  }
}

function isComplete(e: JournalEntry): boolean {
  return (e.kind !== 'proposal' || (e.applied === true && e.archived === true)) && e.uploads.every((u) => u.done || u.dropped);
}

const eventKey = (ev: { id: string; timestamp: number }) => `${ev.id}|${ev.timestamp}`;

async function commit(ctx: Ctx, e: JournalEntry): Promise<void> {
  await ctx.hooks.beforeCommit?.(e);
  const updates = new Map(Object.entries(e.hashes));
  await ctx.store.updateHashes(updates);
  for (const [p, h] of updates) {
    if (h === null) ctx.published.delete(p);
    else ctx.published.set(p, h);
  }
  if (e.rollingEvents !== undefined) {
    const msg = unpackEvents(ctx.journal.blob(e, e.rollingEvents), { maxBytes: OWN_STATE_MAX_BYTES });
    // Python's DO event-message cache (`<root>-events/`, plain JSON despite the name, §1.1).
    writeFileAtomic(path.join(ctx.store.paths.eventsCacheDir, eventsMessageFileName(msg)), encodeEvents(msg));
    const have = new Set(ctx.rolling.events.map(eventKey));
    const fresh = msg.events.filter((ev) => !have.has(eventKey(ev)));
    if (fresh.length > 0) {
      ctx.rolling = addEventsToRollingState(ctx.rolling, fresh, ts(ctx));
      ctx.store.writeRolling(ctx.rolling);
      ctx.state.rollingDirty = true;
    }
  }
  for (const [p, readers] of Object.entries(e.readers ?? {})) {
    if (readers.length === 0) delete ctx.state.readers[p];
    else ctx.state.readers[p] = readers;
  }
  if (e.kind === 'checkpoint' && e.checkpoint) {
    // The checkpoint holds these events now: drop the rolling state on Drive, keep what came after locally.
    const folder = await ctx.folders.rolling(false);
    if (folder) for (const f of await ctx.drive.listStateFiles(folder, 'rolling_state')) await ctx.drive.deleteFile(f.id);
    const covered = new Set(e.checkpoint.coveredEventIds);
    const rest = ctx.rolling.events.filter((ev) => !covered.has(eventKey(ev)));
    const base = ctx.rolling.last_event_timestamp ?? ts(ctx);
    const fresh = emptyRollingState(ctx.me, ts(ctx), base);
    ctx.rolling = rest.length > 0 ? addEventsToRollingState(fresh, rest, ts(ctx)) : fresh;
    ctx.store.writeRolling(ctx.rolling);
    delete ctx.state.rollingFileId;
    ctx.state.rollingDirty = rest.length > 0;
  }
  ctx.store.saveEngine(ctx.state);
  ctx.journal.remove(e);
}

export { eventKey };

/**
 * Advance every pending entry (a failure of one does not stop the others), then commit the complete ones from the
 * front of the journal. Returns the number still pending.
 */
export async function drain(ctx: Ctx): Promise<number> {
  for (const e of [...ctx.pending]) {
    if (isComplete(e)) continue;
    try {
      await advance(ctx, e);
    } catch (err) {
      ctx.result.errors.push({ stage: `deliver ${e.kind}`, message: (err as Error).message, ...(e.proposal ? { peer: e.proposal.peer } : {}) });
      ctx.log.warn({ entry: e.id, kind: e.kind, err }, `journal entry ${e.seq} (${e.kind}) not finished: ${(err as Error).message}`);
      if (err instanceof UnsafePathError && e.kind === 'proposal' && !e.applied) abandon(ctx, e, err.message);
    }
  }
  await commitReady(ctx);
  return ctx.pending.length;
}

/** `owner_file_hashes.json` as committed, overlaid with every pending entry in order. */
export function recomputeEffective(ctx: Ctx): void {
  ctx.effective = new Map(ctx.published);
  for (const e of ctx.pending) for (const [p, h] of Object.entries(e.hashes)) ctx.effective.set(p, h);
}

/**
 * Give up a proposal entry that can no longer be applied safely (a symlink appeared on its path since it was
 * vetted). Nothing of it was written or sent; the proposal stays in the inbox and is judged again next time.
 */
function abandon(ctx: Ctx, e: JournalEntry, reason: string): void {
  ctx.log.error({ entry: e.id, file: e.proposal?.name, peer: e.proposal?.peer }, `abandoning proposal ${e.proposal?.name}: ${reason}`);
  ctx.journal.remove(e);
  ctx.pending.splice(ctx.pending.indexOf(e), 1);
  recomputeEffective(ctx);
  if (e.proposal) ctx.state.peers[e.proposal.peer] = { ...ctx.state.peers[e.proposal.peer], dirty: true };
}

/** Commit complete entries from the front, in order. */
export async function commitReady(ctx: Ctx): Promise<void> {
  while (ctx.pending.length > 0 && isComplete(ctx.pending[0]!)) {
    await commit(ctx, ctx.pending[0]!);
    ctx.pending.shift();
  }
}
