/**
 * Names of the Drive files and folders of the SyftBox transport (protocol §3.1, §3.2), with parsers that accept
 * exactly what syft-client writes and return `undefined` for anything else (a folder may hold foreign files).
 *
 * Timestamps in names are Python `repr(time.time())`. `newTimestamp()` gives distinct, increasing values whose repr
 * has exactly 7 decimals (what `time.time()` usually gives today), so names we write sort by name the same way they
 * sort by time (pitfall §7 #11: a shorter repr can sort above a longer, newer one).
 */
import { SYFT_CLIENT_VERSION } from '../../peers/version';
import { parseFloatStrict, pyFloatRepr } from './pyfloat';

export { pyFloatRepr, pydanticFloatJson, parseFloatStrict } from './pyfloat';

export const MESSAGE_MEMBER_NAME = 'proposed_file_changes.json';
export const TARBALL_EXTENSION = '.tar.gz';
export const PROPOSAL_PREFIX = 'msgv2';
export const EVENTS_PREFIX = 'syfteventsmessagev3';
export const CHECKPOINT_PREFIX = 'checkpoint';
export const INCREMENTAL_CHECKPOINT_PREFIX = 'incremental_checkpoint';
export const ROLLING_STATE_PREFIX = 'rolling_state';

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

function tsText(ts: number, what: string): string {
  if (!Number.isFinite(ts) || ts < 0) throw new RangeError(`${what}: timestamp ${ts} is not a finite non-negative number`);
  return pyFloatRepr(ts);
}

function stripExt(name: string): string | undefined {
  return name.endsWith(TARBALL_EXTENSION) ? name.slice(0, -TARBALL_EXTENSION.length) : undefined;
}

// ---- proposals (DS -> DO) -------------------------------------------------------------------------------------

/** `msgv2_<repr(ts)>_<uid>.tar.gz` (`MessageFileName.as_string`). */
export function proposalFileName(ts: number, uid: string): string {
  if (uid === '' || /[_/\\\0]/.test(uid)) throw new RangeError(`proposal uid ${JSON.stringify(uid)} may not be empty or contain _ / \\ or NUL`);
  return `${PROPOSAL_PREFIX}_${tsText(ts, 'proposalFileName')}_${uid}${TARBALL_EXTENSION}`;
}

export interface ProposalFileNameParts {
  submittedTimestamp: number;
  uid: string;
}

/**
 * `MessageFileName.from_string`: `split("_")` must give exactly 3 parts and the middle one must be a float. We also
 * require the `msgv2` prefix and the `.tar.gz` extension, which Python does not check but always writes.
 */
export function parseProposalFileName(name: string): ProposalFileNameParts | undefined {
  const base = stripExt(name);
  if (base === undefined) return undefined;
  const parts = base.split('_');
  if (parts.length !== 3 || parts[0] !== PROPOSAL_PREFIX) return undefined;
  const ts = parseFloatStrict(parts[1]!);
  const uid = parts[2]!;
  if (ts === undefined || uid === '' || /[/\\\0]/.test(uid) || uid.includes('.tar.gz')) return undefined;
  return { submittedTimestamp: ts, uid };
}

// ---- events messages (DO log / outbox) ------------------------------------------------------------------------

/** `syfteventsmessagev3_<repr(ts)>_<uuid>.tar.gz` (`FileChangeEventsMessageFileName.as_string`). */
export function eventsFileName(ts: number, id: string): string {
  if (!isUuid(id)) throw new RangeError(`events message id ${JSON.stringify(id)} is not a UUID`);
  return `${EVENTS_PREFIX}_${tsText(ts, 'eventsFileName')}_${id.toLowerCase()}${TARBALL_EXTENSION}`;
}

export interface EventsFileNameParts {
  timestamp: number;
  /** lower-case, hyphenated */
  id: string;
}

/** `FileChangeEventsMessageFileName.from_string`: `split("_", 2)`, float timestamp, UUID id before `.tar.gz`. */
export function parseEventsFileName(name: string): EventsFileNameParts | undefined {
  const base = stripExt(name);
  if (base === undefined || !base.startsWith(EVENTS_PREFIX + '_')) return undefined;
  const rest = base.slice(EVENTS_PREFIX.length + 1);
  const i = rest.indexOf('_');
  if (i < 0) return undefined;
  const ts = parseFloatStrict(rest.slice(0, i));
  const id = rest.slice(i + 1);
  if (ts === undefined || !isUuid(id)) return undefined;
  return { timestamp: ts, id: id.toLowerCase() };
}

// ---- checkpoints and rolling state (DO-private) ---------------------------------------------------------------

/** `checkpoint_<repr(ts)>.tar.gz` (`Checkpoint.filename`). */
export function checkpointFileName(ts: number): string {
  return `${CHECKPOINT_PREFIX}_${tsText(ts, 'checkpointFileName')}${TARBALL_EXTENSION}`;
}

export function parseCheckpointFileName(name: string): { timestamp: number } | undefined {
  const base = stripExt(name);
  if (base === undefined) return undefined;
  const parts = base.split('_');
  if (parts.length !== 2 || parts[0] !== CHECKPOINT_PREFIX) return undefined;
  const ts = parseFloatStrict(parts[1]!);
  return ts === undefined ? undefined : { timestamp: ts };
}

/** `incremental_checkpoint_<seq>_<repr(ts)>.tar.gz` (`IncrementalCheckpoint.filename`). */
export function incrementalCheckpointFileName(sequenceNumber: number, ts: number): string {
  if (!Number.isSafeInteger(sequenceNumber) || sequenceNumber < 0) throw new RangeError(`sequence number ${sequenceNumber} is not a non-negative integer`);
  return `${INCREMENTAL_CHECKPOINT_PREFIX}_${sequenceNumber}_${tsText(ts, 'incrementalCheckpointFileName')}${TARBALL_EXTENSION}`;
}

export function parseIncrementalCheckpointFileName(name: string): { sequenceNumber: number; timestamp: number } | undefined {
  const base = stripExt(name);
  if (base === undefined || !base.startsWith(INCREMENTAL_CHECKPOINT_PREFIX + '_')) return undefined;
  const parts = base.slice(INCREMENTAL_CHECKPOINT_PREFIX.length + 1).split('_');
  if (parts.length !== 2 || !/^\d{1,15}$/.test(parts[0]!)) return undefined;
  const ts = parseFloatStrict(parts[1]!);
  return ts === undefined ? undefined : { sequenceNumber: Number(parts[0]), timestamp: ts };
}

/** `rolling_state_<repr(ts)>.tar.gz` (`RollingState.filename`). */
export function rollingStateFileName(ts: number): string {
  return `${ROLLING_STATE_PREFIX}_${tsText(ts, 'rollingStateFileName')}${TARBALL_EXTENSION}`;
}

export function parseRollingStateFileName(name: string): { timestamp: number } | undefined {
  const base = stripExt(name);
  if (base === undefined || !base.startsWith(ROLLING_STATE_PREFIX + '_')) return undefined;
  const ts = parseFloatStrict(base.slice(ROLLING_STATE_PREFIX.length + 1));
  return ts === undefined ? undefined : { timestamp: ts };
}

// ---- folders ----------------------------------------------------------------------------------------------------

/** `/SyftBox/<ver>#<me>/`: the DO's personal event log. */
export function personalFolderName(me: string, version: string = SYFT_CLIENT_VERSION): string {
  return `${version}#${me}`;
}

/** `/SyftBox/<me>-<ver>-checkpoints/`. */
export function checkpointsFolderName(me: string, version: string = SYFT_CLIENT_VERSION): string {
  return `${me}-${version}-checkpoints`;
}

/** `/SyftBox/<me>-<ver>-rolling-state/`. */
export function rollingStateFolderName(me: string, version: string = SYFT_CLIENT_VERSION): string {
  return `${me}-${version}-rolling-state`;
}

/** `/SyftBox/syft_<sender>_to_<me>_archive/`: where the DO moves processed proposals. */
export function archiveFolderName(sender: string, me: string): string {
  return `syft_${sender}_to_${me}_archive`;
}

// ---- timestamps -------------------------------------------------------------------------------------------------

const SCRATCH = new DataView(new ArrayBuffer(8));

/** The next double above a positive finite x. */
export function nextUp(x: number): number {
  SCRATCH.setFloat64(0, x);
  SCRATCH.setBigUint64(0, SCRATCH.getBigUint64(0) + 1n);
  return SCRATCH.getFloat64(0);
}

function decimals(x: number): number {
  const r = pyFloatRepr(x);
  const dot = r.indexOf('.');
  return dot < 0 || r.includes('e') ? -1 : r.length - dot - 1;
}

/**
 * A source of distinct, strictly increasing `time.time()`-like timestamps (seconds as a float). Each value is
 * nudged up to the nearest double whose repr has exactly 7 decimals (µs-ish precision; at today's magnitudes
 * most doubles already have that repr), so file names we create sort by name as they sort by time.
 */
export class TimestampClock {
  private last = 0;

  next(nowMs?: number): number {
    const ms = nowMs ?? Date.now() + (performance.now() % 1);
    let t = Math.max(ms / 1000, this.last);
    if (!(t > 0) || !Number.isFinite(t)) throw new RangeError(`clock value ${ms} ms is not a positive finite number`);
    if (t <= this.last) t = nextUp(this.last);
    for (let i = 0; i < 64 && decimals(t) !== 7; i++) t = nextUp(t);
    this.last = t;
    return t;
  }
}

const DEFAULT_CLOCK = new TimestampClock();

/** A new timestamp from the process-wide clock (distinct and increasing within this process). */
export function newTimestamp(nowMs?: number): number {
  return DEFAULT_CLOCK.next(nowMs);
}
