/**
 * Where the notify service learns about peers: an injected {@link PeerSource} giving snapshots of
 * `{email, state}`; successive snapshots are diffed into events by `peerEvents` (events.ts).
 *
 * - Local transport (`transports.syftbox: local`): there is no Drive and no peer list, so {@link NO_PEERS} is
 *   used and peer mails are never sent (the Python reference reads them from the sync service's Drive snapshot).
 * - Drive transport: {@link drivePeerSource} lists peer requests (p2p folders others own, classified by
 *   lib/peers: owner must match the name, version compatible) and reads our `SYFT_peers.json`: `accepted` entries
 *   are peers, requests whose e-mail is neither accepted nor rejected are `requested_by_peer` (protocol §2.4).
 */
import type { DriveApi } from '../google/drive';
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

/** Peers over Drive, through lib/peers (request classification, SYFT_peers.json reading). */
export function drivePeerSource(drive: DriveApi, me: string, opts: { minIntervalMs?: number } = {}): PeerSource {
  let rootId: string | undefined;
  return {
    kind: 'drive',
    minIntervalMs: opts.minIntervalMs ?? 30_000,
    async list() {
      const peers = await import('../peers');
      if (rootId === undefined) {
        const root = await drive.findSyftBoxRoot();
        if (!root) return undefined; // no SyftBox folder yet: nothing to conclude
        rootId = root.id;
      }
      const [folders, file] = await Promise.all([drive.listPeerRequests(me), peers.readPeersFile(drive, rootId)]);
      const { requests } = peers.classifyPeerRequests(folders, me);
      return peerSnapshot(peers.peerStates(file.data), requests.map((r) => r.email));
    },
  };
}
