/**
 * The notification e-mails (pure): one template per e-mail, rendered twice — plain text (the reference's
 * Appendix A bodies, byte for byte) and HTML (the reference's §7.8 templates: title, h1, info box with badges,
 * code / error sections, the base layout's header and footer), self-contained with inline styles.
 *
 * A template is a list of blocks. Text: each block renders to lines ending in "\n", blocks are separated by one
 * empty line. HTML: each block renders to an element. Rows or blocks marked `only` appear in one rendering.
 * Every substituted value is HTML-escaped; nothing from a job is ever interpreted as markup.
 */
import { formatLongDateTime, intervalHuman } from './heartbeat';
import { escapeHtml, htmlPage } from './html-frame';

export type Badge = 'success' | 'pending' | 'error' | 'info';

export interface Row {
  label: string;
  /** Label in the text rendering when it differs (`Job` vs `Job Name`). */
  textLabel?: string;
  value: string;
  badge?: Badge;
  only?: 'text' | 'html';
}

export interface CodeFile {
  name: string;
  content: string;
}

export type Block =
  | { kind: 'lead'; text: string; h1: string }
  | { kind: 'rows'; rows: Row[] }
  | { kind: 'para'; text: string; only?: 'text' | 'html' }
  | { kind: 'code'; files: CodeFile[] }
  | { kind: 'pre'; heading: string; label: string; body: string }
  | { kind: 'list'; intro: string; items: Array<{ text: string; html?: string }>; only?: 'text' | 'html'; indent?: string };

export interface Template {
  subject: string;
  title: string;
  blocks: Block[];
}

export interface Rendered {
  subject: string;
  text: string;
  html: string;
}

// ---------------------------------------------------------------------------------------------------------------
// The e-mails (§7.4 table, Appendix A, §7.8 table)

export interface JobMailInput {
  job: string;
  doEmail: string;
  dsEmail: string;
}

export function newJobTemplate(i: JobMailInput & { submittedAt?: Date; code?: CodeFile[] }): Template {
  const blocks: Block[] = [
    { kind: 'lead', text: 'You have a new job request in SyftBox!', h1: 'New Job Request' },
    {
      kind: 'rows',
      rows: [
        { label: 'Job Name', textLabel: 'Job', value: i.job },
        { label: 'From', value: i.dsEmail },
        { label: 'Submitted', value: i.submittedAt ? formatLongDateTime(i.submittedAt) : 'Just now', only: 'html' },
        { label: 'Status', value: 'Pending Review', badge: 'pending', only: 'html' },
      ],
    },
  ];
  if (i.code && i.code.length > 0) blocks.push({ kind: 'code', files: i.code });
  blocks.push({
    kind: 'list',
    intro: 'To approve or deny this job, reply to this email with:',
    indent: '  ',
    items: [
      { text: 'approve', html: '<code>approve</code> &mdash; approve this job' },
      { text: 'auto-approve', html: '<code>auto-approve</code> &mdash; approve and auto-approve future matching jobs' },
      { text: 'deny <reason>', html: '<code>deny &lt;reason&gt;</code> &mdash; reject this job' },
    ],
  });
  blocks.push({ kind: 'para', only: 'html', text: 'Security Reminder: Only approve jobs from trusted collaborators. Review the code carefully before approving.' });
  return { subject: `Job: ${i.job}`, title: `New Job Request - ${i.job}`, blocks };
}

export function jobSubmittedTemplate(i: JobMailInput, subject = `Job Submitted: ${i.job}`): Template {
  return {
    subject,
    title: `Job Submitted - ${i.job}`,
    blocks: [
      { kind: 'lead', text: 'Your job has been submitted!', h1: 'Job Submitted' },
      {
        kind: 'rows',
        rows: [
          { label: 'Job Name', textLabel: 'Job', value: i.job },
          { label: 'Submitted To', value: i.doEmail },
          { label: 'Status', value: 'Submitted', badge: 'info', only: 'html' },
        ],
      },
      { kind: 'para', text: "Your job is now pending review by the data owner.\nYou'll receive follow-up emails when the job is reviewed and executed." },
    ],
  };
}

export function jobApprovedTemplate(i: JobMailInput, subject = `Job Approved: ${i.job}`): Template {
  return {
    subject,
    title: `Job Approved - ${i.job}`,
    blocks: [
      { kind: 'lead', text: 'Your job has been approved!', h1: 'Job Approved' },
      {
        kind: 'rows',
        rows: [
          { label: 'Job Name', textLabel: 'Job', value: i.job },
          { label: 'Status', value: 'Approved', badge: 'success', only: 'html' },
          { label: 'Next Step', value: 'Waiting for execution', only: 'html' },
        ],
      },
      { kind: 'para', text: 'The data owner has reviewed and approved your job request.\nYour job will be executed soon.' },
    ],
  };
}

export function jobExecutedTemplate(i: JobMailInput & { duration?: number | null }, subject = `Job Completed: ${i.job}`): Template {
  return {
    subject,
    title: `Job Completed - ${i.job}`,
    blocks: [
      { kind: 'lead', text: 'Your job has finished execution!', h1: 'Job Completed' },
      {
        kind: 'rows',
        rows: [
          { label: 'Job Name', textLabel: 'Job', value: i.job },
          { label: 'Status', value: 'Completed', badge: 'success', only: 'html' },
          { label: 'Duration', value: i.duration ? formatDuration(i.duration) : 'N/A', only: 'html' },
          { label: 'Results', value: 'Available', only: 'html' },
        ],
      },
      { kind: 'para', text: 'Your job has completed successfully. Results are available.' },
      { kind: 'para', only: 'html', text: 'Run syft sync (or open your SyftBox client) to download the results.' },
    ],
  };
}

export function jobApprovedDoTemplate(i: JobMailInput, subject = `Re: Job: ${i.job}`): Template {
  return {
    subject,
    title: `Job Auto-Approved - ${i.job}`,
    blocks: [
      { kind: 'lead', text: 'Job auto-approved!', h1: 'Job Auto-Approved' },
      {
        kind: 'rows',
        rows: [
          { label: 'Job Name', textLabel: 'Job', value: i.job },
          { label: 'From', value: i.dsEmail },
          { label: 'Status', value: 'Approved & Running', badge: 'success', only: 'html' },
        ],
      },
      { kind: 'para', text: 'This job matched your approval criteria and is now running.' },
    ],
  };
}

export function jobCompletedDoTemplate(i: JobMailInput & { duration?: number | null }, subject = `Re: Job: ${i.job}`): Template {
  const rows: Row[] = [
    { label: 'Job Name', textLabel: 'Job', value: i.job },
    { label: 'From', value: i.dsEmail },
    { label: 'Status', value: 'Completed', badge: 'success', only: 'html' },
  ];
  if (i.duration) rows.push({ label: 'Duration', value: `${i.duration}s` });
  return {
    subject,
    title: `Job Completed - ${i.job}`,
    blocks: [
      { kind: 'lead', text: 'Job completed!', h1: 'Job Completed' },
      { kind: 'rows', rows },
      { kind: 'para', text: 'The job has finished execution. Results are available.' },
    ],
  };
}

export function jobFailedDoTemplate(
  i: JobMailInput & { errorOutput?: string | null; returnCode?: number | null; duration?: number | null },
  subject = `Job Failed: ${i.job}`,
): Template {
  const rows: Row[] = [
    { label: 'Job Name', textLabel: 'Job', value: i.job },
    { label: 'From', value: i.dsEmail },
    { label: 'Status', value: 'Failed', badge: 'error', only: 'html' },
  ];
  if (i.returnCode !== undefined && i.returnCode !== null) rows.push({ label: 'Return Code', value: String(i.returnCode) });
  if (i.duration) rows.push({ label: 'Duration', value: `${i.duration}s` });
  const blocks: Block[] = [
    { kind: 'lead', text: 'Job failed!', h1: 'Job Failed' },
    { kind: 'rows', rows },
    { kind: 'para', text: 'The job failed during execution.' },
  ];
  if (i.errorOutput) blocks.push({ kind: 'pre', heading: 'Error Output', label: 'stderr', body: i.errorOutput });
  return { subject, title: `Job Failed - ${i.job}`, blocks };
}

export function jobRejectedDoTemplate(i: JobMailInput & { reason: string }, subject = `Re: Job: ${i.job}`): Template {
  return {
    subject,
    title: `Job Rejected - ${i.job}`,
    blocks: [
      { kind: 'lead', text: 'Job rejected.', h1: 'Job Rejected' },
      {
        kind: 'rows',
        rows: [
          { label: 'Job Name', textLabel: 'Job', value: i.job },
          { label: 'From', value: i.dsEmail },
          { label: 'Status', value: 'Rejected', badge: 'error', only: 'html' },
          { label: 'Reason', value: i.reason },
        ],
      },
      { kind: 'para', text: 'This job did not match your approval criteria and was not executed.' },
    ],
  };
}

export function jobRejectedDsTemplate(i: JobMailInput & { friendlyReason: string }, subject = `Job Not Approved: ${i.job}`): Template {
  return {
    subject,
    title: `Job Not Approved - ${i.job}`,
    blocks: [
      { kind: 'lead', text: 'Your job was not approved.', h1: 'Job Not Approved' },
      { kind: 'rows', rows: [{ label: 'Job Name', textLabel: 'Job', value: i.job }, { label: 'Status', value: 'Not Approved', badge: 'error', only: 'html' }] },
      { kind: 'para', text: i.friendlyReason },
      { kind: 'para', text: 'If you believe this is an error, please contact the data owner.' },
    ],
  };
}

export function newPeerRequestTemplate(i: { dsEmail: string }): Template {
  return {
    subject: `New Peer Request from ${i.dsEmail}`,
    title: `New Peer Request from ${i.dsEmail}`,
    blocks: [
      { kind: 'lead', text: 'You have a new peer request in SyftBox!', h1: 'New Peer Request' },
      {
        kind: 'rows',
        rows: [
          { label: 'From', value: i.dsEmail },
          { label: 'Status', value: 'Pending', badge: 'pending', only: 'html' },
          { label: 'Action', value: 'Review request', only: 'html' },
        ],
      },
      { kind: 'para', text: 'A data scientist wants to connect with you to collaborate on data projects.' },
      {
        kind: 'list',
        only: 'html',
        intro: 'Once approved, they will be able to:',
        items: [{ text: 'Submit jobs to run on your data' }, { text: 'See the datasets you share with them' }, { text: 'Receive the results of approved jobs' }],
      },
      { kind: 'para', text: 'Log in to SyftBox to review this peer request.' },
    ],
  };
}

export function peerRequestSentTemplate(i: { doEmail: string }): Template {
  return {
    subject: `Peer Request Sent to ${i.doEmail}`,
    title: `Peer Request Sent - ${i.doEmail}`,
    blocks: [
      { kind: 'lead', text: 'Your peer request has been sent!', h1: 'Peer Request Sent' },
      { kind: 'rows', rows: [{ label: 'To', value: i.doEmail }, { label: 'Status', value: 'Pending', badge: 'info', only: 'html' }] },
      { kind: 'para', text: 'Your request to connect with this data owner has been sent.\nYou will be notified when they accept your request.' },
      {
        kind: 'list',
        only: 'html',
        intro: 'What happens next:',
        items: [{ text: 'The data owner reviews your request' }, { text: 'You get an e-mail when it is accepted' }, { text: 'Then you can submit jobs to their datasite' }],
      },
    ],
  };
}

export function peerGrantedTemplate(i: { doEmail: string }): Template {
  return {
    subject: `Peer Request Accepted: ${i.doEmail}`,
    title: `Peer Request Accepted - ${i.doEmail}`,
    blocks: [
      { kind: 'lead', text: 'Your peer request has been accepted!', h1: 'Peer Request Accepted' },
      {
        kind: 'rows',
        rows: [
          { label: 'Peer', value: i.doEmail },
          { label: 'Status', value: 'Mutual Peering', badge: 'success', only: 'html' },
          { label: 'Connection', value: 'Bidirectional', only: 'html' },
        ],
      },
      { kind: 'para', text: 'The data owner has accepted your request. You can now collaborate with them.' },
    ],
  };
}

/** Reference #12: defined, never triggered (there as well as here). */
export function peerAddedTemplate(i: { doEmail: string }): Template {
  return {
    subject: `Peer Added: ${i.doEmail}`,
    title: `Peer Added - ${i.doEmail}`,
    blocks: [
      { kind: 'lead', text: 'You successfully added a peer in SyftBox!', h1: 'Peer Added Successfully' },
      {
        kind: 'rows',
        rows: [
          { label: 'Peer', value: i.doEmail },
          { label: 'Status', value: 'Connected', badge: 'success', only: 'html' },
          { label: 'Connection', value: 'One-way (you follow them)', only: 'html' },
        ],
      },
      { kind: 'para', text: 'You can now submit jobs and collaborate with this data owner.' },
    ],
  };
}

/** §7.4 "Friendly rejection reason mapping" (substring tests in this order). */
export function friendlyReason(job: string, reason: string): string {
  if (reason.includes('unknown peer')) return `Your job "${job}" could not be processed because your account is not yet registered with this data owner. Please contact them to get added as an approved collaborator.`;
  if (reason.includes('unapproved file')) return `Your job "${job}" contained a script file that hasn't been approved by the data owner. Please check that you're submitting the correct files.`;
  if (reason.includes('hash mismatch')) return `Your job "${job}" contained a script that differs from the approved version. This can happen if the file was modified after approval. Please contact the data owner to re-approve your script.`;
  if (reason.includes('no Python files')) return `Your job "${job}" did not contain any Python files. Please make sure your submission includes the required scripts.`;
  return `Your job "${job}" was not approved: ${reason}`;
}

/** The templates' `duration` filter: `1 hour 2 minutes 5 seconds`, `0 seconds`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  const parts: string[] = [];
  const unit = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  if (h) parts.push(unit(h, 'hour'));
  if (m) parts.push(unit(m, 'minute'));
  if (r || parts.length === 0) parts.push(unit(r, 'second'));
  return parts.join(' ');
}

export { intervalHuman };

// ---------------------------------------------------------------------------------------------------------------
// Rendering

export function render(t: Template): Rendered {
  return { subject: t.subject, text: renderText(t), html: renderHtml(t) };
}

function ensureNl(s: string): string {
  return s.endsWith('\n') ? s : s + '\n';
}

export function renderText(t: Template): string {
  const parts: string[] = [];
  for (const b of t.blocks) {
    switch (b.kind) {
      case 'lead':
        parts.push(`${b.text}\n`);
        break;
      case 'rows': {
        const rows = b.rows.filter((r) => r.only !== 'html');
        if (rows.length) parts.push(rows.map((r) => `${r.textLabel ?? r.label}: ${r.value}\n`).join(''));
        break;
      }
      case 'para':
        if (b.only !== 'html') parts.push(ensureNl(b.text));
        break;
      case 'code':
        parts.push(
          `Files: ${b.files.map((f) => f.name).join(', ')}\n\n--- Code ---\n` +
            b.files.map((f) => `#${f.name}\n${f.content}\n\n`).join('') +
            '--- End Code ---\n',
        );
        break;
      case 'pre':
        parts.push(`--- ${b.heading} ---\n${b.body}\n--- End ${b.heading} ---\n`);
        break;
      case 'list':
        if (b.only !== 'html') parts.push(`${b.intro}\n` + b.items.map((x) => `${b.indent ?? '- '}${x.text}\n`).join(''));
        break;
    }
  }
  return parts.join('\n');
}

const BADGE: Record<Badge, [string, string]> = {
  success: ['#dcfce7', '#166534'],
  pending: ['#fef3c7', '#92400e'],
  error: ['#fee2e2', '#991b1b'],
  info: ['#dbeafe', '#1e40af'],
};

const PRE = 'margin:0;padding:12px;background:#111827;color:#f9fafb;border-radius:0 0 6px 6px;font-size:12px;line-height:1.45;white-space:pre-wrap;word-break:break-word;overflow-x:auto;font-family:SFMono-Regular,Menlo,Consolas,monospace';
const PRE_HEAD = 'padding:6px 12px;background:#374151;color:#e5e7eb;border-radius:6px 6px 0 0;font-size:12px;font-family:SFMono-Regular,Menlo,Consolas,monospace';
const P = 'color:#374151;font-size:14px;line-height:1.5';

function htmlRow(r: Row): string {
  const label = `<td style="padding:6px 12px;color:#6b7280;white-space:nowrap;vertical-align:top">${escapeHtml(r.label)}</td>`;
  if (r.badge) {
    const [bg, fg] = BADGE[r.badge];
    return `<tr>${label}<td style="padding:6px 12px"><span style="background:${bg};color:${fg};border-radius:9999px;padding:2px 10px;font-size:12px;font-weight:600">${escapeHtml(r.value)}</span></td></tr>`;
  }
  return `<tr>${label}<td style="padding:6px 12px;color:#111827;word-break:break-word">${escapeHtml(r.value)}</td></tr>`;
}

function paraHtml(text: string): string {
  return `<p style="${P}">${text.split('\n').map(escapeHtml).join('<br>')}</p>`;
}

export function renderHtml(t: Template): string {
  const body: string[] = [];
  for (const b of t.blocks) {
    switch (b.kind) {
      case 'lead':
        body.push(`<h1 style="margin:0 0 16px;font-size:22px;color:#111827">${escapeHtml(b.h1)}</h1>`);
        break;
      case 'rows': {
        const rows = b.rows.filter((r) => r.only !== 'text');
        if (rows.length) body.push('<table style="border-collapse:collapse;width:100%;background:#f9fafb;border-radius:6px;margin:0 0 16px">', ...rows.map(htmlRow), '</table>');
        break;
      }
      case 'para':
        if (b.only !== 'text') body.push(paraHtml(b.text));
        break;
      case 'code':
        body.push('<h2 style="font-size:16px;color:#111827;margin:24px 0 8px">Submitted Code</h2>');
        for (const f of b.files) {
          body.push(`<div style="margin:0 0 12px"><div style="${PRE_HEAD}">${escapeHtml(f.name)}</div><pre style="${PRE}">${escapeHtml(f.content)}</pre></div>`);
        }
        break;
      case 'pre':
        body.push(`<h2 style="font-size:16px;color:#111827;margin:24px 0 8px">${escapeHtml(b.heading)}</h2>`);
        body.push(`<div style="margin:0 0 12px"><div style="${PRE_HEAD}">${escapeHtml(b.label)}</div><pre style="${PRE}">${escapeHtml(b.body)}</pre></div>`);
        break;
      case 'list':
        if (b.only !== 'text') {
          body.push(
            `<div style="background:#f9fafb;border-radius:6px;padding:12px 16px;margin:16px 0"><p style="${P};margin:0 0 8px">${escapeHtml(b.intro)}</p><ul style="${P};margin:0;padding-left:20px">` +
              b.items.map((x) => `<li>${x.html ?? escapeHtml(x.text)}</li>`).join('') +
              '</ul></div>',
          );
        }
        break;
    }
  }
  return htmlPage(t.title, body);
}
