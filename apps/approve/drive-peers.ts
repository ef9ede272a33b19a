/**
 * Which peers the data owner syncs with over Drive, and when to look at peers again (protocol reference §2.4, §2.7).
 *
 * - {@link judgePeers} (pure): the approved peers (`accepted` in our `SYFT_peers.json`, as Python's
 *   `approved_peers`) with their version verdict (§2.7 table); only those with `proceed` are synced.
 * - {@link loadPeerCompat}: the Drive shell: our peers file, then each approved peer's `SYFT_version.json`.
 * - {@link PeerCompatReader}: the same with memory, as a whole (change-driven) or one Drive call at a time (the
 *   budgeted periodic re-check, see lib/sync/safety.ts), downloading a file again only when Drive says it changed.
 * - {@link feedWants} (pure): whether what Drive's change feed reported warrants a peer pass (a request folder
 *   about our datasite, a peers or version file) or a new compatibility check.
 */
import type { DriveApi, DriveFile } from '../../lib/google/drive';
import { GoogleApiError } from '../../lib/google/retry';
import { parseP2pFolderName } from '../../lib/google/drive';
import { peerVersionVerdict, type CompatibilityStatus, type VersionPolicy } from '../../lib/peers/compat';
import { peerStateOf, PEERS_FILE_NAME, type PeersData } from '../../lib/peers/peers-file';
import { findPeerVersionFile, readPeersFile, readPeerVersion, readPeerVersionFile, statPeersFile } from '../../lib/peers/remote';
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

const sameFile = (a: DriveFile | undefined, b: DriveFile | undefined) =>
  a !== undefined && b !== undefined && a.id === b.id && a.modifiedTime !== undefined && a.modifiedTime === b.modifiedTime && a.size === b.size;

export interface CompatStep {
  /** The round is complete (the next step starts a new one). */
  finished: boolean;
  /** What this step found changed (undefined: nothing). The peers file changing asks for a full re-check. */
  changed?: string;
  /** A peer's version file could not be read (Drive error): retried by a full re-check. */
  failed?: { email: string; error: string };
}

/**
 * The compatible approved peers, remembered between reads. {@link full} reads everything now (start, approvals,
 * a peers or version file in the change feed). {@link step} is one step of the periodic re-check: first the peers
 * file's metadata, then each accepted peer's version file metadata, one Drive call each; a file is downloaded
 * again only when its id, size or modifiedTime changed (that download is change-driven work).
 */
export class PeerCompatReader {
  private peersFile: DriveFile | undefined;
  private data: PeersData = {};
  private readonly versions = new Map<string, { file: DriveFile | undefined; version: string | null }>();
  /** Peers left to check in the round under way; undefined: the next step is the peers file. */
  private todo: string[] | undefined;

  constructor(
    private readonly drive: DriveApi,
    private readonly me: string,
    private readonly policy: VersionPolicy,
  ) {}

  /** Every accepted peer with its verdict, from what was read last. */
  judge(): PeerCompat[] {
    return judgePeers(this.data, this.me, new Map([...this.versions].map(([k, v]) => [k, v.version])), this.policy);
  }

  /** Read the peers file and every accepted peer's version file now (downloads forced). */
  async full(rootId: string | undefined): Promise<PeerCompatLoad> {
    this.todo = undefined;
    if (rootId === undefined) {
      this.data = {};
      this.peersFile = undefined;
      return { peers: [], failed: [] };
    }
    const stat = await statPeersFile(this.drive, rootId);
    const { data } = await readPeersFile(this.drive, rootId, stat ?? null);
    this.data = data;
    this.peersFile = stat;
    const failed: PeerCompatLoad['failed'] = [];
    for (const email of acceptedPeers(data, this.me)) {
      try {
        const found = await findPeerVersionFile(this.drive, email);
        if (!found.ok) this.versions.set(email, { file: undefined, version: null });
        else {
          const r = await readPeerVersionFile(this.drive, email, found.file);
          this.versions.set(email, { file: found.file, version: r.ok ? r.info.syft_client_version : null });
        }
      } catch (e) {
        failed.push({ email, error: (e as Error).message });
        this.versions.set(email, { file: undefined, version: null });
      }
    }
    return { peers: this.judge(), failed };
  }

  /** One step of the periodic re-check (see the class comment). */
  async step(rootId: string | undefined): Promise<CompatStep> {
    if (rootId === undefined) return { finished: true };
    if (this.todo === undefined) {
      const stat = await statPeersFile(this.drive, rootId);
      const changed = !(stat === undefined && this.peersFile === undefined) && !sameFile(stat, this.peersFile);
      this.todo = acceptedPeers(this.data, this.me);
      const finished = this.todo.length === 0;
      if (finished) this.todo = undefined;
      return { finished, ...(changed ? { changed: `${PEERS_FILE_NAME} changed` } : {}) };
    }
    const email = this.todo.shift();
    const finished = this.todo.length === 0;
    if (finished) this.todo = undefined;
    if (email === undefined) return { finished: true };
    const before = this.versions.get(email);
    try {
      const found = await findPeerVersionFile(this.drive, email);
      if (!found.ok) {
        this.versions.set(email, { file: undefined, version: null });
        return { finished, ...(before?.version != null ? { changed: `${email}: ${found.error}` } : {}) };
      }
      if (sameFile(found.file, before?.file)) return { finished };
      const r = await readPeerVersionFile(this.drive, email, found.file);
      const version = r.ok ? r.info.syft_client_version : null;
      this.versions.set(email, { file: found.file, version });
      return { finished, ...(version !== (before?.version ?? null) ? { changed: `${email}'s ${VERSION_FILE_NAME} changed` } : {}) };
    } catch (e) {
      if (!(e instanceof GoogleApiError)) throw e;
      return { finished, failed: { email, error: e.message } };
    }
  }
}
