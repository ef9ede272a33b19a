import type { HomeLayout } from '../home';

/**
 * The resolved configuration: every default applied, the top-level values merged into the services
 * (reference §4.5), `~` expanded in paths, and the transports decided. Keys stay snake_case as in config.yaml.
 */
export interface SyftBgConfig {
  do_email: string | null;
  syftbox_root: string | null;
  credentials_path: string;
  gmail_token_path: string;
  drive_token_path: string;
  transports: TransportsConfig;
  notify: NotifyConfig;
  approve: ApproveConfig;
  email_approve: EmailApproveConfig;
  sync: SyncConfig;
}

export type EmailTransport = 'gmail' | 'maildir';
export type SyftboxTransport = 'drive' | 'local';
/** `configured`: written in config.yaml; `derived`: absent (e.g. a Python-written file), decided from the token files. */
export type TransportOrigin = 'configured' | 'derived';

export interface TransportsConfig {
  email: EmailTransport;
  syftbox: SyftboxTransport;
  maildir_path: string;
  origin: { email: TransportOrigin; syftbox: TransportOrigin };
}

export interface NotifyConfig {
  do_email: string | null;
  syftbox_root: string | null;
  drive_token_path: string;
  gmail_token_path: string;
  credentials_path: string;
  notify_state_path: string;
  sync_state_path: string;
  interval: number;
  monitor_jobs: boolean;
  monitor_peers: boolean;
  heartbeat_enabled: boolean;
  heartbeat_interval: number;
}

/** One stored file of an auto-approval object, matched by relative path, hash and stored-copy content (§5.1). */
export interface FileEntry {
  relative_path: string;
  /** Absolute path of the stored copy (`~` expanded). */
  path: string;
  hash: string;
}

export interface AutoApprovalObject {
  file_contents: FileEntry[];
  /** Matched by relative path only. */
  file_paths: string[];
  /** Empty = any peer. */
  peers: string[];
}

export interface AutoApprovalsConfig {
  enabled: boolean;
  /** In YAML order (note: JS puts integer-like names first). */
  objects: Record<string, AutoApprovalObject>;
}

export interface PeerApprovalConfig {
  enabled: boolean;
  approved_domains: string[];
  auto_share_datasets: string[];
}

export interface ApproveConfig {
  do_email: string | null;
  syftbox_root: string | null;
  drive_token_path: string;
  gmail_token_path: string;
  approve_state_path: string;
  notify_state_path: string;
  interval: number;
  auto_approvals: AutoApprovalsConfig;
  peers: PeerApprovalConfig;
  skip_peer_on_patch_version_diff: boolean | null;
  force_ignore_peer_version: boolean;
  /** Seconds an approved job may run (Node syft-bg only). */
  job_timeout: number;
  /** Run jobs after approving them (Node syft-bg only). */
  run_approved_jobs: boolean;
  /** Jobs run at the same time (Node syft-bg only). */
  max_concurrent_jobs: number;
}

export interface EmailApproveConfig {
  do_email: string | null;
  syftbox_root: string | null;
  gmail_token_path: string;
  gcp_project_id: string | null;
  pubsub_topic: string | null;
  pubsub_subscription: string | null;
  email_approve_state_path: string;
  notify_state_path: string;
}

export interface SyncConfig {
  interval: number;
  max_retries: number;
  retry_backoff: number;
  do_email: string | null;
  syftbox_root: string | null;
  drive_token_path: string;
  sync_state_path: string;
  skip_peer_on_patch_version_diff: boolean | null;
  force_ignore_peer_version: boolean;
}

/** What `approve.jobs` (the README's legacy format, §4.4) turns into. */
export interface LegacyInfo {
  /** The auto-approval objects made from `approve.jobs.peers` (already merged into `config`). */
  objects: Record<string, AutoApprovalObject>;
  /** One line for the user saying what happens to the legacy block. */
  message: string;
}

export interface LoadedConfig {
  /** Absolute path of config.yaml. */
  path: string;
  exists: boolean;
  /** The file exists but is empty or whitespace only (e.g. caught half-written); defaults were used. */
  empty: boolean;
  /** The file's text, when it exists. */
  text?: string;
  config: SyftBgConfig;
  /** The parsed YAML as plain data, unknown keys included (`{}` when missing or empty). */
  raw: Record<string, unknown>;
  legacy?: LegacyInfo;
}

/** A syft-bg home, optionally with the user's home directory (for `~` and the default SyftBox root). */
export type ConfigHome = HomeLayout & { userHome?: string };
