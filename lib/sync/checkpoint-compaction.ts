/**
 * Full checkpoint compaction (protocol §3.4): once `compactingThreshold` (4, Python's
 * `DEFAULT_COMPACTING_THRESHOLD`) incremental checkpoints are on Drive, they are merged with the previous full
 * checkpoint into a new `checkpoint_<ts>.tar.gz` (`{version, timestamp, email, last_event_timestamp,
 * files:[{path, hash, content}]}`), uploaded FIRST; then the old full checkpoints are deleted, then the incrementals.
 *
 * A full checkpoint holds text only (`CheckpointFile.content: str`). Binary files (not valid UTF-8) cannot be put
 * in it without corrupting them, so their latest events are carried over in one new incremental checkpoint (the
 * next sequence number, uploaded right after the full one), which every restorer applies after the full one.
 *
 * Crash safety — every intermediate state restores correctly with Python's order (a full checkpoint →
 * incrementals by sequence → rolling state → events):
 * - before the upload: nothing changed;
 * - new full uploaded, nothing deleted: restoring from either full checkpoint and then *all* incrementals in order
 *   gives the same files (replaying incrementals already merged ends in the same state);
 * - old full checkpoints deleted, incrementals not all: the new full plus a replay of the rest, same state;
 * and the engine records `checkpointCompaction: 'started'` before the upload, so the next cycle finishes (redoes)
 * the compaction from what it finds — the newest full checkpoint plus every incremental — whatever the count.
 */
import type { DriveFile } from '../google/drive';
import { GoogleApiError } from '../google/retry';
import type { FileChangeEvent } from './codec/events';
import { checkpointFileName, incrementalCheckpointFileName, parseCheckpointFileName, parseIncrementalCheckpointFileName } from './codec/names';
import {
  packCheckpoint,
  packIncrementalCheckpoint,
  STATE_FILE_VERSION,
  unpackCheckpoint,
  unpackIncrementalCheckpoint,
  type Checkpoint,
  type CheckpointFile,
  type IncrementalCheckpoint,
} from './codec/state-files';
import type { Ctx } from './context';
import { OWN_STATE_MAX_BYTES, ts } from './context';

export interface MergedCheckpoint {
  checkpoint: Checkpoint;
  /** Latest events of binary files (not representable in a full checkpoint): for a carry-over incremental. */
  binary: FileChangeEvent[];
}

/**
 * Pure: the previous full checkpoint (if any) with the incrementals applied in sequence order, later events
 * replacing earlier ones per path, deletions removing the file.
 */
export function mergeCheckpoints(
  base: Checkpoint | undefined,
  incrementals: readonly IncrementalCheckpoint[],
  a: { email: string; timestamp: number },
): MergedCheckpoint {
  type Entry = { file: CheckpointFile } | { event: FileChangeEvent };
  const state = new Map<string, Entry>();
  let last = base?.last_event_timestamp ?? null;
  for (const f of base?.files ?? []) state.set(f.path, { file: { path: f.path, hash: f.hash, content: f.content } });
  const ordered = [...incrementals].sort((x, y) => x.sequence_number - y.sequence_number || x.timestamp - y.timestamp);
  for (const cp of ordered) {
    for (const e of cp.events) {
      if (last === null || e.timestamp > last) last = e.timestamp;
      const p = e.path_in_datasite;
      state.delete(p); // keep the order of the latest change
      if (e.is_deleted) continue;
      if (typeof e.content === 'string') state.set(p, { file: { path: p, hash: e.new_hash ?? '', content: e.content } });
      else if (e.content !== null) state.set(p, { event: e });
    }
  }
  const files: CheckpointFile[] = [];
  const binary: FileChangeEvent[] = [];
  for (const v of state.values()) {
    if ('file' in v) files.push(v.file);
    else binary.push(v.event);
  }
  return { checkpoint: { version: STATE_FILE_VERSION, timestamp: a.timestamp, email: a.email, last_event_timestamp: last, files }, binary };
}

const isNotFound = (e: unknown) => e instanceof GoogleApiError && e.status === 404;

async function deleteQuietly(ctx: Ctx, f: DriveFile): Promise<void> {
  try {
    await ctx.drive.deleteFile(f.id);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

/**
 * Compact when an incremental checkpoint brought their number to the threshold (or a compaction was interrupted).
 * Returns the new full checkpoint's name, or undefined when nothing was done.
 */
export async function maybeCompactCheckpoints(ctx: Ctx): Promise<string | undefined> {
  const mode = ctx.state.checkpointCompaction;
  if (mode === undefined) return undefined;
  // The incremental that triggered this must be on Drive (and committed) first.
  if (ctx.pending.some((e) => e.kind === 'checkpoint')) return undefined;
  const done = () => {
    delete ctx.state.checkpointCompaction;
    ctx.store.saveEngine(ctx.state);
  };
  const folder = await ctx.folders.checkpoints(false);
  if (!folder) return done(), undefined;
  const fulls = (await ctx.drive.listStateFiles(folder, 'checkpoint'))
    .map((f) => ({ f, n: parseCheckpointFileName(f.name) }))
    .filter((x): x is { f: DriveFile; n: { timestamp: number } } => x.n !== undefined)
    .sort((x, y) => x.n.timestamp - y.n.timestamp);
  const incs = (await ctx.drive.listStateFiles(folder, 'incremental_checkpoint'))
    .map((f) => ({ f, n: parseIncrementalCheckpointFileName(f.name) }))
    .filter((x): x is { f: DriveFile; n: { sequenceNumber: number; timestamp: number } } => x.n !== undefined)
    .sort((x, y) => x.n.sequenceNumber - y.n.sequenceNumber || x.n.timestamp - y.n.timestamp);
  if (mode === 'due' && incs.length < ctx.opts.compactingThreshold) return done(), undefined;
  if (incs.length === 0 && fulls.length <= 1) return done(), undefined;

  let base: Checkpoint | undefined;
  const loaded: IncrementalCheckpoint[] = [];
  const newest = fulls[fulls.length - 1];
  try {
    if (newest) base = unpackCheckpoint(await ctx.drive.download(newest.f.id), { maxBytes: OWN_STATE_MAX_BYTES });
    for (const i of incs) loaded.push(unpackIncrementalCheckpoint(await ctx.drive.download(i.f.id), { maxBytes: OWN_STATE_MAX_BYTES }));
  } catch (e) {
    if (e instanceof GoogleApiError) throw e; // transient: try again next cycle
    // A checkpoint we cannot read: merging around it would lose its files. Leave everything as it is.
    ctx.log.error({ err: e }, `checkpoint compaction skipped: a checkpoint on Drive is unreadable (${(e as Error).message}); nothing deleted`);
    return done(), undefined;
  }

  const merged = mergeCheckpoints(base, loaded, { email: ctx.me, timestamp: ts(ctx) });
  const name = checkpointFileName(merged.checkpoint.timestamp);
  ctx.state.checkpointCompaction = 'started';
  ctx.store.saveEngine(ctx.state);
  await ctx.drive.uploadFile({ name, parentId: folder, content: packCheckpoint(merged.checkpoint, { mtime: ctx.now() / 1000 }), mimeType: 'application/octet-stream' });
  await ctx.hooks.afterUpload?.(name);
  if (merged.binary.length > 0) {
    const seq = (incs[incs.length - 1]?.n.sequenceNumber ?? 0) + 1;
    const t = ts(ctx);
    const carry: IncrementalCheckpoint = { version: STATE_FILE_VERSION, timestamp: t, email: ctx.me, sequence_number: seq, events: merged.binary };
    const carryName = incrementalCheckpointFileName(seq, t);
    await ctx.drive.uploadFile({ name: carryName, parentId: folder, content: packIncrementalCheckpoint(carry, { mtime: ctx.now() / 1000 }), mimeType: 'application/octet-stream' });
    await ctx.hooks.afterUpload?.(carryName);
  }
  // Old full checkpoints first: until the incrementals are gone too, any full checkpoint left plus them is whole.
  for (const x of fulls) await deleteQuietly(ctx, x.f);
  for (const x of incs) await deleteQuietly(ctx, x.f);
  done();
  ctx.log.info(
    { file: name, files: merged.checkpoint.files.length, binary: merged.binary.length, incrementals: incs.length, previous: fulls.length },
    `full checkpoint ${name}: ${incs.length} incremental checkpoint(s) merged${base ? ' into the previous full one' : ''}`,
  );
  return name;
}
