/**
 * `review/<ds>/<job>/state.yaml` — syft-job's `JobState` (protocol §1.6), pure codec.
 *
 * The file is `yaml.dump(JobState.model_dump(mode="json"), f, default_flow_style=False)`: all 10 keys, sorted,
 * nulls included, timestamps as quoted pydantic ISO strings. `emitState` produces those bytes (see pyyaml.ts);
 * `parseState` accepts what `JobState(**yaml.safe_load(text))` accepts and normalises values as pydantic does, so
 * `emitState(parseState(text))` is what a Python load + save would write. Keys syft-job does not know are dropped
 * on the next save, as pydantic drops them (they are listed in `notes`).
 *
 * One deliberate difference: a file without `status` is `incomplete` here (Python would default it to
 * `received`), because syft-job always writes `status` last, so its absence means the file was cut short.
 */

import { problem, type Parsed } from './problems';
import { pyYamlDump } from './pyyaml';
import { normalizePyDatetime } from './time';
import { describe, isMapping, laxInt, loadYamlText, optStr } from './yamlfile';

export const JOB_STATUSES = ['received', 'pending', 'approved', 'rejected', 'running', 'done', 'failed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export function isJobStatus(v: unknown): v is JobStatus {
  return typeof v === 'string' && (JOB_STATUSES as readonly string[]).includes(v);
}

/** Field names are the file's keys. Timestamps are pydantic-normalised ISO strings (`…Z`). */
export interface JobState {
  status: JobStatus;
  received_at: string | null;
  approved_by: string | null;
  approved_at: string | null;
  /** `"manual"` or `"auto"` as syft-job writes it; any string is accepted, as pydantic's `Optional[str]`. */
  approval_method: string | null;
  rejected_by: string | null;
  rejected_at: string | null;
  /** Reason given at approve or reject time (also the validation error for auto-rejected submissions). */
  review_reason: string | null;
  completed_at: string | null;
  return_code: number | null;
}

/** The file's keys in the order PyYAML writes them (sorted). */
export const STATE_KEYS = [
  'approval_method',
  'approved_at',
  'approved_by',
  'completed_at',
  'received_at',
  'rejected_at',
  'rejected_by',
  'return_code',
  'review_reason',
  'status',
] as const satisfies ReadonlyArray<keyof JobState>;

const TIMESTAMP_KEYS = ['received_at', 'approved_at', 'rejected_at', 'completed_at'] as const;
const STRING_KEYS = ['approved_by', 'approval_method', 'rejected_by', 'review_reason'] as const;

/** `JobState()`: what syft-job assumes when `state.yaml` does not exist. Never written by syft-job. */
export function defaultState(): JobState {
  return {
    status: 'received',
    received_at: null,
    approved_by: null,
    approved_at: null,
    approval_method: null,
    rejected_by: null,
    rejected_at: null,
    review_reason: null,
    completed_at: null,
    return_code: null,
  };
}

export function parseState(text: string): Parsed<JobState> {
  const loaded = loadYamlText(text, 'state.yaml');
  if (!loaded.ok) return loaded;
  const data = loaded.data;
  if (!isMapping(data)) {
    const code = text.endsWith('\n') ? 'invalid' : 'incomplete';
    return { ok: false, problem: problem(code, `state.yaml holds ${describe(data)}, not a mapping`) };
  }
  const absent = STATE_KEYS.filter((k) => !(k in data));
  if (!text.endsWith('\n') && absent.length > 0) {
    return { ok: false, problem: problem('incomplete', `state.yaml has no final newline and lacks ${absent.join(', ')} (cut short while being written?)`) };
  }
  if (!('status' in data)) {
    return { ok: false, problem: problem('incomplete', 'state.yaml has no status key (cut short while being written?)') };
  }
  // Without the final newline every Python writer adds, a value that does not validate is probably cut short.
  const bad = (msg: string) => ({ ok: false as const, problem: problem(text.endsWith('\n') ? 'invalid' : 'incomplete', `state.yaml: ${msg}`) });
  const state = defaultState();
  const status = data.status;
  if (!isJobStatus(status)) return bad(`status is ${describe(status)}, not one of ${JOB_STATUSES.join(', ')}`);
  state.status = status;
  for (const k of TIMESTAMP_KEYS) {
    const v = data[k];
    if (v === undefined || v === null) continue;
    const norm = normalizePyDatetime(v);
    if (norm === undefined) return bad(`${k} is ${describe(v)}, not a datetime`);
    state[k] = norm;
  }
  for (const k of STRING_KEYS) {
    const v = optStr(data[k]);
    if (v === undefined) return bad(`${k} is ${describe(data[k])}, not a string`);
    state[k] = v;
  }
  if (data.return_code !== undefined && data.return_code !== null) {
    const rc = laxInt(data.return_code);
    if (rc === undefined) return bad(`return_code is ${describe(data.return_code)}, not an integer`);
    state.return_code = rc;
  }
  const known = new Set<string>(STATE_KEYS);
  const extra = Object.keys(data).filter((k) => !known.has(k));
  const notes = extra.length > 0 ? [`state.yaml: unknown keys ignored (dropped on the next write, as syft-job does): ${extra.join(', ')}`] : [];
  return { ok: true, value: state, notes };
}

/**
 * The exact bytes syft-job writes for this state. Throws TypeError for a state no Python code could hold (unknown
 * status, timestamp pydantic would reject, non-integer return code): that is a bug in the caller, not bad input.
 */
export function emitState(state: JobState): string {
  if (!isJobStatus(state.status)) throw new TypeError(`emitState: unknown status ${String(state.status)}`);
  const out: Record<string, string | number | null> = {};
  for (const k of STATE_KEYS) {
    const v = state[k];
    if (v === null || v === undefined) {
      out[k] = null;
    } else if ((TIMESTAMP_KEYS as readonly string[]).includes(k)) {
      const norm = normalizePyDatetime(v);
      if (norm === undefined) throw new TypeError(`emitState: ${k} is not a datetime: ${String(v)}`);
      out[k] = norm;
    } else if (k === 'return_code') {
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new TypeError(`emitState: return_code is not an integer: ${String(v)}`);
      out[k] = v;
    } else {
      if (typeof v !== 'string') throw new TypeError(`emitState: ${k} is not a string`);
      out[k] = v;
    }
  }
  return pyYamlDump(out);
}
