/**
 * DO-private state (protocol §3.4): the rolling state (Drive `rolling_state_<ts>.tar.gz` and the local
 * `<root>/.cache/rolling_state.json`), incremental and full checkpoints, and the local hash cache
 * `<root>/.cache/owner_file_hashes.json` (syft-client's `PersistedDict`).
 *
 * The tarball members and `rolling_state.json` are compact `model_dump_json()`. `owner_file_hashes.json` is
 * `json.dumps({str(path): hash})`: Python's default separators (`", "`, `": "`) and `ensure_ascii`.
 */
import { lazySchema, parseJsonText, zodProblem } from './content';
import { MessageFormatError } from './errors';
import { eventFromWire, eventNode, eventSchema, finiteNumber, type FileChangeEvent } from './events';
import { dumpJson, float, int, obj } from './json';
import { utf8 } from './proposal';
import { packMessage, unpackMessage } from './tarball';

export const STATE_FILE_VERSION = 1;

export interface RollingState {
  version: number;
  timestamp: number;
  email: string;
  /** timestamp of the checkpoint this builds on (0.0 when there is none) */
  base_checkpoint_timestamp: number;
  last_event_timestamp: number | null;
  events: FileChangeEvent[];
}

export interface IncrementalCheckpoint {
  version: number;
  timestamp: number;
  email: string;
  sequence_number: number;
  events: FileChangeEvent[];
}

export interface CheckpointFile {
  path: string;
  hash: string;
  content: string;
}

export interface Checkpoint {
  version: number;
  timestamp: number;
  email: string;
  last_event_timestamp: number | null;
  files: CheckpointFile[];
}

const nullableFloat = (v: number | null) => (v === null ? null : float(v));

export function encodeRollingState(rs: RollingState): string {
  return dumpJson(
    obj(
      ['version', int(rs.version)],
      ['timestamp', float(rs.timestamp)],
      ['email', rs.email],
      ['base_checkpoint_timestamp', float(rs.base_checkpoint_timestamp)],
      ['last_event_timestamp', nullableFloat(rs.last_event_timestamp)],
      ['events', rs.events.map(eventNode)],
    ),
  );
}

export function encodeIncrementalCheckpoint(cp: IncrementalCheckpoint): string {
  return dumpJson(
    obj(
      ['version', int(cp.version)],
      ['timestamp', float(cp.timestamp)],
      ['email', cp.email],
      ['sequence_number', int(cp.sequence_number)],
      ['events', cp.events.map(eventNode)],
    ),
  );
}

export function encodeCheckpoint(cp: Checkpoint): string {
  return dumpJson(
    obj(
      ['version', int(cp.version)],
      ['timestamp', float(cp.timestamp)],
      ['email', cp.email],
      ['last_event_timestamp', nullableFloat(cp.last_event_timestamp)],
      ['files', cp.files.map((f) => obj(['path', f.path], ['hash', f.hash], ['content', f.content]))],
    ),
  );
}

const schemas = lazySchema((z) => {
  const version = z.int({ error: 'expected an integer' }).optional();
  const ts = finiteNumber(z);
  return {
    rolling: z.object({
      version,
      timestamp: ts,
      email: z.string(),
      base_checkpoint_timestamp: ts,
      last_event_timestamp: ts.nullable().optional(),
      events: z.array(eventSchema()).optional(),
    }),
    incremental: z.object({
      version,
      timestamp: ts,
      email: z.string(),
      sequence_number: z.int({ error: 'expected an integer' }).nonnegative(),
      events: z.array(eventSchema()).optional(),
    }),
    full: z.object({
      version,
      timestamp: ts,
      email: z.string(),
      last_event_timestamp: ts.nullable().optional(),
      files: z.array(z.object({ path: z.string(), hash: z.string(), content: z.string() })).optional(),
    }),
  };
});

function checkVersion(v: number | undefined, what: string): number {
  const version = v ?? STATE_FILE_VERSION;
  if (version !== STATE_FILE_VERSION) throw new MessageFormatError(`${what}: version ${version} is not supported (only ${STATE_FILE_VERSION})`);
  return version;
}

export function decodeRollingState(text: string): RollingState {
  const what = 'rolling state';
  const r = schemas().rolling.safeParse(parseJsonText(text, what));
  if (!r.success) throw zodProblem(r.error, what);
  const d = r.data;
  return {
    version: checkVersion(d.version, what),
    timestamp: d.timestamp,
    email: d.email,
    base_checkpoint_timestamp: d.base_checkpoint_timestamp,
    last_event_timestamp: d.last_event_timestamp ?? null,
    events: (d.events ?? []).map((e, i) => eventFromWire(e, `${what}: events[${i}]`)),
  };
}

export function decodeIncrementalCheckpoint(text: string): IncrementalCheckpoint {
  const what = 'incremental checkpoint';
  const r = schemas().incremental.safeParse(parseJsonText(text, what));
  if (!r.success) throw zodProblem(r.error, what);
  const d = r.data;
  return {
    version: checkVersion(d.version, what),
    timestamp: d.timestamp,
    email: d.email,
    sequence_number: d.sequence_number,
    events: (d.events ?? []).map((e, i) => eventFromWire(e, `${what}: events[${i}]`)),
  };
}

export function decodeCheckpoint(text: string): Checkpoint {
  const what = 'checkpoint';
  const r = schemas().full.safeParse(parseJsonText(text, what));
  if (!r.success) throw zodProblem(r.error, what);
  const d = r.data;
  return {
    version: checkVersion(d.version, what),
    timestamp: d.timestamp,
    email: d.email,
    last_event_timestamp: d.last_event_timestamp ?? null,
    files: (d.files ?? []).map((f) => ({ path: f.path, hash: f.hash, content: f.content })),
  };
}

export const packRollingState = (rs: RollingState, opts: { mtime?: number } = {}) => packMessage(encodeRollingState(rs), opts);
export const unpackRollingState = (buf: Buffer, opts: { maxBytes?: number } = {}) => decodeRollingState(utf8(unpackMessage(buf, opts), 'rolling state'));
export const packIncrementalCheckpoint = (cp: IncrementalCheckpoint, opts: { mtime?: number } = {}) => packMessage(encodeIncrementalCheckpoint(cp), opts);
export const unpackIncrementalCheckpoint = (buf: Buffer, opts: { maxBytes?: number } = {}) =>
  decodeIncrementalCheckpoint(utf8(unpackMessage(buf, opts), 'incremental checkpoint'));
export const packCheckpoint = (cp: Checkpoint, opts: { mtime?: number } = {}) => packMessage(encodeCheckpoint(cp), opts);
export const unpackCheckpoint = (buf: Buffer, opts: { maxBytes?: number } = {}) => decodeCheckpoint(utf8(unpackMessage(buf, opts), 'checkpoint'));

/** A new, empty rolling state (`pull_initial_state` when Drive has none). */
export function emptyRollingState(email: string, timestamp: number, baseCheckpointTimestamp = 0): RollingState {
  return { version: STATE_FILE_VERSION, timestamp, email, base_checkpoint_timestamp: baseCheckpointTimestamp, last_event_timestamp: null, events: [] };
}

/** `RollingState.add_events_message`: append, last_event_timestamp = max event timestamp, new timestamp. */
export function addEventsToRollingState(rs: RollingState, events: readonly FileChangeEvent[], timestamp: number): RollingState {
  const last = events.length > 0 ? Math.max(...events.map((e) => e.timestamp)) : rs.last_event_timestamp;
  return { ...rs, events: [...rs.events, ...events], last_event_timestamp: last, timestamp };
}

// ---- owner_file_hashes.json ------------------------------------------------------------------------------------

/** Python `json.dumps(str)` with `ensure_ascii=True`. */
export function pyJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i]!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20 || c > 0x7e) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

/** `json.dumps({path: hash, …})` in the map's order (Python dicts keep insertion order). */
export function encodeOwnerFileHashes(hashes: ReadonlyMap<string, string | null>): string {
  const parts: string[] = [];
  for (const [k, v] of hashes) parts.push(`${pyJsonString(k)}: ${v === null ? 'null' : pyJsonString(v)}`);
  return '{' + parts.join(', ') + '}';
}

/**
 * Parse `owner_file_hashes.json` into path -> hash (a Map: keys are peer-influenced paths, never object keys).
 * Python silently treats an unreadable file as empty; we throw `MessageFormatError` and let the caller decide.
 */
export function decodeOwnerFileHashes(text: string): Map<string, string | null> {
  const data = parseJsonText(text, 'owner_file_hashes.json');
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new MessageFormatError('owner_file_hashes.json is not a JSON object');
  const out = new Map<string, string | null>();
  for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
    if (v !== null && typeof v !== 'string') throw new MessageFormatError(`owner_file_hashes.json: ${JSON.stringify(k)}: expected a hash string or null, got ${typeof v}`);
    out.set(k, v);
  }
  return out;
}
