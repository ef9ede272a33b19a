/** Shared first step of the three YAML codecs: text -> PyYAML value, or a typed problem. */

import { problem, type Problem } from './problems';
import { PyTimestamp, PyYamlError, pyYamlLoad, type PyLoaded } from './pyyaml';

export type LoadedYaml = { ok: true; data: PyLoaded } | { ok: false; problem: Problem };

/**
 * Every Python writer ends its YAML with a newline, and writes in place (non-atomically). So: an empty file, or
 * one that fails to parse and does not end with a newline or fails at the very end (an unterminated quote or
 * collection), is a file being written (`incomplete`); any other parse failure is `malformed`.
 */
export function loadYamlText(text: string, what: string): LoadedYaml {
  if (text.trim() === '') return { ok: false, problem: problem('incomplete', `${what} is empty (still being written?)`) };
  try {
    return { ok: true, data: pyYamlLoad(text) };
  } catch (e) {
    if (!(e instanceof PyYamlError)) throw e;
    if (!text.endsWith('\n') || e.atEnd) {
      return { ok: false, problem: problem('incomplete', `${what} ends mid-line and does not parse (still being written?): ${e.message}`) };
    }
    return { ok: false, problem: problem('malformed', `${what} is not valid YAML: ${e.message}`) };
  }
}

export function isMapping(v: PyLoaded): v is { [key: string]: PyLoaded } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof PyTimestamp);
}

/** A short, safe rendering of a loaded value for messages. */
export function describe(v: PyLoaded | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (v instanceof PyTimestamp) return `timestamp ${v.text}`;
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'bigint') return `integer ${v}`;
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 60 ? v.slice(0, 57) + '...' : v)}`;
  return `${typeof v} ${String(v)}`;
}

/** pydantic 2 `Optional[str]`: str or None; no coercion from numbers, booleans or datetimes. */
export function optStr(v: PyLoaded | undefined): string | null | undefined {
  if (v === undefined || v === null) return null;
  return typeof v === 'string' ? v : undefined;
}

/**
 * pydantic 2 (lax) `int`: int; bool (True -> 1); float with no fraction; str of decimal digits with optional sign,
 * surrounding whitespace and single underscores between digits. Only safe integers are kept.
 */
export function laxInt(v: PyLoaded | undefined): number | undefined {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined;
  if (typeof v === 'bigint') return undefined;
  if (typeof v === 'string') {
    const m = /^\s*([+-]?)([0-9]+(?:_[0-9]+)*)\s*$/.exec(v);
    if (!m) return undefined;
    const n = Number((m[1] === '-' ? '-' : '') + (m[2] as string).replace(/_/g, ''));
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}

/** pydantic 2 (lax) `bool`: bool, 0/1, and the strings it accepts. */
export function laxBool(v: PyLoaded | undefined): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === 0 || v === 1) return v === 1;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (['1', 'on', 't', 'true', 'y', 'yes'].includes(s)) return true;
    if (['0', 'off', 'f', 'false', 'n', 'no'].includes(s)) return false;
  }
  return undefined;
}
