/**
 * The DO-private state on Drive (protocol §3.4) that lets the DO's own clients (the Python notebook, another
 * syft-bg) rebuild the datasite: the rolling state (`<me>-<v>-rolling-state/rolling_state_<ts>.tar.gz`, replaced
 * in place after every batch, with a local copy in `<root>/.cache/rolling_state.json`) and incremental checkpoints
 * (`<me>-<v>-checkpoints/incremental_checkpoint_<seq>_<ts>.tar.gz`, one when the rolling state reaches 50 events;
 * then the Drive rolling state is deleted and a new one begins). The personal event log is written by deliver.ts.
 */
import { GoogleApiError } from '../google/retry';
import { incrementalCheckpointFileName, parseIncrementalCheckpointFileName, parseRollingStateFileName, rollingStateFileName } from './codec/names';
import {
  emptyRollingState,
  packIncrementalCheckpoint,
  packRollingState,
  unpackRollingState,
  type RollingState,
} from './codec/state-files';
import type { FileChangeEvent } from './codec/events';
import type { Ctx } from './context';
import { OWN_STATE_MAX_BYTES, ts } from './context';
import { advance, eventKey } from './deliver';
import type { DriveApi, DriveFile } from '../google/drive';

function latestRollingFile(files: readonly DriveFile[]): DriveFile | undefined {
  let best: { f: DriveFile; t: number } | undefined;
  for (const f of files) {
    const n = parseRollingStateFileName(f.name);
    if (n && (!best || n.timestamp > best.t)) best = { f, t: n.timestamp };
  }
  return best?.f;
}

/**
 * The rolling state to continue: the local copy when there is one; else (first run on this disk) the one on Drive,
 * so that its events are not overwritten by an empty state; else a new empty one.
 */
export async function loadRollingState(ctx: Pick<Ctx, 'store' | 'state' | 'folders' | 'drive' | 'me' | 'log' | 'clock' | 'now'>): Promise<RollingState> {
  const local = ctx.store.readRolling();
  if (local && local.email === ctx.me) return local;
  if (!ctx.state.rollingSeeded) {
    const folder = await ctx.folders.rolling(false);
    if (folder) {
      const f = latestRollingFile(await ctx.drive.listStateFiles(folder, 'rolling_state'));
      if (f) {
        try {
          const rs = unpackRollingState(await ctx.drive.download(f.id), { maxBytes: OWN_STATE_MAX_BYTES });
          ctx.state.rollingFileId = f.id;
          ctx.state.rollingSeeded = true;
          ctx.store.writeRolling(rs);
          ctx.log.info({ file: f.name, events: rs.events.length }, `continuing the rolling state from Drive (${f.name})`);
          return rs;
        } catch (e) {
          ctx.log.warn({ file: f.name, err: e }, `rolling state ${f.name} on Drive is unreadable (${(e as Error).message}); starting a new one`);
        }
      }
    }
    ctx.state.rollingSeeded = true;
  }
  const rs = emptyRollingState(ctx.me, ts(ctx));
  ctx.store.writeRolling(rs);
  return rs;
}

async function replaceOrCreate(drive: DriveApi, ctx: Ctx, data: Buffer): Promise<string> {
  if (ctx.state.rollingFileId) {
    try {
      await drive.replaceContent(ctx.state.rollingFileId, data, 'application/octet-stream');
      return ctx.state.rollingFileId;
    } catch (e) {
      if (!(e instanceof GoogleApiError && e.status === 404)) throw e;
      delete ctx.state.rollingFileId;
    }
  }
  const folder = (await ctx.folders.rolling(true))!;
  const existing = latestRollingFile(await drive.listStateFiles(folder, 'rolling_state'));
  if (existing) {
    await drive.replaceContent(existing.id, data, 'application/octet-stream');
    return existing.id;
  }
  return (await drive.uploadFile({ name: rollingStateFileName(ctx.rolling.timestamp), parentId: folder, content: data, mimeType: 'application/octet-stream' })).id;
}

/** Upload the rolling state when it has events Drive lacks (one `files.update` in the steady state). */
export async function uploadRollingState(ctx: Ctx): Promise<boolean> {
  if (!ctx.state.rollingDirty || ctx.rolling.events.length === 0) return false;
  ctx.state.rollingFileId = await replaceOrCreate(ctx.drive, ctx, packRollingState(ctx.rolling, { mtime: ctx.now() / 1000 }));
  ctx.state.rollingDirty = false;
  ctx.store.saveEngine(ctx.state);
  return true;
}

/** Pure: one event per path, the latest (as `create_incremental_checkpoint`). */
export function latestPerPath(events: readonly FileChangeEvent[]): FileChangeEvent[] {
  const m = new Map<string, FileChangeEvent>();
  for (const e of events) m.set(e.path_in_datasite, e);
  return [...m.values()];
}

/** An incremental checkpoint when the rolling state holds at least `checkpointThreshold` events. */
export async function maybeCheckpoint(ctx: Ctx): Promise<string | undefined> {
  if (ctx.rolling.events.length < ctx.opts.checkpointThreshold) return undefined;
  if (ctx.pending.some((e) => e.kind === 'checkpoint')) return undefined;
  const folder = (await ctx.folders.checkpoints(true))!;
  let seq = 0;
  let existing = 0;
  for (const f of await ctx.drive.listStateFiles(folder, 'incremental_checkpoint')) {
    const n = parseIncrementalCheckpointFileName(f.name);
    if (!n) continue;
    existing++;
    if (n.sequenceNumber > seq) seq = n.sequenceNumber;
  }
  seq += 1;
  // With this one, enough incrementals to merge into a full checkpoint (after it is uploaded and committed).
  if (existing + 1 >= ctx.opts.compactingThreshold && ctx.state.checkpointCompaction === undefined) ctx.state.checkpointCompaction = 'due';
  const t = ts(ctx);
  const cp = { version: 1, timestamp: t, email: ctx.me, sequence_number: seq, events: latestPerPath(ctx.rolling.events) };
  const name = incrementalCheckpointFileName(seq, t);
  const entry = ctx.journal.create(
    {
      kind: 'checkpoint',
      createdAt: ctx.now(),
      uploads: [{ target: { kind: 'checkpoint' }, name, blob: 0 }],
      hashes: {},
      checkpoint: { sequence: seq, coveredEventIds: ctx.rolling.events.map(eventKey) },
    },
    [packIncrementalCheckpoint(cp, { mtime: ctx.now() / 1000 })],
  );
  ctx.pending.push(entry);
  ctx.log.info({ file: name, events: cp.events.length, from: ctx.rolling.events.length }, `incremental checkpoint #${seq} (${cp.events.length} events)`);
  await advance(ctx, entry);
  return name;
}
