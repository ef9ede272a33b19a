/**
 * Which peers the data owner syncs with over Drive, and when to look at peers again (protocol reference §2.4, §2.7).
 *
 * - {@link judgePeers} (pure): the approved peers (`accepted` in our `SYFT_peers.json`, as Python's
 *   `approved_peers`) with their version verdict (§2.7 table); only those with `proceed` are synced.
 * - {@link loadPeerCompat}: the Drive shell: our peers file, then each approved peer's `SYFT_version.json`.
 * - {@link feedWants} (pure): whether what Drive's change feed reported warrants a peer pass (a request folder
 *   about our datasite, a peers or version file) or a new compatibility check.
 */
import type { DriveApi } from '../../lib/google/drive';
import { parseP2pFolderName } from '../../lib/google/drive';
import { peerVersionVerdict, type CompatibilityStatus, type VersionPolicy } from '../../lib/peers/compat';
import { peerStateOf, PEERS_FILE_NAME, type PeersData } from '../../lib/peers/peers-file';
import { readPeersFile, readPeerVersion } from '../../lib/peers/remote';
import { VERSION_FILE_NAME } from '../../lib/peers/version';

export interface PeerCompat {
  /** As written in SYFT_peers.json. */
  email: string;
  /** The peer's `syft_client_version`; null when its version file could not be read. */
  version: string | null;
  status: CompatibilityStatus;
  proceed: boolean;
  reason: string;
}

/** The e-mails whose state is `accepted` (file order; ourselves excluded). */
export function acceptedPeers(data: PeersData, me: string): string[] {
  return Object.keys(data).filter((k) => k.toLowerCase() !== me.toLowerCase() && peerStateOf(data, k) === 'accepted');
}

/** Every accepted peer with its §2.7 verdict. `versions`: e-mail → version (null/undefined: unknown). */
export function judgePeers(data: PeersData, me: string, versions: ReadonlyMap<string, string | null | undefined>, policy: VersionPolicy): PeerCompat[] {
  return acceptedPeers(data, me).map((email) => {
    const version = versions.get(email) ?? null;
    const v = peerVersionVerdict(version, { hasDoRole: true, ...policy });
    return { email, version, status: v.status, proceed: v.proceed, reason: v.reason };
  });
}

export interface PeerCompatLoad {
  peers: PeerCompat[];
  /** Peers whose version file could not be read because of a Drive error (they are judged `unknown` for now). */
  failed: Array<{ email: string; error: string }>;
}

/**
 * Read our `SYFT_peers.json` (force download) and the version file of every accepted peer, then judge them.
 * A Drive error reading one peer's version is reported in `failed` (the caller retries soon); an error reading the
 * peers file throws. No SyftBox folder on Drive (`rootId` undefined) means no peers.
 */
export async function loadPeerCompat(drive: DriveApi, rootId: string | undefined, me: string, policy: VersionPolicy): Promise<PeerCompatLoad> {
  if (rootId === undefined) return { peers: [], failed: [] };
  const { data } = await readPeersFile(drive, rootId);
  const versions = new Map<string, string | null>();
  const failed: PeerCompatLoad['failed'] = [];
  for (const email of acceptedPeers(data, me)) {
    try {
      const r = await readPeerVersion(drive, email);
      versions.set(email, r.ok ? r.info.syft_client_version : null);
    } catch (e) {
      failed.push({ email, error: (e as Error).message });
      versions.set(email, null);
    }
  }
  return { peers: judgePeers(data, me, versions, policy), failed };
}

export interface FeedWants {
  /** Why a peer pass is wanted (undefined: not wanted). */
  peerPass?: string;
  /** Why the compatible peers should be computed again (undefined: not wanted). */
  compat?: string;
}

/**
 * What the change feed of one sync cycle asks for. `feed` undefined (the feed could not be read): nothing.
 * A reset (new page token) tells nothing about what changed: both.
 */
export function feedWants(feed: { reset: boolean; names: readonly string[] } | undefined, me: string): FeedWants {
  if (!feed) return {};
  if (feed.reset) return { peerPass: 'change feed reset', compat: 'change feed reset' };
  const out: FeedWants = {};
  const lowerMe = me.toLowerCase();
  for (const name of feed.names) {
    if (name === PEERS_FILE_NAME || name === VERSION_FILE_NAME) {
      out.peerPass ??= `${name} changed`;
      out.compat ??= `${name} changed`;
      continue;
    }
    const p = parseP2pFolderName(name);
    // A folder about our datasite is somebody's request (new, re-created or re-shared); ours are about theirs.
    if (p && p.datasite.toLowerCase() === lowerMe && p.peer.toLowerCase() !== lowerMe) out.peerPass ??= `peer folder ${name}`;
  }
  return out;
}
