/**
 * Incremental Drive polling with `changes.list` (instead of listing every peer's inbox on every cycle, as the
 * reference does, §3.5): an idle cycle costs one `changes.list` call whatever the number of peers.
 *
 * The caller keeps the page token in its persisted state and commits the new token only together with the work
 * it implies (the folders to list are persisted as "dirty" before the token moves on), so a crash never loses a
 * change. When there is no token yet, or Drive no longer accepts it, the result is a `reset`: the caller must list
 * every folder it cares about once (the new token was taken *before* that listing, so nothing falls in between).
 */
import type { DriveApi, DriveChange, DriveFile } from '../google/drive';
import { GoogleApiError } from '../google/retry';

export interface ChangeSummary {
  /** Folders that had a child created, changed, moved in or out (its parents after the change). */
  touchedParents: Set<string>;
  /** Ids of files that were removed or trashed, or are no longer visible to us. */
  gone: Set<string>;
  /** Folders that were created, renamed or changed (a peer may have re-created its inbox). */
  folders: DriveFile[];
  /** Names of the files and folders that were created or changed (not removed), for callers reacting to other files. */
  names: Set<string>;
  /** How many change entries were read. */
  count: number;
}

export type PollOutcome =
  | { kind: 'incremental'; token: string; summary: ChangeSummary }
  | { kind: 'reset'; token: string; reason: string };

const FOLDER_MIME = 'application/vnd.google-apps.folder';

/** Pure: what a batch of changes touched. */
export function summarizeChanges(changes: readonly DriveChange[]): ChangeSummary {
  const s: ChangeSummary = { touchedParents: new Set(), gone: new Set(), folders: [], names: new Set(), count: changes.length };
  for (const c of changes) {
    if (c.removed || !c.file || c.file.trashed === true) {
      s.gone.add(c.fileId);
      // A trashed file still tells us its folder.
      for (const p of c.file?.parents ?? []) s.touchedParents.add(p);
      continue;
    }
    for (const p of c.file.parents ?? []) s.touchedParents.add(p);
    if (c.file.name) s.names.add(c.file.name);
    if (c.file.mimeType === FOLDER_MIME) s.folders.push(c.file);
  }
  return s;
}

/** Drive refuses a page token it no longer knows with 400 (invalid value), 404 or 410. */
export function isLostToken(e: unknown): boolean {
  return e instanceof GoogleApiError && (e.status === 400 || e.status === 404 || e.status === 410);
}

/** One poll: 1 `changes.list` call per 1000 changes when a token is known; `getStartPageToken` otherwise. */
export async function pollChanges(drive: Pick<DriveApi, 'getStartPageToken' | 'listChanges'>, token: string | undefined): Promise<PollOutcome> {
  if (token === undefined || token === '') {
    return { kind: 'reset', token: await drive.getStartPageToken(), reason: 'no page token yet' };
  }
  try {
    const { changes, newStartPageToken } = await drive.listChanges(token, {
      pageSize: 1000,
      fileFields: ['id', 'name', 'mimeType', 'parents', 'trashed'],
    });
    return { kind: 'incremental', token: newStartPageToken, summary: summarizeChanges(changes) };
  } catch (e) {
    if (!isLostToken(e)) throw e;
    return { kind: 'reset', token: await drive.getStartPageToken(), reason: `page token refused: ${(e as Error).message}` };
  }
}
