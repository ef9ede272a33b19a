import type { z as Z } from 'zod';
import { zodLib } from './deps';
import { EMAIL_EXPECTED, EMAIL_RE } from './email';

/**
 * The zod schema of the whole config.yaml (reference §4.2, §5.1, plus `transports` and three new `approve` keys).
 *
 * * Every object is loose: unknown keys are kept, never an error.
 * * Constant defaults (intervals, flags) are applied here; path defaults depend on the home directory and are
 *   applied by `resolveConfig`. So paths come out as `string | null | undefined`.
 * * `null` is accepted wherever the Python syft-bg writes it, and a whole section written as `null`
 *   (e.g. `notify:` with everything commented out) means "all defaults". Lists are never null: an empty
 *   `peers` means "any peer", so `peers:` left blank must not silently widen an object.
 * * Error texts given here start with "expected …": `ConfigError` appends "found …".
 */

/** `sha256:` + lowercase hex, or bare hex; the Python matcher strips `sha256:` and accepts any prefix of the digest. */
export const HASH_RE = /^(?:sha256:)?[0-9a-f]+$/;
export const HASH_EXPECTED = 'expected a SHA-256 digest like "sha256:" followed by lowercase hex digits';
/** Object names become folder names under auto_approvals/. */
export const OBJECT_NAME_RE = /^(?!\.\.?$)[^/\\\0]+$/;
export const OBJECT_NAME_EXPECTED = "expected an object name usable as a folder name (no '/' or '\\', not '.' or '..')";
/** Relative paths of legacy scripts, which become paths under auto_approvals/<name>/. */
export const RELATIVE_PATH_RE = /^(?!\/)(?!.*(?:^|\/)\.\.(?:\/|$))[^\0\\]+$/;
export const RELATIVE_PATH_EXPECTED = "expected a relative file path without '..'";

function build(z: typeof Z) {
  const nullToUndefined = (v: unknown) => (v === null ? undefined : v);
  const email = () => z.string().regex(EMAIL_RE, { error: EMAIL_EXPECTED }).nullable().default(null);
  /** A path; `null` or absent means "the default". */
  const path = () => z.string().min(1, { error: 'expected a non-empty path' }).nullable().optional();
  const posInt = (d: number) => z.int().positive().default(d);
  const flag = (d: boolean) => z.boolean().default(d);
  const optionalFlag = () => z.boolean().nullable().default(null);
  const text = () => z.string().nullable().default(null);
  const strings = () => z.array(z.string()).default([]);

  const fileEntry = z.looseObject({
    relative_path: z.string().min(1, { error: 'expected a non-empty relative path' }),
    path: z.string().min(1, { error: 'expected the absolute path of the stored copy' }),
    hash: z.string().regex(HASH_RE, { error: HASH_EXPECTED }),
  });
  const autoApprovalObject = z.looseObject({
    file_contents: z.array(fileEntry).default([]),
    file_paths: strings(),
    peers: strings(),
  });
  const autoApprovals = z.looseObject({
    enabled: flag(true),
    objects: z
      .record(z.string().regex(OBJECT_NAME_RE, { error: OBJECT_NAME_EXPECTED }), autoApprovalObject)
      .nullable()
      .transform((v) => v ?? {})
      .default({}),
  });
  const peerApproval = z.looseObject({
    enabled: flag(false),
    approved_domains: strings(),
    auto_share_datasets: strings(),
  });

  const legacyScript = z.looseObject({
    name: z.string().regex(RELATIVE_PATH_RE, { error: RELATIVE_PATH_EXPECTED }),
    hash: z.string().regex(HASH_RE, { error: HASH_EXPECTED }),
  });
  const legacyPeer = z.looseObject({
    mode: z.string().nullable().optional(),
    scripts: z.array(legacyScript).nullable().default([]),
  });
  /** The README's `approve.jobs` block (§4.4). */
  const legacyJobs = z.looseObject({
    enabled: flag(true),
    peers: z
      .record(z.string().min(1), legacyPeer.nullable())
      .nullable()
      .transform((v) => v ?? {})
      .default({}),
  });

  const notify = z.looseObject({
    do_email: email(),
    syftbox_root: text(),
    drive_token_path: path(),
    gmail_token_path: path(),
    credentials_path: path(),
    notify_state_path: path(),
    sync_state_path: path(),
    interval: posInt(5),
    monitor_jobs: flag(true),
    monitor_peers: flag(true),
    heartbeat_enabled: flag(true),
    heartbeat_interval: posInt(86400),
    // Node syft-bg only (absent from Python-written files; absent or null = the transport's default, see
    // lib/notify/pacing.ts): the steady send rate, how many mails may go back to back, and how long a mail whose
    // send may or may not have happened waits before its Message-ID is looked up in the mailbox.
    send_rate_per_second: z
      .number({ error: 'expected a number of mails per second greater than 0 (e.g. 2 or 0.5)' })
      .positive({ error: 'expected a number of mails per second greater than 0 (e.g. 2 or 0.5)' })
      .nullable()
      .optional(),
    send_burst: z.int({ error: 'expected a whole number of mails, at least 1' }).positive({ error: 'expected a whole number of mails, at least 1' }).nullable().optional(),
    lookup_grace_seconds: z.number({ error: 'expected a number of seconds, 0 or more' }).nonnegative({ error: 'expected a number of seconds, 0 or more' }).nullable().optional(),
  });
  const approve = z.looseObject({
    do_email: email(),
    syftbox_root: text(),
    drive_token_path: path(),
    gmail_token_path: path(),
    approve_state_path: path(),
    notify_state_path: path(),
    interval: posInt(5),
    auto_approvals: z.preprocess(nullToUndefined, autoApprovals.prefault({})),
    peers: z.preprocess(nullToUndefined, peerApproval.prefault({})),
    skip_peer_on_patch_version_diff: optionalFlag(),
    force_ignore_peer_version: flag(false),
    job_timeout: posInt(600),
    run_approved_jobs: flag(true),
    max_concurrent_jobs: posInt(1),
    jobs: legacyJobs.nullable().optional(),
  });
  const emailApprove = z.looseObject({
    do_email: email(),
    syftbox_root: text(),
    gmail_token_path: path(),
    gcp_project_id: text(),
    pubsub_topic: text(),
    pubsub_subscription: text(),
    email_approve_state_path: path(),
    notify_state_path: path(),
  });
  const sync = z.looseObject({
    interval: posInt(10),
    max_retries: z.int().nonnegative().default(3),
    retry_backoff: z.number().nonnegative().default(2.0),
    do_email: email(),
    syftbox_root: text(),
    drive_token_path: path(),
    sync_state_path: path(),
    skip_peer_on_patch_version_diff: optionalFlag(),
    force_ignore_peer_version: flag(false),
  });
  const transports = z.looseObject({
    email: z.enum(['gmail', 'maildir']).nullable().optional(),
    syftbox: z.enum(['drive', 'local']).nullable().optional(),
    maildir_path: path(),
  });

  const config = z.looseObject({
    do_email: email(),
    /** `''` counts as unset, as in the Python validator. */
    syftbox_root: text(),
    credentials_path: path(),
    gmail_token_path: path(),
    drive_token_path: path(),
    transports: z.preprocess(nullToUndefined, transports.prefault({})),
    notify: z.preprocess(nullToUndefined, notify.prefault({})),
    approve: z.preprocess(nullToUndefined, approve.prefault({})),
    email_approve: z.preprocess(nullToUndefined, emailApprove.prefault({})),
    sync: z.preprocess(nullToUndefined, sync.prefault({})),
  });

  return { config, legacyJobs, autoApprovalObject };
}

type Schemas = ReturnType<typeof build>;
export type ConfigSchema = Schemas['config'];
/** config.yaml after validation: constant defaults applied, path defaults not yet (see `resolveConfig`). */
export type ConfigFile = Z.output<ConfigSchema>;
export type LegacyJobsFile = Z.output<Schemas['legacyJobs']>;
export type AutoApprovalObjectFile = Z.output<Schemas['autoApprovalObject']>;

let schemas: Schemas | undefined;

/** The schemas, built on first use (this is what loads zod). */
export function getSchemas(): Schemas {
  if (schemas === undefined) schemas = build(zodLib());
  return schemas;
}

/** Issues in the shape `ConfigError` understands (a structural subset of zod's issues). */
export interface SchemaIssue {
  code: string;
  path: PropertyKey[];
  message: string;
  input?: unknown;
  expected?: string;
  values?: unknown[];
  minimum?: number | bigint;
  maximum?: number | bigint;
  inclusive?: boolean;
  origin?: string;
  format?: string;
  issues?: SchemaIssue[];
}

export type Validation<T> = { ok: true; value: T } | { ok: false; issues: SchemaIssue[] };

function run<T>(schema: { safeParse(v: unknown, o: { reportInput: boolean }): { success: true; data: T } | { success: false; error: { issues: unknown[] } } }, data: unknown): Validation<T> {
  const r = schema.safeParse(data, { reportInput: true });
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, issues: r.error.issues as SchemaIssue[] };
}

/** Validate config.yaml's parsed data (a plain object). */
export function validateConfig(data: unknown): Validation<ConfigFile> {
  return run<ConfigFile>(getSchemas().config, data);
}

/** Validate a legacy `approve.jobs` block on its own. */
export function validateLegacyJobs(data: unknown): Validation<LegacyJobsFile> {
  return run<LegacyJobsFile>(getSchemas().legacyJobs, data);
}
