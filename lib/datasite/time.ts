/**
 * Timestamps as syft-job writes them: pydantic 2 serialises a `datetime` field (`model_dump(mode="json")`) as
 * `YYYY-MM-DDTHH:MM:SS[.ffffff](Z|±HH:MM)`: six fraction digits, omitted when the microsecond is 0; a zero
 * offset is `Z`; a naive datetime has no suffix. syft-job always uses `datetime.now(timezone.utc)`.
 *
 * `normalizePyDatetime` reproduces what pydantic does to a value it reads back (so a TypeScript transition
 * rewrites every timestamp exactly as a Python load + dump would). It covers ISO strings, PyYAML timestamps and
 * integer Unix times; pydantic accepts a few more exotic inputs (floats as Unix times, `1e5`-style strings), which
 * come back as `undefined` here and make the file invalid for us (never silently rewritten).
 */

import { PyTimestamp, validDate } from './pyyaml';

/** Microseconds since the Unix epoch (a safe integer until year 2255). */
export type EpochMicros = number;

/** Injected clock: the current time in microseconds since the epoch. */
export type Clock = () => EpochMicros;

/** Wall clock with sub-millisecond digits (performance.timeOrigin + performance.now()). */
export const systemClock: Clock = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

/** A clock frozen at an ISO instant (tests), e.g. `clockAt('2026-11-25T18:46:23.752433Z')`. */
export function clockAt(iso: string): Clock {
  const micros = parseUtcIsoMicros(iso);
  if (micros === undefined) throw new RangeError(`clockAt: not an ISO UTC instant: ${iso}`);
  return () => micros;
}

/** A clock that advances by `stepMicros` on every call, starting at `iso` (tests). */
export function steppingClock(iso: string, stepMicros: number): Clock {
  const start = parseUtcIsoMicros(iso);
  if (start === undefined) throw new RangeError(`steppingClock: not an ISO UTC instant: ${iso}`);
  let n = 0;
  return () => start + stepMicros * n++;
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

function formatParts(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  microsecond: number,
  offsetMinutes: number | undefined,
): string {
  let s = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}`;
  if (microsecond !== 0) s += '.' + pad(microsecond, 6);
  if (offsetMinutes === undefined) return s;
  if (offsetMinutes === 0) return s + 'Z';
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${s}${sign}${pad(Math.floor(abs / 60), 2)}:${pad(abs % 60, 2)}`;
}

/** `datetime.fromtimestamp(micros / 1e6, timezone.utc)` serialised by pydantic, e.g. `2026-11-25T18:46:23.656253Z`. */
export function formatPyTimestamp(micros: EpochMicros): string {
  if (!Number.isSafeInteger(micros)) throw new RangeError(`formatPyTimestamp: not an integer: ${micros}`);
  const ms = Math.floor(micros / 1000);
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) throw new RangeError(`formatPyTimestamp: out of range: ${micros}`);
  const us = micros - ms * 1000 + d.getUTCMilliseconds() * 1000;
  return formatParts(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), us, 0);
}

const ISO =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]+))?)?([Zz]|[+-][0-9]{2}:?[0-9]{2})?)?$/;

/**
 * What pydantic 2 writes for a `datetime` field that was read from this value, or undefined when pydantic would
 * reject it (or we do not reproduce its parser for that input). Strings: ISO 8601 date or date-time (`T`, `t` or
 * space; seconds optional; `.` or `,` fraction truncated to 6 digits; `Z`, `±HH:MM` or `±HHMM`). PyTimestamp: as
 * PyYAML built the datetime. Integers: Unix seconds (milliseconds above 2e10, as pydantic).
 */
export function normalizePyDatetime(value: unknown): string | undefined {
  if (value instanceof PyTimestamp) {
    const t = value.time;
    if (t === undefined) return formatParts(value.year, value.month, value.day, 0, 0, 0, 0, undefined);
    return formatParts(value.year, value.month, value.day, t.hour, t.minute, t.second, t.microsecond, t.offsetMinutes);
  }
  if (typeof value === 'number' || typeof value === 'bigint') {
    if (typeof value === 'number' && !Number.isInteger(value)) return undefined;
    const n = Number(value);
    if (!Number.isSafeInteger(n)) return undefined;
    const d = new Date(Math.abs(n) > 2e10 ? n : n * 1000);
    if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1 || d.getUTCFullYear() > 9999) return undefined;
    return formatParts(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds() * 1000, 0);
  }
  if (typeof value !== 'string') return undefined;
  const m = ISO.exec(value);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (!validDate(year, month, day)) return undefined;
  if (m[4] === undefined) return formatParts(year, month, day, 0, 0, 0, 0, undefined);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  if (m[6] === undefined && m[7] !== undefined) return undefined;
  const microsecond = m[7] === undefined ? 0 : Number(m[7].slice(0, 6).padEnd(6, '0'));
  let offset: number | undefined;
  const tz = m[8];
  if (tz === 'Z' || tz === 'z') offset = 0;
  else if (tz !== undefined) {
    const digits = tz.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2, 4));
    if (oh > 23 || om > 59) return undefined;
    offset = (tz[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  return formatParts(year, month, day, hour, minute, second, microsecond, offset);
}

/** Microseconds since the epoch of a `…Z` (or `±HH:MM`) instant; undefined for naive or invalid values. */
export function parseUtcIsoMicros(iso: string): EpochMicros | undefined {
  const norm = normalizePyDatetime(iso);
  if (norm === undefined) return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{6}))?(Z|([+-])(\d{2}):(\d{2}))$/.exec(norm);
  if (!m) return undefined;
  const d = new Date(0);
  d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  d.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]), 0);
  const ms = d.getTime();
  const base = ms * 1000 + (m[7] ? Number(m[7]) : 0);
  if (m[8] === 'Z') return base;
  const off = (Number(m[10]) * 60 + Number(m[11])) * 60_000_000;
  return m[9] === '-' ? base + off : base - off;
}
