/**
 * Heartbeat e-mail content (reference §10.7, template row 13 of §7.4, Appendix A) and its schedule. Pure.
 *
 * RFC 3834 `Auto-Submitted: auto-generated` keeps vacation auto-responders from answering heartbeats.
 *
 * Difference from the reference: the Python service mails a heartbeat on every (re)start; here one is due only when
 * none was sent within the interval ({@link heartbeatDue}), so a PM2 restart loop does not flood the inbox.
 */
import type { EmailMessage } from '../mail/message';
import { escapeHtml, htmlPage } from './html-frame';

export const HEARTBEAT_SUBJECT = 'heartbeat: syft-bg still running, token is active';

/**
 * Where the notify service delivers mail; the heartbeat wording depends on it. A string describes a non-Gmail
 * transport as printed in the `Transport:` line, e.g. `maildir (/home/me/.syft-bg/mail)`; `'gmail'` means Gmail.
 */
export type HeartbeatTransport = { kind: 'gmail' } | { kind: 'maildir'; path: string } | string;

export interface HeartbeatInput {
  doEmail: string;
  /** When the heartbeat is sent; printed in the process's local time zone, like the reference. */
  now: Date;
  intervalSeconds: number;
  transport: HeartbeatTransport;
}

export interface HeartbeatEmailInput extends HeartbeatInput {
  /** Machine the service runs on; sent in an `X-Syft-Bg-Host` header. */
  hostname?: string;
  /** Default `syft-bg <doEmail>`. */
  from?: string;
}

export interface HeartbeatContent {
  subject: string;
  text: string;
  html: string;
}

/** `sender.py` `interval_human`: 86400 → `1d`, 90000 → `25h`, 120 → `2m`, 90 → `90s`. */
export function intervalHuman(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** `%Y-%m-%d %H:%M:%S` in local time. */
export function formatLocalTimestamp(d: Date): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
}

const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** The templates' `datetime` filter, `%B %d, %Y at %I:%M %p` in local time: `January 02, 2026 at 03:04 PM`. */
export function formatLongDateTime(d: Date): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  const h = d.getHours();
  const h12 = h % 12 === 0 ? 12 : h % 12;
  return `${MONTH_NAMES[d.getMonth()]} ${p2(d.getDate())}, ${d.getFullYear()} at ${p2(h12)}:${p2(d.getMinutes())} ${h < 12 ? 'AM' : 'PM'}`;
}

/**
 * Subject, plain text and HTML of a heartbeat. With Gmail the text is the reference's Appendix A body, byte for byte;
 * with a Maildir it says where the mail goes instead of talking about a Gmail token. The subject never changes.
 */
export function heartbeatContent(inp: HeartbeatInput): HeartbeatContent {
  const interval = intervalHuman(inp.intervalSeconds);
  const transport = describeTransport(inp.transport);
  const lines = [
    'syft-bg is still running.',
    '',
    `Account: ${inp.doEmail}`,
    `Sent: ${formatLocalTimestamp(inp.now)}`,
    `Heartbeat interval: ${interval}`,
  ];
  let confirms: string;
  if (transport !== undefined) {
    lines.push(`Transport: ${transport}`);
    confirms = 'Receiving this email confirms the notify service is up and can still deliver mail.';
  } else {
    confirms = 'Receiving this email confirms the notify service is up and the Gmail token is still valid.';
  }
  lines.push('', `${confirms} If these stop arriving, check \`syft-bg status\`.`);
  const text = lines.join('\n') + '\n';

  const rows: [string, string, boolean?][] = [
    ['Account', inp.doEmail],
    ['Sent', formatLongDateTime(inp.now)],
    ['Heartbeat interval', interval],
  ];
  if (transport !== undefined) rows.push(['Transport', transport]);
  rows.push(['Status', 'Healthy', true]);
  const html = heartbeatHtml(rows, confirms);
  return { subject: HEARTBEAT_SUBJECT, text, html };
}

/** The heartbeat as a message for a MailTransport: from the DO (shown as `syft-bg`) to the DO. */
export function heartbeatEmail(inp: HeartbeatEmailInput): EmailMessage {
  const c = heartbeatContent(inp);
  const headers: Record<string, string> = { 'Auto-Submitted': 'auto-generated' };
  if (inp.hostname !== undefined && inp.hostname !== '') headers['X-Syft-Bg-Host'] = inp.hostname;
  return { from: inp.from ?? `syft-bg <${inp.doEmail}>`, to: [inp.doEmail], subject: c.subject, text: c.text, html: c.html, date: inp.now, headers };
}

/** undefined for Gmail (the reference wording), else the text of the `Transport:` line. */
function describeTransport(t: HeartbeatTransport): string | undefined {
  if (typeof t === 'string') return t === 'gmail' ? undefined : t;
  return t.kind === 'gmail' ? undefined : `maildir (${t.path})`;
}

/**
 * True when no heartbeat was sent within the last `intervalSeconds` (or none is recorded, or the record is
 * unreadable, or it lies in the future — a clock that went back — so a bad record can never silence heartbeats).
 */
export function heartbeatDue(lastSentIso: string | undefined, now: Date, intervalSeconds: number): boolean {
  if (!Number.isFinite(intervalSeconds) || intervalSeconds <= 0) throw new RangeError(`heartbeat interval must be a positive number of seconds, got ${intervalSeconds}`);
  if (lastSentIso === undefined || lastSentIso.trim() === '') return true;
  const last = Date.parse(lastSentIso);
  if (Number.isNaN(last)) return true;
  const elapsed = now.getTime() - last;
  if (elapsed < 0) return true;
  return elapsed >= intervalSeconds * 1000;
}

export { escapeHtml } from './html-frame';

/** The reference's `heartbeat.html` on `base.html` (§7.8), self-contained with inline styles for mail clients. */
function heartbeatHtml(rows: [string, string, boolean?][], confirms: string): string {
  const row = ([label, value, badge]: [string, string, boolean?]) =>
    `<tr><td style="padding:6px 12px;color:#6b7280;white-space:nowrap">${escapeHtml(label)}</td>` +
    (badge
      ? `<td style="padding:6px 12px"><span style="background:#dcfce7;color:#166534;border-radius:9999px;padding:2px 10px;font-size:12px;font-weight:600">${escapeHtml(value)}</span></td></tr>`
      : `<td style="padding:6px 12px;color:#111827">${escapeHtml(value)}</td></tr>`);
  return htmlPage('syft-bg heartbeat', [
    '<h1 style="margin:0 0 16px;font-size:22px;color:#111827">syft-bg is still running</h1>',
    '<table style="border-collapse:collapse;width:100%;background:#f9fafb;border-radius:6px">',
    ...rows.map(row),
    '</table>',
    `<p style="color:#374151;font-size:14px;line-height:1.5">${escapeHtml(confirms)} If these stop arriving, run <code>syft-bg status</code>.</p>`,
  ]);
}
