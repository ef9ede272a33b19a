/**
 * The Python syft-bg's `notify/state.json` (reference §11): imported on the first start, so that switching from
 * Python mails nothing twice, and kept up to date afterwards, so that switching back (or the email_approve
 * service, which maps replies through `thread_ids`) sees what was mailed.
 *
 *   notified_jobs: {<job name>: ["new", "approved", "executed", "failed", "rejected"],
 *                   "peer_new_<ds>_to_do": ["new_peer_request"], "peer_new_<ds>_to_ds": ["peer_request_sent"],
 *                   "peer_granted_<ds>": ["peer_granted"]}
 *   thread_ids:    {<job name>: <Gmail thread id of the DO's "Job: <job>" mail>}
 *   peer_snapshot: [<email>, …]
 *
 * Python keys jobs by name only; on import a name covers every job of that name, whoever submitted it (what
 * Python itself would have done). Parsing and merging are pure; reading and writing are at the bottom.
 */
import * as fs from 'node:fs';
import { writeFileAtomic } from '../fs/atomic';
import { eventKey, jobKey, type JobEventKind, type JobRef, type NotifyEvent, type PeerEventKind } from './events';
import type { JournalEntry } from './journal';

export interface PythonNotifyState {
  notified_jobs?: Record<string, string[]>;
  thread_ids?: Record<string, string>;
  peer_snapshot?: string[];
  [k: string]: unknown;
}

/** Python's event → the mails it stands for here (Python sent the companion mails fire-and-forget right after). */
const PY_JOB_EVENTS: Record<string, JobEventKind[]> = {
  new: ['new', 'submitted'],
  approved: ['approved', 'approved_do'],
  executed: ['executed', 'completed_do'],
  failed: ['failed'],
  rejected: ['rejected', 'rejected_ds'],
};

/** Lenient parse: anything of the wrong shape is dropped; unparseable → undefined (as Python reads it as `{}`). */
export function parsePythonState(text: string | undefined): PythonNotifyState | undefined {
  if (text === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  const out: PythonNotifyState = { ...o };
  const nj = o.notified_jobs;
  if (nj && typeof nj === 'object' && !Array.isArray(nj)) {
    out.notified_jobs = {};
    for (const [k, evs] of Object.entries(nj as Record<string, unknown>)) {
      if (Array.isArray(evs)) out.notified_jobs[k] = evs.filter((e): e is string => typeof e === 'string');
    }
  } else delete out.notified_jobs;
  const ti = o.thread_ids;
  if (ti && typeof ti === 'object' && !Array.isArray(ti)) {
    out.thread_ids = {};
    for (const [k, t] of Object.entries(ti as Record<string, unknown>)) if (typeof t === 'string' && t !== '') out.thread_ids[k] = t;
  } else delete out.thread_ids;
  if (Array.isArray(o.peer_snapshot)) out.peer_snapshot = o.peer_snapshot.filter((e): e is string => typeof e === 'string');
  else delete out.peer_snapshot;
  return out;
}

/** `JsonStateManager.is_empty()` (§11): no notified_jobs, approved_jobs, approved_peers (empty counts as none). */
export function isPythonStateEmpty(s: PythonNotifyState | undefined): boolean {
  if (!s) return true;
  const truthy = (v: unknown) => v !== undefined && v !== null && !(typeof v === 'object' && Object.keys(v as object).length === 0) && v !== '' && v !== false && v !== 0;
  return !truthy(s.notified_jobs) && !truthy(s.approved_jobs) && !truthy(s.approved_peers);
}

/** The journal records standing for a Python state, for the jobs on disk now. */
export function importPythonState(s: PythonNotifyState, datasite: string, jobs: JobRef[]): { records: JournalEntry[]; peers?: string[] } {
  const records = new Map<string, JournalEntry>();
  const byName = new Map<string, JobRef[]>();
  for (const j of jobs) {
    const l = byName.get(j.name) ?? [];
    l.push(j);
    byName.set(j.name, l);
  }
  for (const [entity, evs] of Object.entries(s.notified_jobs ?? {})) {
    const peer = /^peer_(?:new_(.+)_to_(do|ds)|granted_(.+))$/.exec(entity);
    if (peer) {
      let kind: PeerEventKind;
      let email: string;
      if (peer[3] !== undefined) {
        if (!evs.includes('peer_granted')) continue;
        kind = 'peer_granted';
        email = peer[3];
      } else {
        kind = peer[2] === 'do' ? 'new_peer_request' : 'peer_request_sent';
        if (!evs.includes(kind)) continue;
        email = peer[1]!;
      }
      const k = eventKey({ type: 'peer', kind, datasite, peer: email.toLowerCase() });
      records.set(k, { k, s: 'seen' });
      continue;
    }
    for (const job of byName.get(entity) ?? []) {
      for (const ev of evs) {
        for (const kind of PY_JOB_EVENTS[ev] ?? []) {
          const k = jobKey(job, kind);
          records.set(k, { k, s: 'seen' });
        }
      }
    }
  }
  for (const [name, tid] of Object.entries(s.thread_ids ?? {})) {
    for (const job of byName.get(name) ?? []) {
      const k = jobKey(job, 'new');
      // A thread id means Python sent the root mail (it stores the id only on success).
      records.set(k, { k, s: 'seen', tid });
    }
  }
  return { records: [...records.values()], ...(s.peer_snapshot !== undefined ? { peers: s.peer_snapshot.map((e) => e.toLowerCase()) } : {}) };
}

/** Python's (entity, event) for one of our mails, or undefined for mails Python has no key for. */
export function pythonKeyOf(ev: NotifyEvent): { entity: string; event: string } | undefined {
  if (ev.type === 'job') {
    const m: Partial<Record<JobEventKind, string>> = { new: 'new', approved: 'approved', executed: 'executed', failed: 'failed', rejected: 'rejected' };
    const e = m[ev.kind];
    return e ? { entity: ev.job.name, event: e } : undefined;
  }
  if (ev.kind === 'new_peer_request') return { entity: `peer_new_${ev.peer}_to_do`, event: 'new_peer_request' };
  if (ev.kind === 'peer_request_sent') return { entity: `peer_new_${ev.peer}_to_ds`, event: 'peer_request_sent' };
  return { entity: `peer_granted_${ev.peer}`, event: 'peer_granted' };
}

/** Merge what we mailed into a Python state (pure; other keys kept, nothing removed). */
export function mergeIntoPythonState(
  base: PythonNotifyState | undefined,
  done: Iterable<{ event: NotifyEvent; threadId?: string }>,
  peers: string[] | undefined,
): PythonNotifyState {
  const out: PythonNotifyState = { ...(base ?? {}) };
  const nj: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(base?.notified_jobs ?? {})) nj[k] = [...v];
  const ti: Record<string, string> = { ...(base?.thread_ids ?? {}) };
  for (const d of done) {
    const pk = pythonKeyOf(d.event);
    if (pk) {
      const l = (nj[pk.entity] ??= []);
      if (!l.includes(pk.event)) l.push(pk.event);
    }
    if (d.event.type === 'job' && d.event.kind === 'new' && d.threadId) ti[d.event.job.name] = d.threadId;
  }
  out.notified_jobs = nj;
  out.thread_ids = ti;
  if (peers !== undefined) out.peer_snapshot = peers;
  return out;
}

export function readPythonState(file: string): PythonNotifyState | undefined {
  try {
    return parsePythonState(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Python writes `json.dumps(indent=2)` with mode 0600; so do we (atomically, which Python does not). */
export function writePythonState(file: string, s: PythonNotifyState): void {
  writeFileAtomic(file, JSON.stringify(s, null, 2), { mode: 0o600 });
}
