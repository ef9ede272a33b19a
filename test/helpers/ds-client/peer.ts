/**
 * A data-scientist client for tests, doing over Drive exactly what the Python `add_peer` (protocol reference §2.3)
 * and `load_peers` (§2.4) do, including their blind spots (`loadPeersAsDs` trusts folder names, as Python does).
 */
import type { DriveApi, DriveFile, P2pFolderType } from '../../../lib/google/drive';
import { p2pFolderName, parseP2pFolderName } from '../../../lib/google/drive';
import { encodePeersFile, parsePeersFile, peerStateOf, PEERS_FILE_NAME, withPeerState, type PeerState, type PeersData } from '../../../lib/peers/peers-file';
import { currentVersionInfo, encodeVersionInfo, SYFT_CLIENT_VERSION, VERSION_FILE_NAME, type VersionInfo } from '../../../lib/peers/version';
import { systemClock } from '../../../lib/datasite/time';
import { folderVersionCompatible } from '../../../lib/peers/compat';

export interface RequestPeerOptions {
  /** Version embedded in the folder names (default ours). */
  version?: string;
  /** Content of SYFT_version.json when it has to be created (default `VersionInfo.current()`). */
  versionInfo?: Partial<VersionInfo>;
  /** Skip step 5 (no SYFT_version.json shared), e.g. to test an unknown version. */
  skipVersionFile?: boolean;
  /** Create only these folder types (default both), e.g. to test an incomplete request. */
  types?: P2pFolderType[];
}

/** `/SyftBox` of the caller, created when missing. */
export async function ownRoot(drive: DriveApi): Promise<string> {
  return (await drive.findSyftBoxRoot())?.id ?? (await drive.createFolder('SyftBox')).id;
}

async function readJson(drive: DriveApi, rootId: string, name: string): Promise<{ id?: string; data: PeersData }> {
  const id = await drive.findFileIdByName(name, rootId);
  if (!id) return { data: {} };
  const p = parsePeersFile(await drive.download(id));
  if (!p.ok) throw new Error(p.error);
  return { id, data: p.data };
}

/** Python's `_update_peer_state` (no precondition; here from a fresh read instead of a cache). */
export async function writePeerState(drive: DriveApi, rootId: string, email: string, state: PeerState): Promise<PeersData> {
  const cur = await readJson(drive, rootId, PEERS_FILE_NAME);
  const next = withPeerState(cur.data, email, state);
  const text = encodePeersFile(next);
  if (cur.id) await drive.replaceContent(cur.id, text, 'text/plain');
  else await drive.uploadFile({ name: PEERS_FILE_NAME, parentId: rootId, content: text, mimeType: 'text/plain' });
  return next;
}

/** `SyftboxManager.add_peer(doEmail)` as a data scientist (§2.3). */
export async function requestPeer(drive: DriveApi, me: string, doEmail: string, o: RequestPeerOptions = {}): Promise<{ rootId: string; folders: DriveFile[] }> {
  const rootId = await ownRoot(drive);
  const folders: DriveFile[] = [];
  // 2. inbox then outbox: look up, create if missing, share writer.
  for (const type of o.types ?? (['inbox', 'outbox'] as const)) {
    const version = o.version ?? SYFT_CLIENT_VERSION;
    const name = p2pFolderName({ version, datasite: doEmail, type, peer: me });
    // §3.8 #5: by name fragments and owner, exact-name re-filter, then "patch compatible" with our version
    const existing = (await drive.findP2pFolders({ datasite: doEmail, type, peer: me, owner: me })).find((f) => folderVersionCompatible(f.version, version))?.file;
    const f = existing ?? (await drive.createFolder(name, rootId));
    await drive.ensureShared(f.id, doEmail, 'writer');
    folders.push(f);
  }
  // 4. requested_by_me, or accepted if the DO had already asked us.
  const peers = await readJson(drive, rootId, PEERS_FILE_NAME);
  const doOwned = await drive.findFiles({ nameContains: ['syft_datasite#', `#${me}#`], owner: doEmail, folder: true, fields: ['id', 'name'] });
  const doAsked = doOwned.some((f) => parseP2pFolderName(f.name)?.datasite === me);
  const cur = peerStateOf(peers.data, doEmail);
  if (cur !== 'accepted') await writePeerState(drive, rootId, doEmail, doAsked ? 'accepted' : 'requested_by_me');
  // 5. share SYFT_version.json (created now when missing) as reader.
  if (!o.skipVersionFile) {
    let id = await drive.findFileIdByName(VERSION_FILE_NAME, rootId);
    if (!id) {
      const v = { ...currentVersionInfo(systemClock), ...(o.versionInfo ?? {}) };
      id = (await drive.uploadFile({ name: VERSION_FILE_NAME, parentId: rootId, content: encodeVersionInfo(v), mimeType: 'text/plain' })).id;
    }
    await drive.ensureShared(id, doEmail, 'reader');
  }
  return { rootId, folders };
}

/**
 * `PeerManager.load_peers(force_download=True)` as a data scientist (§2.4): JSON peers (accepted,
 * requested_by_me) plus peers whose p2p folders about our datasite exist (first page only in Python; all here);
 * a `requested_by_me` peer that created such folders becomes `accepted`, written back to `SYFT_peers.json`.
 */
export async function loadPeersAsDs(drive: DriveApi, me: string): Promise<Map<string, PeerState>> {
  const rootId = await ownRoot(drive);
  const json = await readJson(drive, rootId, PEERS_FILE_NAME);
  const peers = new Map<string, PeerState>();
  for (const [email, v] of Object.entries(json.data)) {
    const s = peerStateOf(json.data, email);
    if (v && (s === 'accepted' || s === 'requested_by_me')) peers.set(email, s);
  }
  const requesting = new Set<string>();
  for (const f of await drive.listPeerRequests(me)) requesting.add(f.peer);
  for (const email of requesting) {
    const s = peerStateOf(json.data, email);
    if (s === 'accepted' || s === 'rejected') continue;
    if (s === 'requested_by_me') {
      peers.set(email, 'accepted');
      await writePeerState(drive, rootId, email, 'accepted');
    } else {
      peers.set(email, 'requested_by_peer');
    }
  }
  return peers;
}
