import { readFileIfExists, writeFileAtomic } from '../fs/atomic';

/**
 * `approve/state.json`, shared with the Python syft-bg (JsonStateManager: JSON, indent 2, mode 0600).
 * Python keys its `approved_jobs` by job name only (two submitters' jobs with one name collide); we keep that key
 * up to date so a Python approve service started later skips what we approved, and key our own record by
 * (datasite, submitter, job) under `jobs`. On first start (no `jobs` key) Python's entries are imported.
 */
export interface ApproveStateFile {
  approved_jobs?: Record<string, { approved_at: string; submitted_by: string }>;
  jobs?: Record<string, { approved_at: string; object?: string; source: 'node' | 'python' }>;
  [k: string]: unknown;
}

export function jobKey(datasite: string, submitter: string, job: string): string {
  return `${datasite}/${submitter}/${job}`;
}

/** Parse tolerantly: a half-written or corrupt file (Python writes in place) reads as empty, never throws. */
export function parseApproveState(text: string | undefined): ApproveStateFile {
  if (!text || !text.trim()) return {};
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as ApproveStateFile) : {};
  } catch {
    return {};
  }
}

/** Import Python's name-keyed approvals once (pure). Peer entries (`peer_<email>`) are left to the peer logic. */
export function importPython(s: ApproveStateFile, datasite: string): ApproveStateFile {
  if (s.jobs) return s;
  const jobs: NonNullable<ApproveStateFile['jobs']> = {};
  for (const [name, v] of Object.entries(s.approved_jobs ?? {})) {
    if (name.startsWith('peer_') || !v || typeof v.submitted_by !== 'string') continue;
    jobs[jobKey(datasite, v.submitted_by, name)] = { approved_at: String(v.approved_at ?? ''), source: 'python' };
  }
  return { ...s, jobs };
}

export function recordApproval(s: ApproveStateFile, datasite: string, submitter: string, job: string, at: string, object?: string): ApproveStateFile {
  return {
    ...s,
    approved_jobs: { ...(s.approved_jobs ?? {}), [job]: { approved_at: at, submitted_by: submitter } },
    jobs: { ...(s.jobs ?? {}), [jobKey(datasite, submitter, job)]: { approved_at: at, ...(object ? { object } : {}), source: 'node' } },
  };
}

/** Python's key for a peer approval in `approved_jobs` (`mark_approved("peer_<email>", <domain>)`, §4.4). */
export function peerStateKey(email: string): string {
  return `peer_${email}`;
}

/** Record a peer approval exactly as the Python `PeerApprovalHandler` does: `approved_jobs["peer_<email>"]`. */
export function recordPeerApproval(s: ApproveStateFile, email: string, domain: string, at: string): ApproveStateFile {
  return { ...s, approved_jobs: { ...(s.approved_jobs ?? {}), [peerStateKey(email)]: { approved_at: at, submitted_by: domain } } };
}

/** The recorded approval of a peer (by us or by the Python service), if any. */
export function peerApprovalOf(s: ApproveStateFile, email: string): { approved_at: string; submitted_by: string } | undefined {
  return s.approved_jobs?.[peerStateKey(email)];
}

export class ApproveStateStore {
  private state: ApproveStateFile;
  constructor(
    readonly file: string,
    datasite: string,
  ) {
    const raw = parseApproveState(readFileIfExists(file));
    this.state = importPython(raw, datasite);
    if (this.state !== raw) this.save();
  }
  get(): ApproveStateFile {
    return this.state;
  }
  update(fn: (s: ApproveStateFile) => ApproveStateFile): void {
    // Re-read first: another writer (a Python process) may have added keys since.
    const fresh = parseApproveState(readFileIfExists(this.file));
    this.state = fn({ ...fresh, jobs: { ...(fresh.jobs ?? {}), ...(this.state.jobs ?? {}) } });
    this.save();
  }
  private save(): void {
    writeFileAtomic(this.file, JSON.stringify(this.state, null, 2), { mode: 0o600 });
  }
}
