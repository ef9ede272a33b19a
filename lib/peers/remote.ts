/**
 * The Drive side of the per-user files in `/SyftBox`: `SYFT_peers.json` (re-read, merge one entry, write, verify)
 * and `SYFT_version.json` (ours: created or refreshed; a peer's: read, size-capped, hostile-tolerant). Thin shells
 * over `DriveApi`; the codecs are in peers-file.ts and version.ts.
 */
import type { DriveApi, DriveFile } from '../google/drive';
import { classifyPeerRequests, type ClassifiedRequests } from './requests';
import { GoogleApiError } from '../google/retry';
import type { Clock } from '../datasite/time';
import { encodePeersFile, parsePeersFile, PEERS_FILE_MIME, PEERS_FILE_NAME, peerStateOf, withPeerState, type PeersData, type PeerState } from './peers-file';
import { currentVersionInfo, decodeVersionInfo, encodeVersionInfo, MAX_VERSION_FILE_BYTES, SYFT_CLIENT_VERSION, VERSION_FILE_NAME, type VersionInfo } from './version';

/** A failure after which the request may or may not have been applied (a create must be looked for, not repeated). */
export function isAmbiguousFailure(e: unknown): boolean {
  return e instanceof GoogleApiError && (e.status === undefined || e.status >= 500);
}

/**
 * Find-or-create without duplicates: look, create when absent, and after an ambiguous failure of the create
 * (5xx, reset, timeout: the Drive file may exist) look again before trying again.
 */
export async function createOnce<T>(find: () => Promise<T | undefined>, create: () => Promise<T>, attempts = 3): Promise<{ value: T; created: boolean }> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    const found = await find();
    if (found !== undefined) return { value: found, created: false };
    try {
      return { value: await create(), created: true };
    } catch (e) {
      if (!isAmbiguousFailure(e)) throw e;
      last = e;
    }
  }
  const found = await find();
  if (found !== undefined) return { value: found, created: false };
  throw last;
}

/** §2.4 `get_peer_requests`, all pages, verified: genuine requests and refused folders (see requests.ts). */
export async function loadPeerRequests(drive: DriveApi, me: string): Promise<ClassifiedRequests> {
  return classifyPeerRequests(await drive.listPeerRequests(me), me);
}

export class PeersFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PeersFileError';
  }
}

export interface RemotePeers {
  fileId: string | undefined;
  data: PeersData;
  /** Drive's modifiedTime when it was read (undefined when the file does not exist). */
  modifiedTime?: string;
}

/** The file's id and modifiedTime (oldest when there are several, as `findFileIdByName`). */
export async function statPeersFile(drive: DriveApi, rootId: string): Promise<DriveFile | undefined> {
  const files = await drive.findFiles({ name: PEERS_FILE_NAME, parentId: rootId, owner: 'me', fields: ['id', 'name', 'modifiedTime', 'createdTime', 'size'] });
  return files.filter((f) => f.name === PEERS_FILE_NAME).sort((a, b) => (a.createdTime ?? '').localeCompare(b.createdTime ?? '') || a.id.localeCompare(b.id))[0];
}

/** Download and parse our `SYFT_peers.json` (force_download). A corrupt file throws (it is never overwritten). */
export async function readPeersFile(drive: DriveApi, rootId: string, stat?: DriveFile | null): Promise<RemotePeers> {
  const f = stat === undefined ? await statPeersFile(drive, rootId) : (stat ?? undefined);
  if (!f) return { fileId: undefined, data: {} };
  const parsed = parsePeersFile(await drive.download(f.id));
  if (!parsed.ok) throw new PeersFileError(`${parsed.error} (Drive file ${f.id}); not overwritten — fix or delete it`);
  return { fileId: f.id, data: parsed.data, ...(f.modifiedTime ? { modifiedTime: f.modifiedTime } : {}) };
}

export interface PeerStateWrite {
  fileId: string;
  /** The merged content we wrote last. */
  data: PeersData;
  /** Writes made (0 when the file already said so). */
  writes: number;
}

/**
 * Set one peer's state in our `SYFT_peers.json` without losing anybody else's update (Python clients rewrite the
 * whole file from a cache, §7 #19): re-read right before writing, change only that entry (unknown keys kept),
 * write, then read back; if another writer replaced the file in between and our entry is gone, merge again.
 */
export async function setPeerStateRemote(drive: DriveApi, rootId: string, email: string, state: PeerState, opts: { rounds?: number } = {}): Promise<PeerStateWrite> {
  const rounds = opts.rounds ?? 3;
  let writes = 0;
  for (let i = 0; i < rounds; i++) {
    const cur = await readPeersFile(drive, rootId);
    if (cur.fileId !== undefined && peerStateOf(cur.data, email) === state) return { fileId: cur.fileId, data: cur.data, writes };
    const next = withPeerState(cur.data, email, state);
    const text = encodePeersFile(next);
    let fileId = cur.fileId;
    if (fileId === undefined) {
      const r = await createOnce(
        async () => (await statPeersFile(drive, rootId))?.id,
        async () => (await drive.uploadFile({ name: PEERS_FILE_NAME, parentId: rootId, content: text, mimeType: PEERS_FILE_MIME })).id,
      );
      fileId = r.value;
      // Found rather than created (a concurrent creator, or our ambiguous create): merge into what is there.
      if (!r.created) continue;
    } else {
      await drive.replaceContent(fileId, text, PEERS_FILE_MIME);
    }
    writes++;
    const check = parsePeersFile(await drive.download(fileId));
    if (check.ok && peerStateOf(check.data, email) === state) return { fileId, data: check.data, writes };
  }
  throw new PeersFileError(`${PEERS_FILE_NAME}: could not record ${email} as ${state} after ${rounds} attempts (another writer keeps replacing the file)`);
}

export interface OwnVersionFile {
  fileId: string;
  action: 'kept' | 'created' | 'refreshed';
  /** What the remote file said before (when it existed and was readable). */
  previous?: string;
}

/**
 * Our remote `SYFT_version.json`: created when missing (`share_version_file_with_peer`), and — the fix for §7 #2 —
 * rewritten when its `syft_client_version` is not ours (stale after an upgrade, or unreadable).
 */
export async function ensureOwnVersionFile(drive: DriveApi, rootId: string, clock: Clock): Promise<OwnVersionFile> {
  const text = () => encodeVersionInfo(currentVersionInfo(clock));
  const r = await createOnce(
    () => drive.findFileIdByName(VERSION_FILE_NAME, rootId),
    async () => (await drive.uploadFile({ name: VERSION_FILE_NAME, parentId: rootId, content: text(), mimeType: 'text/plain' })).id,
  );
  if (r.created) return { fileId: r.value, action: 'created' };
  const cur = decodeVersionInfo(await drive.download(r.value));
  if (cur.ok && cur.value.syft_client_version === SYFT_CLIENT_VERSION) return { fileId: r.value, action: 'kept', previous: cur.value.syft_client_version };
  await drive.replaceContent(r.value, text(), 'text/plain');
  return { fileId: r.value, action: 'refreshed', ...(cur.ok ? { previous: cur.value.syft_client_version } : {}) };
}

/** Like {@link ensureOwnVersionFile} but never creates the file (undefined when there is none). */
export async function refreshOwnVersionIfStale(drive: DriveApi, rootId: string, clock: Clock): Promise<OwnVersionFile | undefined> {
  const id = await drive.findFileIdByName(VERSION_FILE_NAME, rootId);
  if (id === undefined) return undefined;
  const cur = decodeVersionInfo(await drive.download(id));
  if (cur.ok && cur.value.syft_client_version === SYFT_CLIENT_VERSION) return { fileId: id, action: 'kept', previous: cur.value.syft_client_version };
  await drive.replaceContent(id, encodeVersionInfo(currentVersionInfo(clock)), 'text/plain');
  return { fileId: id, action: 'refreshed', ...(cur.ok ? { previous: cur.value.syft_client_version } : {}) };
}

export type PeerVersionRead = { ok: true; info: VersionInfo; fileId: string } | { ok: false; error: string };

/**
 * A peer's `SYFT_version.json` file (§3.8 #8): the file named so, owned by the peer and shared with us (the
 * oldest when there are several), with its id, size and modifiedTime; or why there is none. One `files.list`.
 */
export async function findPeerVersionFile(drive: DriveApi, peer: string): Promise<{ ok: true; file: DriveFile } | { ok: false; error: string }> {
  const files = (await drive.findFiles({ name: VERSION_FILE_NAME, owner: peer, fields: ['id', 'name', 'size', 'createdTime', 'modifiedTime', 'owners(emailAddress)'] })).filter(
    (f) => f.name === VERSION_FILE_NAME && (f.owners ?? []).some((o) => o.toLowerCase() === peer.toLowerCase()),
  );
  if (files.length === 0) return { ok: false, error: `no ${VERSION_FILE_NAME} of ${peer} is shared with us` };
  return { ok: true, file: files.sort((a, b) => (a.createdTime ?? '').localeCompare(b.createdTime ?? '') || a.id.localeCompare(b.id))[0]! };
}

/** Read a peer's version file found by {@link findPeerVersionFile}: at most {@link MAX_VERSION_FILE_BYTES}, hostile-tolerant. */
export async function readPeerVersionFile(drive: DriveApi, peer: string, f: DriveFile): Promise<PeerVersionRead> {
  if (f.size !== undefined && f.size > MAX_VERSION_FILE_BYTES) return { ok: false, error: `${VERSION_FILE_NAME} of ${peer} is ${f.size} bytes (limit ${MAX_VERSION_FILE_BYTES})` };
  if (f.size === 0) return { ok: false, error: `${VERSION_FILE_NAME} of ${peer} is empty` };
  let bytes: Buffer;
  try {
    bytes = (await drive.downloadRange(f.id, 0, MAX_VERSION_FILE_BYTES - 1)).data;
  } catch (e) {
    if (e instanceof GoogleApiError && (e.status === 404 || e.status === 403 || e.status === 416)) return { ok: false, error: `${VERSION_FILE_NAME} of ${peer}: ${e.message}` };
    throw e;
  }
  const d = decodeVersionInfo(bytes, `${VERSION_FILE_NAME} of ${peer}`);
  return d.ok ? { ok: true, info: d.value, fileId: f.id } : { ok: false, error: d.error };
}

/**
 * A peer's `SYFT_version.json` (§3.8 #8): the file named so, owned by the peer and shared with us. At most
 * {@link MAX_VERSION_FILE_BYTES} are read; anything unreadable is an error (i.e. status `unknown`).
 */
export async function readPeerVersion(drive: DriveApi, peer: string): Promise<PeerVersionRead> {
  const found = await findPeerVersionFile(drive, peer);
  if (!found.ok) return found;
  return readPeerVersionFile(drive, peer, found.file);
}
