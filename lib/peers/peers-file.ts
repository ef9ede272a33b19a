/**
 * `SYFT_peers.json` codec (protocol reference §2.2), pure.
 *
 * Shape: `{ "<peer email>": { "state": "<PeerState>", …other keys kept… }, …unknown top-level keys kept… }`.
 * Written as Python's `json.dumps(peers_data, indent=2)`: two-space indent, `", "`-less item separator at line
 * ends, `": "` after keys, no trailing newline, every character outside printable ASCII escaped as `\uXXXX`
 * (`ensure_ascii=True`). Uploaded as a str, i.e. `text/plain`.
 */

export const PEERS_FILE_NAME = 'SYFT_peers.json';
export const PEERS_FILE_MIME = 'text/plain';

/** `PeerState` (`syft_client/sync/peers/peer.py:8-12`). `requested_by_peer` is never written. */
export type PeerState = 'accepted' | 'requested_by_peer' | 'rejected' | 'requested_by_me';
export const PEER_STATES: readonly PeerState[] = ['accepted', 'requested_by_peer', 'rejected', 'requested_by_me'];

/** The parsed file: an insertion-ordered JSON object, unknown keys included. */
export type PeersData = Record<string, unknown>;

export type ParsedPeers = { ok: true; data: PeersData } | { ok: false; error: string };

/** Parse our own `SYFT_peers.json`. Empty content reads as `{}`; anything but a JSON object is an error. */
export function parsePeersFile(text: string | Buffer | undefined): ParsedPeers {
  const s = text === undefined ? '' : typeof text === 'string' ? text : text.toString('utf8');
  if (s.trim() === '') return { ok: true, data: {} };
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch (e) {
    return { ok: false, error: `${PEERS_FILE_NAME}: not valid JSON (${(e as Error).message})` };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, error: `${PEERS_FILE_NAME}: expected a JSON object at the top level` };
  return { ok: true, data: v as PeersData };
}

/** The key under which `email` is stored (exact first, then case-insensitive), if any. */
export function peerKey(data: PeersData, email: string): string | undefined {
  if (Object.prototype.hasOwnProperty.call(data, email)) return email;
  const lower = email.toLowerCase();
  return Object.keys(data).find((k) => k.toLowerCase() === lower);
}

function stateOfEntry(entry: unknown): PeerState | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return undefined;
  const s = (entry as Record<string, unknown>).state;
  return typeof s === 'string' && (PEER_STATES as readonly string[]).includes(s) ? (s as PeerState) : undefined;
}

/** The state recorded for `email` (entries whose `state` is not a `PeerState` are ignored, as Python does). */
export function peerStateOf(data: PeersData, email: string): PeerState | undefined {
  const k = peerKey(data, email);
  return k === undefined ? undefined : stateOfEntry(data[k]);
}

/** Every entry with a valid state, keyed by lower-cased e-mail. */
export function peerStates(data: PeersData): Map<string, PeerState> {
  const out = new Map<string, PeerState>();
  for (const [k, v] of Object.entries(data)) {
    const s = stateOfEntry(v);
    if (s) out.set(k.toLowerCase(), s);
  }
  return out;
}

/**
 * `_update_peer_state`: set `state` of one entry, keeping its other keys (and their order) and every other
 * entry. Returns a new object; `data` is not modified.
 */
export function withPeerState(data: PeersData, email: string, state: PeerState): PeersData {
  const key = peerKey(data, email) ?? email;
  const old = data[key];
  const entry = typeof old === 'object' && old !== null && !Array.isArray(old) ? { ...(old as Record<string, unknown>), state } : { state };
  return { ...data, [key]: entry };
}

/** Python's `json.dumps(data, indent=2)` (ensure_ascii). */
export function encodePeersFile(data: PeersData): string {
  return pyJsonDumpsIndent2(data);
}

/**
 * `json.dumps(value, indent=2)` for JSON-parsed values. `JSON.stringify(v, null, 2)` has the same layout; the only
 * difference for strings is `ensure_ascii`: Python escapes everything outside `\x20-\x7e`, JS keeps non-ASCII
 * and DEL raw (control characters, `"` and `\` are escaped the same way by both). Structure characters are ASCII,
 * so escaping every remaining non-ASCII code unit of the output only touches string contents.
 * (Numbers that Python keeps as floats, e.g. `1.0`, come back as `1` after a JSON round trip in JS.)
 */
export function pyJsonDumpsIndent2(value: unknown): string {
  const s = JSON.stringify(value, null, 2) ?? 'null';
  return s.replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}
