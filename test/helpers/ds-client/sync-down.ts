/**
 * Test DS client, receiving side: `sync_down` for one DO (protocol §3.6 step 4). List the DS-owned outbox folder
 * `syft_datasite#<v>#<DO>#outbox#<DS>` by name, newest first, stop at the first message not newer than the
 * high-water mark, download, check each message (name = `message_filepath`, every event about the DO's datasite,
 * every path safe), apply the events in timestamp order to `<dsRoot>/<DO>/…` and return the new high-water mark.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DriveApi } from '../../../lib/google/drive';
import { writeFileAtomic } from '../../../lib/fs/atomic';
import { checkEventsMessageName, unpackEvents, type FileChangeEvent, type FileChangeEventsMessage } from '../../../lib/sync/codec/events';
import { parseEventsFileName } from '../../../lib/sync/codec/names';
import { checkDatasitePath } from '../../../lib/sync/codec/paths';
import { findDsOwnedFolder } from './proposal';

export interface SyncDownResult {
  /** the new high-water mark (the old one when nothing new arrived) */
  hwm: number | null;
  /** messages applied, oldest first */
  messages: Array<{ fileName: string; message: FileChangeEventsMessage }>;
  /** events applied, in order */
  applied: FileChangeEvent[];
}

/** Refuse to write through a symlink anywhere between the datasite folder and the file. */
function assertNoSymlink(base: string, parts: readonly string[]): void {
  let cur = base;
  for (const p of parts) {
    cur = path.join(cur, p);
    try {
      if (fs.lstatSync(cur).isSymbolicLink()) throw new Error(`${cur} is a symbolic link; refusing to write through it`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
  }
}

function applyEvent(datasite: string, doEmail: string, e: FileChangeEvent, where: string): void {
  if (e.datasite_email !== doEmail) throw new Error(`${where}: event ${e.id} is about ${e.datasite_email}, not ${doEmail}`);
  const check = checkDatasitePath(e.path_in_datasite);
  if (!check.ok) throw new Error(`${where}: event ${e.id}: ${check.reason}`);
  assertNoSymlink(datasite, check.parts);
  const file = path.join(datasite, ...check.parts);
  if (e.is_deleted) {
    fs.rmSync(file, { force: true });
    return;
  }
  if (e.content === null) throw new Error(`${where}: event ${e.id} has no content and is not a deletion`);
  writeFileAtomic(file, e.content);
}

export async function syncDownDetailed(drive: DriveApi, dsEmail: string, doEmail: string, dsRoot: string, hwm: number | null): Promise<SyncDownResult> {
  const folder = await findDsOwnedFolder(drive, dsEmail, doEmail, 'outbox');
  if (!folder) return { hwm, messages: [], applied: [] };
  const todo: Array<{ id: string; name: string; ts: number }> = [];
  for await (const f of drive.iterateFolder(folder.file.id, { orderBy: 'name desc', kind: 'files' })) {
    const parsed = parseEventsFileName(f.name);
    if (!parsed) continue;
    if (hwm !== null && parsed.timestamp <= hwm) break;
    todo.push({ id: f.id, name: f.name, ts: parsed.timestamp });
  }
  const downloaded = await Promise.all(
    todo.map(async (t) => {
      const message = unpackEvents(await drive.download(t.id));
      checkEventsMessageName(message, t.name);
      return { fileName: t.name, message };
    }),
  );
  downloaded.sort((a, b) => a.message.message_filepath.timestamp - b.message.message_filepath.timestamp);
  const datasite = path.join(dsRoot, doEmail);
  const applied: FileChangeEvent[] = [];
  let mark = hwm;
  for (const d of downloaded) {
    for (const e of d.message.events) {
      applyEvent(datasite, doEmail, e, d.fileName);
      applied.push(e);
    }
    const ts = d.message.message_filepath.timestamp;
    if (mark === null || ts > mark) mark = ts;
  }
  return { hwm: mark, messages: downloaded, applied };
}

/** `syncDownDetailed`, returning only the new high-water mark. */
export async function syncDown(drive: DriveApi, dsEmail: string, doEmail: string, dsRoot: string, hwm: number | null): Promise<number | null> {
  return (await syncDownDetailed(drive, dsEmail, doEmail, dsRoot, hwm)).hwm;
}
