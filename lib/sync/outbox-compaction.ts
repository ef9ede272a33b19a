/**
 * Outbox compaction (protocol §3.6 step 3): a peer outbox holding `outboxCompactThreshold` (20, Python's
 * `MIN_MESSAGES_COMPACT`) of our valid `syfteventsmessagev3_*` messages is downloaded and merged into one new
 * message, written FIRST, then the originals are deleted.
 *
 * The name of the merged message carries the timestamp of the *newest* message it replaces (with a new UUID):
 * - a DS whose high-water mark is that newest message (it synced them all) stops at the merged message when it
 *   lists the outbox by name, newest first (§3.6 step 4: it stops at the first timestamp ≤ its mark): it downloads
 *   nothing again;
 * - a DS that synced only some (mark < newest) downloads the merged message; it holds, for every path, the latest
 *   event of the merged messages (earlier events of the same path are dropped), so what it applies again is what it
 *   already has, and it ends with exactly the files the originals would have given it;
 * - a DS that synced none gets everything from one message;
 * - our later messages always carry later timestamps (the engine clock only goes forward), so they are applied
 *   after the merged one, as their originals would have been.
 * (Python names the merged message with the current time, which makes every DS download it again.)
 *
 * Crash safety: a crash after the upload and before (or during) the deletes leaves the merged message next to
 * (some of) the originals. A DS then applies both; by timestamp order the outcome is the same. The next compaction
 * merges them all again (the timestamp stays the newest one's), so the leftovers disappear then.
 *
 * Only files we own are considered (the outbox folder belongs to the DS, who could put anything in it), and only
 * messages that decode and whose `message_filepath` matches their name; anything else is left alone.
 */
import type { DriveFile } from '../google/drive';
import { GoogleApiError } from '../google/retry';
import { checkEventsMessageName, eventsMessageFileName, makeEventsMessage, packEvents, unpackEvents, type FileChangeEvent, type FileChangeEventsMessage } from './codec/events';
import { parseEventsFileName } from './codec/names';
import type { Ctx } from './context';

const EVENTS_PREFIX = 'syfteventsmessagev3_';

/**
 * Pure: the events of the merged message (latest per path, in the order of their last change) and its timestamp
 * (the newest message's). Messages are taken in timestamp order (then name).
 */
export function mergeOutboxMessages(messages: ReadonlyArray<{ name: string; message: FileChangeEventsMessage }>): { events: FileChangeEvent[]; timestamp: number } {
  if (messages.length === 0) throw new RangeError('nothing to merge');
  const ordered = [...messages].sort(
    (a, b) => a.message.message_filepath.timestamp - b.message.message_filepath.timestamp || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const latest = new Map<string, FileChangeEvent>();
  for (const m of ordered) {
    for (const e of m.message.events) {
      latest.delete(e.path_in_datasite);
      latest.set(e.path_in_datasite, e);
    }
  }
  return { events: [...latest.values()], timestamp: ordered[ordered.length - 1]!.message.message_filepath.timestamp };
}

const isNotFound = (e: unknown) => e instanceof GoogleApiError && e.status === 404;

/** Compact one peer's outbox if it holds enough of our messages. Returns the number of messages merged. */
export async function compactOutbox(ctx: Ctx, peer: string): Promise<number> {
  const counts = (ctx.state.outboxCounts ??= {});
  const folder = await ctx.folders.peerFolder('outbox', peer);
  if (folder === undefined) {
    counts[peer] = 0;
    return 0;
  }
  const listed = await ctx.drive.findFiles({ parentId: folder, owner: 'me', nameContains: [EVENTS_PREFIX], fields: ['id', 'name', 'mimeType', 'size'] });
  const files = listed.filter((f) => f.mimeType !== 'application/vnd.google-apps.folder' && parseEventsFileName(f.name) !== undefined && (f.size ?? 0) <= ctx.opts.maxMessageBytes);
  if (files.length < ctx.opts.outboxCompactThreshold) {
    counts[peer] = files.length;
    return 0;
  }
  const good: Array<{ file: DriveFile; name: string; message: FileChangeEventsMessage }> = [];
  for (let i = 0; i < files.length; i += 8) {
    const batch = await Promise.all(
      files.slice(i, i + 8).map(async (f) => {
        let buf: Buffer;
        try {
          buf = await ctx.drive.download(f.id);
        } catch (e) {
          if (isNotFound(e)) return undefined;
          throw e;
        }
        try {
          const message = unpackEvents(buf, { maxBytes: ctx.opts.maxMessageBytes });
          checkEventsMessageName(message, f.name);
          return { file: f, name: f.name, message };
        } catch (e) {
          ctx.log.warn({ peer, file: f.name }, `outbox compaction: ${f.name} left alone (${(e as Error).message})`);
          return undefined;
        }
      }),
    );
    for (const b of batch) if (b) good.push(b);
  }
  if (good.length < 2) {
    counts[peer] = files.length;
    return 0;
  }
  const merged = mergeOutboxMessages(good);
  const message = makeEventsMessage(merged.events, { timestamp: merged.timestamp });
  const name = eventsMessageFileName(message);
  await ctx.drive.uploadFile({ name, parentId: folder, content: packEvents(message, { mtime: ctx.now() / 1000 }), mimeType: 'application/octet-stream' });
  await ctx.hooks.afterUpload?.(name);
  // The merged messages go in batches of 100 (as the reference, §3.6), gone or foreign ones ignored.
  const del = await ctx.drive.deleteFiles(good.map((g) => g.file.id));
  if (del.failed.length > 0) throw del.failed[0]!.error;
  counts[peer] = files.length - good.length + 1;
  ctx.store.saveEngine(ctx.state);
  ctx.result.outboxCompactions.push({ peer, merged: good.length, name });
  ctx.log.info({ peer, merged: good.length, events: merged.events.length, file: name }, `outbox of ${peer}: ${good.length} messages merged into ${name}`);
  return good.length;
}

/** After the cycle's uploads: every compatible peer whose outbox count reached the threshold. */
export async function compactOutboxesIfNeeded(ctx: Ctx): Promise<void> {
  for (const peer of ctx.peers) {
    if ((ctx.state.outboxCounts?.[peer] ?? 0) < ctx.opts.outboxCompactThreshold) continue;
    // Never merge under an upload still in flight for this outbox (it would be looked up by name later).
    if (ctx.pending.some((e) => e.uploads.some((u) => u.target.kind === 'outbox' && u.target.peer === peer && !u.done && !u.dropped))) continue;
    try {
      await compactOutbox(ctx, peer);
    } catch (e) {
      ctx.result.errors.push({ stage: 'outbox compaction', peer, message: (e as Error).message });
      ctx.log.warn({ peer, err: e }, `outbox compaction for ${peer} failed (next cycle tries again): ${(e as Error).message}`);
    }
  }
}
