/**
 * What the notify service sends, and when (pure). Reference §7.2–§7.5, with these deliberate differences:
 *
 * - Identity is (datasite, submitter, job, event), not the job name: two data scientists using one job name get
 *   their own mails. Every mail is its own event with its own dedupe key, so the DS "submitted" mail and the DO
 *   follow-ups are retried like the rest instead of being fire-and-forget.
 * - Rejections are mailed (DO and DS, the latter with the friendly reason); the reference never sends them.
 * - Mails about one job form two ordered chains (one conversation each): the DO's (new → approved → completed |
 *   failed | rejected) and the DS's (submitted → approved → completed | not approved). A mail waits for the mails
 *   before it in its chain, so replies always follow their thread's first message.
 */
import { createHash } from 'node:crypto';
import type { JobStatus } from '../datasite/state';

export type JobEventKind =
  | 'new' //            DO  "Job: <job>"                (chain root)
  | 'approved_do' //    DO  "Re: Job: <job>"
  | 'completed_do' //   DO  "Re: Job: <job>"
  | 'failed' //         DO  "Re: Job: <job>" | "Job Failed: <job>"
  | 'rejected' //       DO  "Re: Job: <job>"
  | 'submitted' //      DS  "Job Submitted: <job>"     (chain root)
  | 'approved' //       DS  "Job Approved: <job>"
  | 'executed' //       DS  "Job Completed: <job>"
  | 'rejected_ds'; //   DS  "Job Not Approved: <job>"

export type PeerEventKind = 'new_peer_request' | 'peer_request_sent' | 'peer_granted';

export type Recipient = 'do' | 'ds';

/** Chain order: a mail is sent only after every earlier mail of its chain (sent, or marked as seen). */
export const DO_CHAIN: readonly JobEventKind[] = ['new', 'approved_do', 'completed_do', 'failed', 'rejected'];
export const DS_CHAIN: readonly JobEventKind[] = ['submitted', 'approved', 'executed', 'rejected_ds'];

export function recipientOf(kind: JobEventKind | PeerEventKind): Recipient {
  return kind === 'new_peer_request' || (DO_CHAIN as readonly string[]).includes(kind) ? 'do' : 'ds';
}

export function chainOf(kind: JobEventKind): readonly JobEventKind[] {
  return (DO_CHAIN as readonly string[]).includes(kind) ? DO_CHAIN : DS_CHAIN;
}

export interface JobRef {
  /** The data owner's e-mail (the datasite). */
  datasite: string;
  /** The data scientist (the inbox sub-folder). */
  submitter: string;
  /** The job folder name. */
  name: string;
}

/** One job as the detector sees it. */
export interface JobSnapshot extends JobRef {
  /** config.yaml parsed (the reference needs the metadata before it mails anything). */
  hasConfig: boolean;
  /** Every file config.yaml lists is under code/ (or the job is old enough not to wait any longer). */
  complete: boolean;
  /** state.yaml's status; null when it cannot be read; `received` when it does not exist. */
  status: JobStatus | null;
}

export interface JobEvent {
  type: 'job';
  kind: JobEventKind;
  job: JobRef;
}

export interface PeerEvent {
  type: 'peer';
  kind: PeerEventKind;
  datasite: string;
  peer: string;
}

export type NotifyEvent = JobEvent | PeerEvent;

/**
 * The dedupe key of an event: a JSON array, so no job or e-mail name can make two events collide.
 * `["job", datasite, submitter, job, kind]` or `["peer", datasite, peer, kind]`.
 */
export function eventKey(ev: NotifyEvent): string {
  return ev.type === 'job'
    ? JSON.stringify(['job', ev.job.datasite, ev.job.submitter, ev.job.name, ev.kind])
    : JSON.stringify(['peer', ev.datasite, ev.peer, ev.kind]);
}

export function jobKey(job: JobRef, kind: JobEventKind): string {
  return eventKey({ type: 'job', kind, job });
}

/** Inverse of {@link eventKey}; undefined for anything else. */
export function parseEventKey(key: string): NotifyEvent | undefined {
  let v: unknown;
  try {
    v = JSON.parse(key);
  } catch {
    return undefined;
  }
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return undefined;
  const a = v as string[];
  if (a[0] === 'job' && a.length === 5 && isJobKind(a[4]!)) return { type: 'job', kind: a[4], job: { datasite: a[1]!, submitter: a[2]!, name: a[3]! } };
  if (a[0] === 'peer' && a.length === 4 && isPeerKind(a[3]!)) return { type: 'peer', kind: a[3], datasite: a[1]!, peer: a[2]! };
  return undefined;
}

export function isJobKind(s: string): s is JobEventKind {
  return (DO_CHAIN as readonly string[]).includes(s) || (DS_CHAIN as readonly string[]).includes(s);
}

export function isPeerKind(s: string): s is PeerEventKind {
  return s === 'new_peer_request' || s === 'peer_request_sent' || s === 'peer_granted';
}

/**
 * The RFC 5322 Message-ID of an event's mail, derived from its dedupe key alone: the same on every attempt and
 * after any restart, so "was it sent?" can be asked of the mailbox (`rfc822msgid:`) and replies can reference
 * earlier mails without having stored anything. The right-hand side is the DO's mail domain.
 */
export function eventMessageId(key: string, doEmail: string): string {
  const h = createHash('sha256').update(key).digest('hex').slice(0, 32);
  const domain = (doEmail.slice(doEmail.lastIndexOf('@') + 1) || 'localhost').toLowerCase().replace(/[^a-z0-9.-]/g, '-') || 'localhost';
  return `<syft-bg.${h}@${domain}>`;
}

const APPROVED_OR_LATER: ReadonlySet<JobStatus> = new Set(['approved', 'running', 'done', 'failed']);

/**
 * Every mail a job in this state warrants (sent or not), in chain order. Reference §7.2: "new" for any job with
 * metadata (whatever its status), "approved" for approved/running/done/failed, "executed" for done, "failed" for
 * failed; plus, here, the DS copies and the rejection mails. A job whose files are still arriving warrants nothing
 * yet, so the mail shows its whole code.
 */
export function jobEvents(s: JobSnapshot): JobEvent[] {
  if (!s.hasConfig || !s.complete) return [];
  const kinds: JobEventKind[] = ['new', 'submitted'];
  if (s.status !== null && APPROVED_OR_LATER.has(s.status)) kinds.push('approved', 'approved_do');
  if (s.status === 'done') kinds.push('executed', 'completed_do');
  if (s.status === 'failed') kinds.push('failed');
  if (s.status === 'rejected') kinds.push('rejected', 'rejected_ds');
  const job: JobRef = { datasite: s.datasite, submitter: s.submitter, name: s.name };
  return kinds.map((kind) => ({ type: 'job', kind, job }));
}

/** What the store knows about an event. `seen`: never mailed by us, but must not be (seeded or imported). */
export type EntryStatus = 'seen' | 'intent' | 'sent' | 'failed';

export interface EventView {
  status: EntryStatus;
  /** Gmail thread id of the mail (or, for `seen` chain roots imported from Python, of its conversation). */
  threadId?: string;
}

/** Done = will never be sent again. */
export function isDone(v: EventView | undefined): boolean {
  return v !== undefined && (v.status === 'sent' || v.status === 'seen');
}

/**
 * The events still to send, each with whether it may go now (every earlier event of its chain is done).
 * Order: the order of `events`, which callers keep per job in chain order.
 */
export function pendingEvents(events: NotifyEvent[], lookup: (key: string) => EventView | undefined): Array<{ event: NotifyEvent; key: string; ready: boolean }> {
  const out: Array<{ event: NotifyEvent; key: string; ready: boolean }> = [];
  for (const ev of events) {
    const key = eventKey(ev);
    if (isDone(lookup(key))) continue;
    let ready = true;
    if (ev.type === 'job') {
      const chain = chainOf(ev.kind);
      for (const k of chain.slice(0, chain.indexOf(ev.kind))) {
        const before = jobKey(ev.job, k);
        // Only predecessors this job warrants matter: a failed job's DO chain has no "completed".
        if (events.some((e) => e.type === 'job' && e.kind === k && e.job === ev.job) && !isDone(lookup(before))) ready = false;
      }
    }
    out.push({ event: ev, key, ready });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Peers

export type PeerState = 'requested_by_peer' | 'accepted';

export interface PeerEntry {
  email: string;
  state: PeerState;
}

/**
 * Reference §7.3: an e-mail new in the snapshot → "new peer request" (DO) and "request sent" (DS); every
 * accepted peer → "peer granted" (DS). Keys dedupe, so a peer that leaves and comes back is not mailed again.
 * `previous` undefined = first snapshot ever: nothing is mailed (the caller marks these events seen, §7.5).
 */
export function peerEvents(datasite: string, previous: readonly string[] | undefined, current: readonly PeerEntry[]): PeerEvent[] {
  const prev = new Set((previous ?? []).map((e) => e.toLowerCase()));
  const out: PeerEvent[] = [];
  const seen = new Set<string>();
  for (const p of [...current].sort((a, b) => (a.email < b.email ? -1 : a.email > b.email ? 1 : 0))) {
    const email = p.email.toLowerCase();
    if (seen.has(email)) continue;
    seen.add(email);
    if (!prev.has(email)) {
      out.push({ type: 'peer', kind: 'new_peer_request', datasite, peer: email });
      out.push({ type: 'peer', kind: 'peer_request_sent', datasite, peer: email });
    }
    if (current.some((c) => c.email.toLowerCase() === email && c.state === 'accepted')) out.push({ type: 'peer', kind: 'peer_granted', datasite, peer: email });
  }
  return out;
}

/** Seeding a fresh state (§7.5): every event the current peers warrant, as if the previous snapshot were empty. */
export function peerSeedEvents(datasite: string, current: readonly PeerEntry[]): PeerEvent[] {
  return peerEvents(datasite, [], current);
}
