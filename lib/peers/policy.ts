/**
 * Which peer requests the approve service accepts, and why (pure). Python's `PeerApprovalHandler`
 * (syft-bg-reference §6.3) approves a pending peer whose e-mail is in any auto-approval object's `peers`, or whose
 * domain is in `approve.peers.approved_domains`. Differences, on purpose:
 * - `approve.peers.enabled: false` switches the domain rule off (Python ignores the flag); listing a peer in an
 *   auto-approval object is an explicit choice and keeps approving it;
 * - e-mails and domains compare case-insensitively (Google addresses are), still exact: no sub-domain matching;
 * - objects are the current ones (re-read with config.yaml), not the ones at start-up.
 */
import type { PeerState } from './peers-file';
import type { PeerRequest } from './requests';

export interface PeerPolicyConfig {
  enabled: boolean;
  approved_domains: readonly string[];
  auto_share_datasets?: readonly string[];
}

export interface ObjectLike {
  peers: readonly string[];
}
export type ObjectsLike = ReadonlyMap<string, ObjectLike> | Readonly<Record<string, ObjectLike>>;

/** Lower-cased e-mail → names of the objects listing it. Objects without peers (= any peer, for jobs) add nothing. */
export function objectPeerIndex(objects: ObjectsLike | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!objects) return out;
  const entries: Iterable<[string, ObjectLike]> = objects instanceof Map ? objects.entries() : Object.entries(objects as Record<string, ObjectLike>);
  for (const [name, o] of entries) {
    for (const p of o?.peers ?? []) {
      if (typeof p !== 'string' || p.trim() === '') continue;
      const k = p.trim().toLowerCase();
      const names = out.get(k) ?? [];
      if (!names.includes(name)) names.push(name);
      out.set(k, names);
    }
  }
  return out;
}

/** Python: `email.split("@")[-1].lower()`. */
export function domainOf(email: string): string {
  return (email.split('@').pop() ?? '').toLowerCase();
}

export type PolicyDecision =
  | { approve: true; via: 'object'; objects: string[]; domain: string; reason: string }
  | { approve: true; via: 'domain'; domain: string; reason: string }
  | { approve: false; domain: string; reason: string };

export function decidePeer(email: string, cfg: PeerPolicyConfig, index: ReadonlyMap<string, readonly string[]>): PolicyDecision {
  const domain = domainOf(email);
  const objects = index.get(email.toLowerCase());
  if (objects && objects.length > 0) {
    return { approve: true, via: 'object', objects: [...objects], domain, reason: `listed in auto-approval object${objects.length > 1 ? 's' : ''} ${objects.map((o) => `'${o}'`).join(', ')}` };
  }
  const listed = cfg.approved_domains.some((d) => typeof d === 'string' && d.trim().toLowerCase() === domain);
  if (listed && cfg.enabled) return { approve: true, via: 'domain', domain, reason: `domain ${domain} is in approve.peers.approved_domains` };
  if (listed) return { approve: false, domain, reason: `domain ${domain} is in approve.peers.approved_domains, but approve.peers.enabled is false` };
  if (cfg.approved_domains.length === 0) return { approve: false, domain, reason: `not listed in any auto-approval object, and approve.peers.approved_domains is empty` };
  return { approve: false, domain, reason: `domain ${domain} not in approve.peers.approved_domains, and not listed in any auto-approval object` };
}

/**
 * Requests still waiting for us: no entry in our `SYFT_peers.json`, or `requested_by_peer` (never written by
 * Python, but harmless). `accepted` and `rejected` are filtered as `get_peer_requests` does; `requested_by_me`
 * means we asked them too, which a Python client upgrades to `accepted` itself on its next `load_peers`.
 */
export function isPending(state: PeerState | undefined): boolean {
  return state === undefined || state === 'requested_by_peer';
}

/** Why an otherwise approvable request cannot be approved yet (undefined: it is complete). */
export function incompleteReason(r: PeerRequest): string | undefined {
  if (r.inbox && r.outbox) return undefined;
  const missing = r.inbox ? 'outbox' : 'inbox';
  return `incomplete request: the peer's ${missing} folder (syft_datasite#…#${missing}#${r.email}) is missing or not shared with us yet`;
}
