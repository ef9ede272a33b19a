/**
 * Building the approve service's Drive side (transports.syftbox: drive) from the configuration: the Drive client
 * from `drive_token_path`, a start-up check of the token, the peer pass, the owner sync and the {@link DriveSide}
 * loop. See drive-side.ts for what a Drive cycle does.
 *
 * Settings (config.yaml):
 * - `sync.interval` (s, default 10): period of a Drive cycle;
 * - `approve.skip_peer_on_patch_version_diff`, `approve.force_ignore_peer_version` (and their `sync.*` twins, which
 *   the Python sync service used): which approved peers are synced (§2.7);
 * - `sync.request_timeout` (s, default 60; Node syft-bg only): time one Drive request may take before it is
 *   retried (a download or upload chunk is one request);
 * - `sync.peer_check_interval` (s, default 300), `sync.compat_check_interval` (s, default 1800),
 *   `sync.inbox_rescan_interval` (s, default 900) (Node syft-bg only): periods of the safety checks that idle
 *   cycles carry one Drive call at a time (drive-side.ts, lib/sync/safety.ts); benchmarks scale them down.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from 'pino';
import type { LoadedConfig } from '../../lib/config/load';
import { UserError, EXIT, isUserError } from '../../lib/errors';
import type { DriveApi } from '../../lib/google/drive';
import type { VersionPolicy } from '../../lib/peers/compat';
import type { PeerPassDeps } from '../../lib/peers/peer-pass';
import { authFailureMessage, isAuthFailure, watchAuth } from './drive-auth';
import { DriveSide, throttledLogger, type DriveCycleInfo } from './drive-side';

export interface DriveSetup {
  side: DriveSide;
  /** Resolves when the loop has ended (after the signal aborted, or a refused token). */
  done: Promise<void>;
  startInfo: Record<string, unknown>;
  close(): Promise<void>;
}

export interface DriveSetupInput {
  loaded: LoadedConfig;
  me: string;
  root: string;
  homeDir: string;
  logger: Logger;
  signal: AbortSignal;
  audit: PeerPassDeps['audit'];
  state: PeerPassDeps['state'];
  objects: PeerPassDeps['objects'];
  /** A refused token while running (the service exits through its fatal path). */
  onFatal(message: string): void;
  onCycle?(info: DriveCycleInfo): void;
  /** Every Drive HTTP attempt (metrics). */
  onDriveCall?(route: string): void;
  env?: NodeJS.ProcessEnv;
}

/** `sync.request_timeout` in ms (lenient: anything but a positive number of seconds is the default). */
export function requestTimeoutMs(raw: Record<string, unknown>): number {
  const sync = raw.sync;
  const v = sync && typeof sync === 'object' ? (sync as Record<string, unknown>).request_timeout : undefined;
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.round(v * 1000) : 60_000;
}

/** The safety-check periods in ms (lenient: anything but a positive number of seconds is the default). */
export function safetyPeriodsMs(raw: Record<string, unknown>): { peerMs: number; compatMs: number; rescanMs: number } {
  const sync = raw.sync && typeof raw.sync === 'object' ? (raw.sync as Record<string, unknown>) : {};
  const secs = (key: string, dflt: number) => {
    const v = sync[key];
    return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.round(v * 1000) : dflt;
  };
  return { peerMs: secs('peer_check_interval', 5 * 60_000), compatMs: secs('compat_check_interval', 30 * 60_000), rescanMs: secs('inbox_rescan_interval', 15 * 60_000) };
}

/** The §2.7 policy of the synced peers: the approve settings, falling back on the sync ones. */
export function versionPolicyOf(c: LoadedConfig['config']): VersionPolicy {
  return {
    skipPeerOnPatchVersionDiff: c.approve.skip_peer_on_patch_version_diff ?? c.sync.skip_peer_on_patch_version_diff ?? null,
    forceIgnorePeerVersion: c.approve.force_ignore_peer_version === true || c.sync.force_ignore_peer_version === true,
    hasDoRole: true,
  };
}

export async function setupDrive(i: DriveSetupInput): Promise<DriveSetup> {
  const c = i.loaded.config;
  const tokenPath = c.drive_token_path;
  const { loadAuth } = await import('../../lib/google/auth');
  const { SERVICE_SCOPES } = await import('../../lib/google/scopes');
  const { createDriveApi } = await import('../../lib/google/drive');
  const { PeerPass } = await import('../../lib/peers/peer-pass');
  const { createOwnerSync, SafetyRota } = await import('../../lib/sync');

  const tokenProblem = (msg: string) =>
    new UserError(`${i.loaded.path}: transports.syftbox is 'drive', but the Drive token ${tokenPath} cannot be used: ${msg}`, EXIT.config);
  let auth;
  try {
    auth = loadAuth(tokenPath, { scopes: SERVICE_SCOPES.approve, log: i.logger, ...(i.env ? { env: i.env } : {}) });
  } catch (e) {
    throw tokenProblem((e as Error).message);
  }
  const env = i.env ?? process.env;
  const timeout = requestTimeoutMs(i.loaded.raw);

  // Start-up check (one about.get): a refused token or another account is a configuration error; an unreachable
  // Drive is not (the loop keeps trying). Bounded well below the CLI's wait for the service to be ready
  // (READY_TIMEOUT_MS in lib/control.ts, 10 s): a slow network must not make `syft-bg start` report a failure.
  const probe = createDriveApi(auth.client, { env, retry: { maxAttempts: 2, attemptTimeoutMs: Math.min(timeout, 3_000), deadlineMs: 6_000 }, ...(i.onDriveCall ? { onCall: i.onDriveCall } : {}) });
  try {
    // Hard limit too: a token refresh that hangs is not bounded by the attempt timeout.
    const { within } = await import('../../lib/google/within');
    const who = await within(probe.whoami(), 6_500);
    if (who.toLowerCase() !== i.me.toLowerCase()) {
      throw new UserError(`${i.loaded.path}: the Drive token ${tokenPath} belongs to ${who}, but do_email is ${i.me}. Sign in as ${i.me}: move ${tokenPath} away and run 'syft-bg init -e ${i.me}' (or pass ${i.me}'s token with 'syft-bg init -e ${i.me} -t TOKEN').`, EXIT.config);
    }
  } catch (e) {
    if (isUserError(e) && e.exitCode === EXIT.config) throw e;
    if (isAuthFailure(e)) throw new UserError(authFailureMessage(e, tokenPath), EXIT.config);
    i.logger.warn({ error: (e as Error).message }, `Google Drive is not reachable at start (${(e as Error).message}); trying again every ${c.sync.interval} s`);
  }

  // The datasite's job folders (init leaves the datasite to the first sync on the Drive transport). They exist from
  // the start so the engine watches them: a job pulled from Drive then wakes it at once.
  for (const sub of ['inbox', 'review']) fs.mkdirSync(path.join(i.root, i.me, 'app_data', 'job', sub), { recursive: true });

  let side: DriveSide | undefined;
  let early: unknown;
  const drive: DriveApi = watchAuth(createDriveApi(auth.client, { env, retry: { attemptTimeoutMs: timeout }, ...(i.onDriveCall ? { onCall: i.onDriveCall } : {}) }), (e) => (side ? side.authFailure(e) : (early ??= e)));
  const log = throttledLogger(i.logger);
  const peers = new PeerPass({ drive, me: i.me, root: i.root, config: () => c.approve, ...(i.objects ? { objects: i.objects } : {}), audit: i.audit, state: i.state, logger: log });
  const periods = safetyPeriodsMs(i.loaded.raw);
  const rota = new SafetyRota();
  const ownerSync = createOwnerSync({ drive, me: i.me, root: i.root, homeDir: i.homeDir, log, rota, options: { fullRescanMs: periods.rescanMs } });
  side = new DriveSide({
    drive,
    me: i.me,
    peers,
    sync: ownerSync,
    policy: versionPolicyOf(c),
    intervalMs: c.sync.interval * 1000,
    peerFallbackMs: periods.peerMs,
    compatFallbackMs: periods.compatMs,
    rota,
    logger: log,
    signal: i.signal,
    onFatal: (e) => i.onFatal(authFailureMessage(e, tokenPath)),
    ...(i.onCycle ? { onCycle: i.onCycle } : {}),
  });
  if (early !== undefined) side.authFailure(early);
  const done = side.run();
  return {
    side,
    done,
    startInfo: {
      drive_token: tokenPath,
      sync_interval_s: c.sync.interval,
      drive_request_timeout_s: timeout / 1000,
      safety_checks_s: { peer_requests: periods.peerMs / 1000, peer_compat: periods.compatMs / 1000, inbox_rescan: periods.rescanMs / 1000 },
    },
    async close() {
      await done;
      await ownerSync.close();
      await auth.flush();
    },
  };
}
