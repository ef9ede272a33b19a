/**
 * The syft-client version syft-bg speaks and announces (protocol reference §2.7). It is embedded in the names of
 * the Drive folders we create (`syft_datasite#<v>#…`, `<v>#<me>`, `<me>-<v>-checkpoints`, `<me>-<v>-rolling-state`),
 * and Python 0.1.x clients only find folders whose version has the same major.minor, so it must stay `0.1.N`.
 */
import { formatPyTimestamp, type Clock } from '../datasite/time';

export const SYFT_CLIENT_VERSION = '0.1.117';
/** `min_supported_syft_client_version` announced in `SYFT_version.json`. */
export const MIN_SUPPORTED_SYFT_CLIENT_VERSION = '0.1.93';
export const PROTOCOL_VERSION = '1.0.0';
export const MIN_SUPPORTED_PROTOCOL_VERSION = '1.0.0';
/** `syft_client_install_source` announced in `SYFT_version.json` (and the default dependency allow-list). */
export const SYFT_CLIENT_INSTALL_SOURCE = `syft-client==${SYFT_CLIENT_VERSION}`;

/** Name of the version file in `/SyftBox` (remote) and in the local SyftBox root. */
export const VERSION_FILE_NAME = 'SYFT_version.json';
/** A peer's version file is a few hundred bytes; anything larger than this is not read (hostile peer). */
export const MAX_VERSION_FILE_BYTES = 64 * 1024;

/** syft-client's `VersionInfo` (`version_info.py:39-130`), fields in declaration order. */
export interface VersionInfo {
  syft_client_version: string;
  min_supported_syft_client_version: string;
  protocol_version: string;
  min_supported_protocol_version: string;
  syft_client_install_source: string;
  /** pydantic datetime, e.g. `2026-11-25T18:42:29.704218Z`. */
  updated_at: string;
  attestation_token: string | null;
}

const FIELDS = [
  'syft_client_version',
  'min_supported_syft_client_version',
  'protocol_version',
  'min_supported_protocol_version',
  'syft_client_install_source',
  'updated_at',
  'attestation_token',
] as const;

/** `VersionInfo.current()`: what we announce, stamped with the clock. */
export function currentVersionInfo(clock: Clock): VersionInfo {
  return {
    syft_client_version: SYFT_CLIENT_VERSION,
    min_supported_syft_client_version: MIN_SUPPORTED_SYFT_CLIENT_VERSION,
    protocol_version: PROTOCOL_VERSION,
    min_supported_protocol_version: MIN_SUPPORTED_PROTOCOL_VERSION,
    syft_client_install_source: SYFT_CLIENT_INSTALL_SOURCE,
    updated_at: formatPyTimestamp(clock()),
    attestation_token: null,
  };
}

/**
 * pydantic's `model_dump_json(indent=2)`: fields in declaration order, two-space indent, `": "` and `",\n"`
 * separators, no trailing newline, non-ASCII characters written as UTF-8 (pydantic does not escape them).
 */
export function encodeVersionInfo(v: VersionInfo): string {
  const ordered: Record<string, string | null> = {};
  for (const k of FIELDS) ordered[k] = v[k];
  return JSON.stringify(ordered, null, 2);
}

export type DecodedVersion = { ok: true; value: VersionInfo } | { ok: false; error: string };

/**
 * Parse a (possibly hostile) `SYFT_version.json`. Only `syft_client_version` is required, because it is the only
 * field syft-client compares (§2.7); missing optional fields read as empty strings / null.
 */
export function decodeVersionInfo(text: string | Buffer, what = VERSION_FILE_NAME): DecodedVersion {
  const s = typeof text === 'string' ? text : text.toString('utf8');
  if (s.length > MAX_VERSION_FILE_BYTES) return { ok: false, error: `${what}: larger than ${MAX_VERSION_FILE_BYTES} bytes` };
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch (e) {
    return { ok: false, error: `${what}: not JSON (${(e as Error).message})` };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, error: `${what}: expected a JSON object` };
  const o = v as Record<string, unknown>;
  if (typeof o.syft_client_version !== 'string' || o.syft_client_version === '') {
    return { ok: false, error: `${what}: syft_client_version: expected a non-empty string, found ${JSON.stringify(o.syft_client_version) ?? 'nothing'}` };
  }
  const str = (k: (typeof FIELDS)[number]): string => (typeof o[k] === 'string' ? (o[k] as string) : '');
  return {
    ok: true,
    value: {
      syft_client_version: o.syft_client_version,
      min_supported_syft_client_version: str('min_supported_syft_client_version'),
      protocol_version: str('protocol_version'),
      min_supported_protocol_version: str('min_supported_protocol_version'),
      syft_client_install_source: str('syft_client_install_source'),
      updated_at: str('updated_at'),
      attestation_token: typeof o.attestation_token === 'string' ? o.attestation_token : null,
    },
  };
}
