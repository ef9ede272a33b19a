/**
 * One event → one e-mail (pure): recipient, subject, template, threading headers.
 *
 * Threading (reference §7.6, extended): the mails of one chain (events.ts) form one conversation for their
 * recipient. Every mail carries its stable Message-ID; a follow-up carries `In-Reply-To` (the latest earlier mail
 * of its chain that went out) and `References` (all of them, oldest first), the chain's Gmail `threadId` when
 * known, and the root's subject with `Re: ` — Gmail joins a thread only when the subject matches and the
 * references name a message of it.
 *
 * Subjects: the DO chain keeps the reference's (`Job: <job>`, then `Re: Job: <job>`; a failure mail without a
 * thread is `Job Failed: <job>`). The DS chain's root is `Job Submitted: <job>`; its follow-ups are
 * `Re: Job Submitted: <job>` when that root went out (so they thread), else the reference's own subjects
 * (`Job Approved: …`, `Job Completed: …`, `Job Not Approved: …`).
 */
import type { EmailMessage } from '../mail/message';
import { chainOf, jobKey, recipientOf, type EventView, type NotifyEvent } from './events';
import * as T from './templates';

export interface ThreadInfo {
  /** Message-IDs of the earlier mails of the chain that went out, oldest first. */
  references: string[];
  /** Gmail thread of the chain (from its root, or the latest earlier mail). */
  threadId?: string;
  /** The chain's root exists in the recipient's mailbox (sent by us, or by Python with a known thread). */
  threaded: boolean;
}

export interface JobDetails {
  code?: T.CodeFile[] | undefined;
  errorOutput?: string | null;
  returnCode?: number | null;
  /** state.yaml `review_reason` (rejections). */
  reason?: string | null;
  submittedAt?: Date;
}

/** Thread facts of an event from the store (pure): `lookup(key)` gives the status, `midOf(key)` the Message-ID. */
export function threadInfo(ev: NotifyEvent, lookup: (key: string) => (EventView & { mid?: string }) | undefined): ThreadInfo {
  if (ev.type !== 'job') return { references: [], threaded: false };
  const chain = chainOf(ev.kind);
  const before = chain.slice(0, chain.indexOf(ev.kind));
  const references: string[] = [];
  let threadId: string | undefined;
  for (const k of before) {
    const v = lookup(jobKey(ev.job, k));
    if (v?.status === 'sent' && v.mid) references.push(v.mid);
    if (v?.threadId && (v.status === 'sent' || v.status === 'seen')) threadId ??= v.threadId;
  }
  const root = before.length > 0 ? lookup(jobKey(ev.job, before[0]!)) : undefined;
  const threaded = root !== undefined && (root.status === 'sent' || (root.status === 'seen' && root.threadId !== undefined));
  return { references, ...(threadId !== undefined ? { threadId } : {}), threaded };
}

export interface Composed {
  message: EmailMessage;
  /** Gmail threadId to send into (undefined: new conversation). */
  threadId?: string;
  to: string;
}

export function composeEvent(
  ev: NotifyEvent,
  ctx: { doEmail: string; messageId: string; thread: ThreadInfo; details?: JobDetails; from?: string },
): Composed {
  const doEmail = ctx.doEmail;
  const rendered = T.render(templateFor(ev, doEmail, ctx.thread, ctx.details ?? {}));
  const to = recipientOf(ev.kind) === 'do' ? doEmail : ev.type === 'job' ? ev.job.submitter : ev.peer;
  const refs = ctx.thread.references;
  const message: EmailMessage = {
    from: ctx.from ?? `syft-bg <${doEmail}>`,
    to: [to],
    subject: rendered.subject,
    text: rendered.text,
    html: rendered.html,
    messageId: ctx.messageId,
    ...(refs.length > 0 ? { inReplyTo: refs[refs.length - 1]!, references: refs } : {}),
    headers: { 'Auto-Submitted': 'auto-generated', 'X-Syft-Bg-Event': ev.kind },
  };
  return { message, to, ...(ctx.thread.threadId !== undefined ? { threadId: ctx.thread.threadId } : {}) };
}

export function templateFor(ev: NotifyEvent, doEmail: string, thread: ThreadInfo, d: JobDetails): T.Template {
  if (ev.type === 'peer') {
    if (ev.kind === 'new_peer_request') return T.newPeerRequestTemplate({ dsEmail: ev.peer });
    if (ev.kind === 'peer_request_sent') return T.peerRequestSentTemplate({ doEmail });
    return T.peerGrantedTemplate({ doEmail });
  }
  const i = { job: ev.job.name, doEmail, dsEmail: ev.job.submitter };
  const dsSubject = (own: string) => (thread.threaded ? `Re: Job Submitted: ${i.job}` : own);
  switch (ev.kind) {
    case 'new':
      return T.newJobTemplate({ ...i, ...(d.submittedAt ? { submittedAt: d.submittedAt } : {}), ...(d.code ? { code: d.code } : {}) });
    case 'approved_do':
      return T.jobApprovedDoTemplate(i);
    case 'completed_do':
      return T.jobCompletedDoTemplate(i);
    case 'failed':
      return T.jobFailedDoTemplate({ ...i, errorOutput: d.errorOutput ?? null, returnCode: d.returnCode ?? null }, thread.threaded ? `Re: Job: ${i.job}` : `Job Failed: ${i.job}`);
    case 'rejected':
      return T.jobRejectedDoTemplate({ ...i, reason: d.reason || 'no reason given' });
    case 'submitted':
      return T.jobSubmittedTemplate(i);
    case 'approved':
      return T.jobApprovedTemplate(i, dsSubject(`Job Approved: ${i.job}`));
    case 'executed':
      return T.jobExecutedTemplate(i, dsSubject(`Job Completed: ${i.job}`));
    case 'rejected_ds':
      return T.jobRejectedDsTemplate({ ...i, friendlyReason: T.friendlyReason(i.job, d.reason || 'no reason given') }, dsSubject(`Job Not Approved: ${i.job}`));
  }
}
