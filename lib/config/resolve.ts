import * as path from 'node:path';
import { expandTilde, userHomeOf } from '../home';
import type { AutoApprovalObjectFile, ConfigFile } from './schema';
import type { AutoApprovalObject, EmailTransport, SyftBgConfig, SyftboxTransport, TransportsConfig } from './types';

/** What resolution needs from outside the text: the user's home (for `~`) and, for derived transports, the filesystem. */
export interface ResolveEnv {
  userHome: string;
  /** Whether a token file exists. Pure callers pass `() => false` (or a fake). */
  exists: (p: string) => boolean;
}

export function defaultUserHome(): string {
  return userHomeOf(process.env);
}

/** `~/SyftBox_<email>`, as the Python validator (§4.2). */
export function defaultSyftboxRoot(email: string, userHome: string): string {
  return path.join(userHome, `SyftBox_${email}`);
}

/** The path defaults of §4.2 for a home directory. */
export function defaultPaths(homeDir: string) {
  return {
    credentials_path: path.join(homeDir, 'credentials.json'),
    token_path: path.join(homeDir, 'token.json'),
    notify_state_path: path.join(homeDir, 'notify', 'state.json'),
    sync_state_path: path.join(homeDir, 'sync', 'state.json'),
    approve_state_path: path.join(homeDir, 'approve', 'state.json'),
    email_approve_state_path: path.join(homeDir, 'email_approve', 'state.json'),
    maildir_path: path.join(homeDir, 'mail'),
    auto_approvals_dir: path.join(homeDir, 'auto_approvals'),
  };
}

export interface TransportSettings {
  email?: EmailTransport | null;
  syftbox?: SyftboxTransport | null;
  maildir_path?: string | null;
}

/**
 * Whether this build syncs the datasite with Google Drive itself: it does (the approve service's Drive side), so a
 * Google token makes the SyftBox transport `drive` in `init` and when deriving it. Without a token the services
 * work on the local datasite, kept in sync by some other SyftBox syncer (e.g. the Python syft-bg sync service).
 */
export const DRIVE_SYNC_AVAILABLE = true;

/** The SyftBox transport a Google token implies in this build. */
export function syftboxTransportWithToken(hasDriveToken: boolean): SyftboxTransport {
  return hasDriveToken && DRIVE_SYNC_AVAILABLE ? 'drive' : 'local';
}

/**
 * `transports` as configured, or derived when absent (a Python-written file): e-mail goes through Gmail when the
 * Gmail token exists, else to a maildir; SyftBox goes through Drive when the Drive token exists (and this build
 * syncs with Drive, see DRIVE_SYNC_AVAILABLE), else local.
 */
export function resolveTransports(
  t: TransportSettings,
  tokens: { gmail: string; drive: string },
  homeDir: string,
  env: ResolveEnv,
): TransportsConfig {
  const email: EmailTransport = t.email ?? (env.exists(tokens.gmail) ? 'gmail' : 'maildir');
  const syftbox: SyftboxTransport = t.syftbox ?? syftboxTransportWithToken(env.exists(tokens.drive));
  return {
    email,
    syftbox,
    maildir_path: expandTilde(t.maildir_path ?? defaultPaths(homeDir).maildir_path, env.userHome),
    origin: { email: t.email ? 'configured' : 'derived', syftbox: t.syftbox ? 'configured' : 'derived' },
  };
}

/** Re-derive the transports that were derived (token files may have appeared or gone since the config was resolved). */
export function refreshDerivedTransports(config: SyftBgConfig, exists: (p: string) => boolean): SyftBgConfig {
  const t = config.transports;
  if (t.origin.email === 'configured' && t.origin.syftbox === 'configured') return config;
  const email: EmailTransport = t.origin.email === 'configured' ? t.email : exists(config.gmail_token_path) ? 'gmail' : 'maildir';
  const syftbox: SyftboxTransport = t.origin.syftbox === 'configured' ? t.syftbox : syftboxTransportWithToken(exists(config.drive_token_path));
  return { ...config, transports: { ...t, email, syftbox } };
}

function resolveObject(o: AutoApprovalObjectFile, userHome: string): AutoApprovalObject {
  return {
    file_contents: o.file_contents.map((e) => ({ relative_path: e.relative_path, path: expandTilde(e.path, userHome), hash: e.hash })),
    file_paths: [...o.file_paths],
    peers: [...o.peers],
  };
}

/**
 * Defaults (§4.2) and merge rules (§4.5): service `do_email`/`syftbox_root` take the top-level value only when null;
 * the top-level token paths always win. `~` is expanded in every path (the Python syft-bg does not for `syftbox_root`).
 */
export function resolveConfig(file: ConfigFile, homeDir: string, env: ResolveEnv): SyftBgConfig {
  const d = defaultPaths(homeDir);
  const p = (v: string | null | undefined, dflt: string) => expandTilde(v ?? dflt, env.userHome);
  const root = (v: string | null | undefined) => (v === null || v === undefined || v === '' ? null : expandTilde(v, env.userHome));

  const do_email = file.do_email;
  const syftbox_root = root(file.syftbox_root) ?? (do_email ? defaultSyftboxRoot(do_email, env.userHome) : null);
  const gmail_token_path = p(file.gmail_token_path, d.token_path);
  const drive_token_path = p(file.drive_token_path, d.token_path);
  const common = (s: { do_email: string | null; syftbox_root: string | null }) => ({
    do_email: s.do_email ?? do_email,
    syftbox_root: root(s.syftbox_root) ?? syftbox_root,
  });

  const { notify, approve, email_approve, sync } = file;
  const objects: Record<string, AutoApprovalObject> = {};
  for (const [name, o] of Object.entries(approve.auto_approvals.objects)) objects[name] = resolveObject(o, env.userHome);

  return {
    do_email,
    syftbox_root,
    credentials_path: p(file.credentials_path, d.credentials_path),
    gmail_token_path,
    drive_token_path,
    transports: resolveTransports(file.transports, { gmail: gmail_token_path, drive: drive_token_path }, homeDir, env),
    notify: {
      ...common(notify),
      drive_token_path,
      gmail_token_path,
      credentials_path: p(notify.credentials_path, d.credentials_path),
      notify_state_path: p(notify.notify_state_path, d.notify_state_path),
      sync_state_path: p(notify.sync_state_path, d.sync_state_path),
      interval: notify.interval,
      monitor_jobs: notify.monitor_jobs,
      monitor_peers: notify.monitor_peers,
      heartbeat_enabled: notify.heartbeat_enabled,
      heartbeat_interval: notify.heartbeat_interval,
    },
    approve: {
      ...common(approve),
      drive_token_path,
      gmail_token_path,
      approve_state_path: p(approve.approve_state_path, d.approve_state_path),
      notify_state_path: p(approve.notify_state_path, d.notify_state_path),
      interval: approve.interval,
      auto_approvals: { enabled: approve.auto_approvals.enabled, objects },
      peers: {
        enabled: approve.peers.enabled,
        approved_domains: [...approve.peers.approved_domains],
        auto_share_datasets: [...approve.peers.auto_share_datasets],
      },
      skip_peer_on_patch_version_diff: approve.skip_peer_on_patch_version_diff,
      force_ignore_peer_version: approve.force_ignore_peer_version,
      job_timeout: approve.job_timeout,
      run_approved_jobs: approve.run_approved_jobs,
      max_concurrent_jobs: approve.max_concurrent_jobs,
    },
    email_approve: {
      ...common(email_approve),
      gmail_token_path,
      gcp_project_id: email_approve.gcp_project_id,
      pubsub_topic: email_approve.pubsub_topic,
      pubsub_subscription: email_approve.pubsub_subscription,
      email_approve_state_path: p(email_approve.email_approve_state_path, d.email_approve_state_path),
      notify_state_path: p(email_approve.notify_state_path, d.notify_state_path),
    },
    sync: {
      interval: sync.interval,
      max_retries: sync.max_retries,
      retry_backoff: sync.retry_backoff,
      ...common(sync),
      drive_token_path,
      sync_state_path: p(sync.sync_state_path, d.sync_state_path),
      skip_peer_on_patch_version_diff: sync.skip_peer_on_patch_version_diff,
      force_ignore_peer_version: sync.force_ignore_peer_version,
    },
  };
}
