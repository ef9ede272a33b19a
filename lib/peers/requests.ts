/**
 * Peer requests (protocol reference §2.4), pure classification of the folders `DriveApi.listPeerRequests` found:
 * p2p folders named `syft_datasite#<v>#<me>#<inbox|outbox>#<peer>` that somebody else owns.
 *
 * The reference trusts the folder *name* (§7 #4). Here a folder counts as `<peer>`'s request only if
 * - `<peer>` looks like an e-mail address (it becomes a local folder name and a Drive query value),
 * - the folder's owner is `<peer>` (Drive reports the owner; a name is free text anyone can choose), and
 * - its version has our major.minor (Python lookups ignore other versions, so the channel would not work).
 * Everything else is refused, with the reason.
 */
import type { P2pFolder } from '../google/drive';
import { folderVersionCompatible } from './compat';
import { SYFT_CLIENT_VERSION } from './version';

export interface PeerRequest {
  /** The peer's e-mail address as written in the folder name. */
  email: string;
  /** Newest genuine inbox / outbox folder (the ones the peer created for us). */
  inbox?: P2pFolder;
  outbox?: P2pFolder;
  /** Genuine folders of a type beyond the first (Python lookups fail on these; reported, not fatal here). */
  extra: P2pFolder[];
}

export type RefusalCode = 'not-an-email' | 'owner-mismatch' | 'incompatible-version';

export interface RefusedFolder {
  /** The e-mail the folder name claims. */
  email: string;
  folder: P2pFolder;
  /** Who actually owns it (comma-separated when Drive lists several; '' when unknown). */
  owner: string;
  code: RefusalCode;
  reason: string;
}

export interface ClassifiedRequests {
  requests: PeerRequest[];
  refused: RefusedFolder[];
}

/** A plain address: one `@`, no whitespace, quotes, slashes, `#` or control characters, no `.`/`..` as a whole. */
export function isPlainEmail(s: string): boolean {
  if (s.length > 254 || s === '.' || s === '..') return false;
  return /^[^\s@/\\'"#\u0000-\u001f\u007f]+@[^\s@/\\'"#\u0000-\u001f\u007f]+$/.test(s) && !s.startsWith('.') && !s.endsWith('.');
}

const lower = (s: string) => s.toLowerCase();
const byAge = (a: P2pFolder, b: P2pFolder) => (a.file.createdTime ?? '').localeCompare(b.file.createdTime ?? '') || a.file.id.localeCompare(b.file.id);

export function classifyPeerRequests(folders: readonly P2pFolder[], me: string, ours: string = SYFT_CLIENT_VERSION): ClassifiedRequests {
  const refused: RefusedFolder[] = [];
  const genuine = new Map<string, { email: string; inbox: P2pFolder[]; outbox: P2pFolder[] }>();
  for (const f of [...folders].sort(byAge)) {
    if (lower(f.datasite) !== lower(me) || lower(f.peer) === lower(me)) continue;
    const owners = f.file.owners ?? [];
    const owner = owners.join(',');
    const base = { email: f.peer, folder: f, owner };
    if (!isPlainEmail(f.peer)) {
      refused.push({ ...base, code: 'not-an-email', reason: `folder ${f.file.name}: ${JSON.stringify(f.peer)} is not a plain e-mail address` });
      continue;
    }
    if (owners.length !== 1 || lower(owners[0]!) !== lower(f.peer)) {
      const who = owners.length === 0 ? 'an unknown owner' : owner;
      refused.push({ ...base, code: 'owner-mismatch', reason: `folder ${f.file.name} is named for ${f.peer} but owned by ${who}` });
      continue;
    }
    if (!folderVersionCompatible(f.version, ours)) {
      refused.push({ ...base, code: 'incompatible-version', reason: `folder ${f.file.name} carries version ${f.version}, incompatible with ours (${ours}; major.minor must match)` });
      continue;
    }
    const k = lower(f.peer);
    const g = genuine.get(k) ?? { email: f.peer, inbox: [], outbox: [] };
    g[f.type].push(f);
    genuine.set(k, g);
  }
  const requests: PeerRequest[] = [];
  for (const g of genuine.values()) {
    // Newest of each type: the one a re-requesting peer created last.
    const inbox = g.inbox[g.inbox.length - 1];
    const outbox = g.outbox[g.outbox.length - 1];
    requests.push({
      email: g.email,
      ...(inbox ? { inbox } : {}),
      ...(outbox ? { outbox } : {}),
      extra: [...g.inbox.slice(0, -1), ...g.outbox.slice(0, -1)],
    });
  }
  requests.sort((a, b) => a.email.localeCompare(b.email));
  return { requests, refused };
}

/** A stable fingerprint of a request listing (ids, names, owners), to notice that nothing changed. */
export function listingSignature(folders: readonly P2pFolder[]): string {
  return folders
    .map((f) => `${f.file.id}|${f.file.name}|${(f.file.owners ?? []).join(',')}`)
    .sort()
    .join('\n');
}
