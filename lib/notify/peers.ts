/**
 * Where the notify service learns about peers: an injected {@link PeerSource} giving snapshots of
 * `{email, state}`; successive snapshots are diffed into events by `peerEvents` (events.ts).
 *
 * - Local transport (`transports.syftbox: local`): there is no Drive and no peer list, so {@link NO_PEERS} is
 *   used and peer mails are never sent (the Python reference reads them from the sync service's Drive snapshot).
 * - Drive transport: {@link drivePeerSource} lists peer requests (p2p folders others own, classified by
 *   lib/peers: owner must match the name, version compatible) and reads our `SYFT_peers.json`: `accepted` entries
 *   are peers, requests whose e-mail is neither accepted nor rejected are `requested_by_peer` (protocol §2.4).
 *
 * Cost over Drive. A full listing is 4 calls (a change-feed position, the request folders, the peers file's id, its
 * content; plus looking for /SyftBox until it exists); the source does one only when Drive's change feed says that
 * something a listing depends on changed ({@link peerListingStale}), so an idle poll is a single `changes.list`.
 * The notifier polls at most once per `minIntervalMs` (the service passes `notify.interval`). A full listing is also
 * forced every `relistMs` (default 15 min), in case the feed missed something.
 *
 * No /SyftBox folder of ours (approve creates it) means no peers file, hence no accepted peer; requests shared with
 * us are listed all the same (a listing that gave up there made the notifier take the first real listing for the
 * "first snapshot", which is seeded silently: the request mails of a peer who asked early were never sent).
 */
import type { DriveApi, DriveChange } from '../google/drive';
import { parseP2pFolderName } from '../google/drive';
import type { PeerEntry } from './events';

export interface PeerSource {
  readonly kind: string;
  /** The current peers; undefined when they cannot be known right now (nothing is concluded from that). */
  list(): Promise<PeerEntry[] | undefined>;
  /** Minimum time between two listings (Drive calls are not free). */
  readonly minIntervalMs: number;
}

export const NO_PEERS: PeerSource = {
  kind: 'none',
  minIntervalMs: Number.POSITIVE_INFINITY,
  async list() {
    return undefined;
  },
};

/** Our peers file on Drive (lib/peers/peers-file.ts `PEERS_FILE_NAME`; repeated so this module loads nothing). */
const PEERS_FILE = 'SYFT_peers.json';

/** Combine `SYFT_peers.json` states and request e-mails into a snapshot (pure; §2.4 `load_peers`). */
export function peerSnapshot(states: Map<string, string>, requestEmails: readonly string[]): PeerEntry[] {
  const out = new Map<string, PeerEntry>();
  for (const [email, st] of states) if (st === 'accepted') out.set(email.toLowerCase(), { email: email.toLowerCase(), state: 'accepted' });
  for (const e of requestEmails) {
    const k = e.toLowerCase();
    const st = states.get(k);
    if (st === 'accepted' || st === 'rejected') continue;
    out.set(k, { email: k, state: 'requested_by_peer' });
  }
  return [...out.values()].sort((a, b) => (a.email < b.email ? -1 : a.email > b.email ? 1 : 0));
}

/**
 * Whether changes from Drive's feed may change the peer listing of `me` (pure): our `SYFT_peers.json`, a p2p
 * folder about our datasite named for somebody else (a request made, re-shared, renamed or trashed), or a removed
 * change (no name: a file deleted or no longer shared with us) of a file the last listing used (`known` ids).
 */
export function peerListingStale(changes: readonly DriveChange[], me: string, known: ReadonlySet<string>): boolean {
  const lowerMe = me.toLowerCase();
  for (const c of changes) {
    if (known.has(c.fileId)) return true;
    const name = c.file?.name;
    if (name === undefined) continue;
    if (name === PEERS_FILE) return true;
    const p = parseP2pFolderName(name);
    if (p && p.datasite.toLowerCase() === lowerMe && p.peer.toLowerCase() !== lowerMe) return true;
  }
  return false;
}

export interface DrivePeerSourceOptions {
  /** Minimum time between two polls (the service passes `notify.interval`). Default 30 s. */
  minIntervalMs?: number;
  /** A full listing at least this often, whatever the feed says. Default 15 min. */
  relistMs?: number;
  now?: () => number;
}

/** What a {@link drivePeerSource} has done so far (for tests and benchmarks). */
export interface DrivePeerSourceStats {
  /** Full listings so far. */
  listings: number;
  /** Polls answered from the change feed alone (nothing relevant changed). */
  unchanged: number;
}

/** Peers over Drive, through lib/peers (request classification, SYFT_peers.json reading), re-listed on change only. */
export function drivePeerSource(drive: DriveApi, me: string, opts: DrivePeerSourceOptions = {}): PeerSource & { readonly stats: DrivePeerSourceStats } {
  const now = opts.now ?? Date.now;
  const relistMs = opts.relistMs ?? 15 * 60_000;
  let rootId: string | undefined;
  /** Change-feed position taken before the last full listing; undefined = none yet (or the feed failed). */
  let pageToken: string | undefined;
  let last: PeerEntry[] | undefined;
  let lastListedAt = -Infinity;
  /** Drive ids the last listing depended on (request folders, the peers file). */
  let known = new Set<string>();
  const stats: DrivePeerSourceStats = { listings: 0, unchanged: 0 };

  const fullListing = async (): Promise<PeerEntry[]> => {
    const peers = await import('../peers');
    // No /SyftBox folder of ours yet: no peers file (see the header).
    rootId ??= (await drive.findSyftBoxRoot())?.id;
    const root = rootId;
    const [folders, stat] = await Promise.all([drive.listPeerRequests(me), root === undefined ? undefined : peers.statPeersFile(drive, root)]);
    const file = root === undefined ? { fileId: undefined, data: {} } : await peers.readPeersFile(drive, root, stat ?? null);
    const { requests } = peers.classifyPeerRequests(folders, me);
    known = new Set([...folders.map((f) => f.file.id), ...(file.fileId !== undefined ? [file.fileId] : [])]);
    stats.listings++;
    lastListedAt = now();
    return (last = peerSnapshot(peers.peerStates(file.data), requests.map((r) => r.email)));
  };

  return {
    kind: 'drive',
    minIntervalMs: opts.minIntervalMs ?? 30_000,
    stats,
    async list() {
      if (pageToken === undefined || last === undefined || now() - lastListedAt >= relistMs) {
        // The feed position is taken first, so a change made during the listing is seen by the next poll.
        pageToken = await drive.getStartPageToken();
        try {
          return await fullListing();
        } catch (e) {
          pageToken = undefined;
          throw e;
        }
      }
      let feed;
      try {
        feed = await drive.listChanges(pageToken, { fileFields: ['id', 'name'] });
      } catch (e) {
        pageToken = undefined; // an expired or invalid token: start over with a full listing next time
        throw e;
      }
      pageToken = feed.newStartPageToken;
      if (!peerListingStale(feed.changes, me, known)) {
        stats.unchanged++;
        return last;
      }
      try {
        return await fullListing();
      } catch (e) {
        pageToken = undefined;
        throw e;
      }
    },
  };
}
