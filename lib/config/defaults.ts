import type { Document, Scalar } from 'yaml';
import { yamlLib } from './deps';
import { defaultPaths } from './resolve';
import type { EmailTransport, SyftboxTransport } from './types';
import { newDocument } from './yamldoc';

export interface LayoutValues {
  do_email?: string | null;
  syftbox_root?: string | null;
  /** Top-level token paths (default `<home>/token.json`). */
  gmail_token_path?: string;
  drive_token_path?: string;
  /** Written after the top-level keys when given (the Python syft-bg ignores and drops it). */
  transports?: { email: EmailTransport; syftbox: SyftboxTransport; maildir_path: string };
}

/**
 * config.yaml in the exact layout `syft-bg init` of the Python syft-bg writes (reference §4.1): same keys, same
 * order, same values, so the Python syft-bg can read it. Plain data, insertion-ordered.
 */
export function pythonLayout(homeDir: string, v: LayoutValues = {}): Record<string, unknown> {
  const d = defaultPaths(homeDir);
  const token = d.token_path;
  const out: Record<string, unknown> = {
    do_email: v.do_email ?? null,
    syftbox_root: v.syftbox_root ?? null,
    credentials_path: d.credentials_path,
    gmail_token_path: v.gmail_token_path ?? token,
    drive_token_path: v.drive_token_path ?? token,
  };
  if (v.transports) out.transports = { ...v.transports };
  Object.assign(out, {
    notify: {
      do_email: null,
      syftbox_root: null,
      drive_token_path: token,
      gmail_token_path: token,
      credentials_path: d.credentials_path,
      notify_state_path: d.notify_state_path,
      sync_state_path: d.sync_state_path,
      interval: 5,
      monitor_jobs: true,
      monitor_peers: true,
      heartbeat_enabled: true,
      heartbeat_interval: 86400,
    },
    approve: {
      do_email: null,
      syftbox_root: null,
      drive_token_path: token,
      gmail_token_path: token,
      approve_state_path: d.approve_state_path,
      notify_state_path: d.notify_state_path,
      interval: 5,
      auto_approvals: { enabled: true, objects: {} },
      peers: { enabled: false, approved_domains: [], auto_share_datasets: [] },
      skip_peer_on_patch_version_diff: null,
      force_ignore_peer_version: false,
    },
    email_approve: {
      do_email: null,
      syftbox_root: null,
      gmail_token_path: token,
      gcp_project_id: null,
      pubsub_topic: null,
      pubsub_subscription: null,
      email_approve_state_path: d.email_approve_state_path,
      notify_state_path: d.notify_state_path,
    },
    sync: {
      interval: 10,
      max_retries: 3,
      retry_backoff: 2.0,
      do_email: null,
      syftbox_root: null,
      drive_token_path: token,
      sync_state_path: d.sync_state_path,
      skip_peer_on_patch_version_diff: null,
      force_ignore_peer_version: false,
    },
  });
  return out;
}

export const TRANSPORTS_COMMENT = ' Node syft-bg only: e-mail via gmail or maildir, SyftBox via drive or local.';

/** `pythonLayout` as a YAML document (`retry_backoff: 2.0` written as PyYAML does), optionally with a header comment. */
export function pythonLayoutDocument(homeDir: string, v: LayoutValues = {}, header?: string): Document {
  const Y = yamlLib();
  const doc = newDocument(pythonLayout(homeDir, v));
  const backoff = doc.getIn(['sync', 'retry_backoff'], true) as Scalar;
  backoff.minFractionDigits = 1;
  if (header) doc.commentBefore = header;
  if (v.transports && Y.isMap(doc.contents)) {
    const pair = doc.contents.items.find((p) => Y.isScalar(p.key) && p.key.value === 'transports');
    if (pair && Y.isScalar(pair.key)) pair.key.commentBefore = TRANSPORTS_COMMENT;
  }
  return doc;
}
