/**
 * Version compatibility between us and a peer (protocol reference §2.7), pure.
 *
 * - `compatibilityStatus`: `CompatibilityStatus` of `version_info.py:22-66` — only `syft_client_version` is compared.
 * - `peerVersionVerdict`: `PeerManager.get_peer_compatibility_status` (`peer_manager.py:281-365`), the table of §2.7,
 *   with `skip_peer_on_patch_version_diff = null` resolved by role (a DO skips patch differences).
 * - `folderVersionCompatible`: the rule the Python folder lookups apply to the version embedded in folder names
 *   (same major.minor, `gdrive_transport.py:210-246`).
 */
import { SYFT_CLIENT_VERSION } from './version';

export type CompatibilityStatus = 'same' | 'patch_diff' | 'incompatible' | 'unknown';

export interface ParsedVersion {
  major: number;
  minor: number;
  patch: number;
}

/** `X.Y.Z` with an optional pre-release/build suffix (`0.1.117`, `0.1.118rc1`, `0.1.118.dev0`); else undefined. */
export function parseVersion(v: string): ParsedVersion | undefined {
  const m = /^v?(\d{1,9})\.(\d{1,9})\.(\d{1,9})(?:[.+\-]?[0-9A-Za-z][0-9A-Za-z.+\-]*)?$/.exec(v.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

/** `ours` vs the peer's `syft_client_version` (`undefined`/`null`: the peer's version file could not be read). */
export function compatibilityStatus(theirs: string | null | undefined, ours: string = SYFT_CLIENT_VERSION): CompatibilityStatus {
  if (theirs === undefined || theirs === null) return 'unknown';
  if (theirs === ours) return 'same';
  const a = parseVersion(ours);
  const b = parseVersion(theirs);
  if (!a || !b) return 'incompatible';
  return a.major === b.major && a.minor === b.minor ? 'patch_diff' : 'incompatible';
}

/** Same major.minor as ours: the version embedded in a folder name that Python lookups accept. */
export function folderVersionCompatible(folderVersion: string, ours: string = SYFT_CLIENT_VERSION): boolean {
  const a = parseVersion(ours);
  const b = parseVersion(folderVersion);
  return !!a && !!b && a.major === b.major && a.minor === b.minor;
}

export interface VersionPolicy {
  /** `skip_peer_on_patch_version_diff`; null/undefined = decided by role (true for a data owner). */
  skipPeerOnPatchVersionDiff?: boolean | null;
  /** `force_ignore_peer_version` (config) or the per-call `ignore_peer_version`. */
  forceIgnorePeerVersion?: boolean;
  /** Default true: syft-bg always runs as a data owner. */
  hasDoRole?: boolean;
}

export interface VersionVerdict {
  status: CompatibilityStatus;
  proceed: boolean;
  /** Why, in words (for logs and the audit record). */
  reason: string;
}

/** The §2.7 table. */
export function peerVersionVerdict(theirs: string | null | undefined, policy: VersionPolicy = {}, ours: string = SYFT_CLIENT_VERSION): VersionVerdict {
  const status = compatibilityStatus(theirs, ours);
  const skipPatch = policy.skipPeerOnPatchVersionDiff ?? policy.hasDoRole ?? true;
  const force = policy.forceIgnorePeerVersion === true;
  const shown = theirs ?? 'unknown';
  switch (status) {
    case 'same':
      return { status, proceed: true, reason: `same version ${ours}` };
    case 'patch_diff':
      if (!skipPatch) return { status, proceed: true, reason: `version ${shown} differs from ours (${ours}) by patch only` };
      if (force) return { status, proceed: true, reason: `version ${shown} differs from ours (${ours}) by patch; force_ignore_peer_version is on` };
      return {
        status,
        proceed: false,
        reason: `version ${shown} differs from ours (${ours}) by patch and skip_peer_on_patch_version_diff is on (the data-owner default); set force_ignore_peer_version: true or skip_peer_on_patch_version_diff: false to accept it`,
      };
    case 'incompatible':
    case 'unknown': {
      const what = status === 'unknown' ? 'version unknown (no readable SYFT_version.json shared with us)' : `version ${shown} is incompatible with ours (${ours}; major.minor must match)`;
      return force ? { status, proceed: true, reason: `${what}; force_ignore_peer_version is on` } : { status, proceed: false, reason: what };
    }
  }
}
