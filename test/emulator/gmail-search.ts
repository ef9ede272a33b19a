/**
 * The subset of Gmail's search syntax (`q` of users.messages.list) the emulator understands.
 * Docs: https://developers.google.com/workspace/gmail/api/guides/filtering and https://support.google.com/mail/answer/7190
 *
 * Supported: `rfc822msgid:<id>` (brackets optional), `from:`, `to:` (To, Cc and Bcc), `cc:`, `bcc:`, `subject:`,
 * `in:inbox|sent|spam|trash|anywhere|drafts|starred|unread`, `label:`, `is:unread|read|starred|important`,
 * `after:`/`before:`/`newer:`/`older:` (epoch seconds or yyyy/mm/dd, dates at midnight Pacific time as Gmail
 * documents), `newer_than:`/`older_than:` (Nd, Nm, Ny), `has:attachment`; plain words and "quoted phrases" (match
 * subject, body, From and To); `-term` negation; `a OR b`; values quoted ("…", an exact phrase) or grouped in parentheses (every word).
 * `me` in from:/to:/cc:/bcc: is the mailbox owner. Word matching is on word boundaries, case-insensitive, as Gmail's
 * tokenised search (`subject:hel` does not match "hello").
 */

export interface Searchable {
  owner: string;
  from: string;
  to: string;
  cc: string;
  bcc: string;
  subject: string;
  body: string;
  labelIds: readonly string[];
  internalDate: number;
  /** Message-ID without brackets, lower case. */
  rfcId: string;
  hasAttachment: boolean;
}

type Pred = (m: Searchable) => boolean;

export interface Query {
  match: Pred;
  /** The query names spam or trash (`in:spam`, `in:trash`, `in:anywhere`, `label:spam`…): do not hide them. */
  includesSpamTrash: boolean;
  /** Set when the query is exactly one `rfc822msgid:` term: lets the caller use its index. */
  rfc822msgid?: string;
}

export class QueryError extends Error {}

interface Token {
  neg: boolean;
  key?: string;
  value: string;
  quoted: boolean;
  /** `key:(a b)`: every word must match (not as a phrase). */
  grouped: boolean;
}

function tokenize(q: string): (Token | 'OR')[] {
  const out: (Token | 'OR')[] = [];
  let i = 0;
  while (i < q.length) {
    while (i < q.length && /\s/.test(q[i]!)) i++;
    if (i >= q.length) break;
    let neg = false;
    if (q[i] === '-' && i + 1 < q.length && !/\s/.test(q[i + 1]!)) {
      neg = true;
      i++;
    }
    let key: string | undefined;
    const km = /^([a-z_0-9]+):/i.exec(q.slice(i));
    if (km) {
      key = km[1]!.toLowerCase();
      i += km[0].length;
    }
    let value = '';
    let quoted = false;
    let grouped = false;
    if (q[i] === '"') {
      const end = q.indexOf('"', i + 1);
      value = q.slice(i + 1, end < 0 ? q.length : end);
      i = end < 0 ? q.length : end + 1;
      quoted = true;
    } else if (q[i] === '(' && key !== undefined) {
      const end = q.indexOf(')', i + 1);
      value = q.slice(i + 1, end < 0 ? q.length : end);
      i = end < 0 ? q.length : end + 1;
      quoted = true;
      grouped = true;
    } else {
      const start = i;
      while (i < q.length && !/\s/.test(q[i]!)) i++;
      value = q.slice(start, i);
    }
    if (!neg && key === undefined && !quoted && value === 'OR') out.push('OR');
    else out.push({ neg, key, value, quoted, grouped });
  }
  return out;
}

const WORD = /[\p{L}\p{N}]+/gu;

/** Word-boundary phrase matcher (case-insensitive). */
function phrase(text: string): (hay: string) => boolean {
  const words = text.toLowerCase().match(WORD) ?? [];
  if (words.length === 0) return () => true;
  const esc = (w: string) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`(?:^|[^\\p{L}\\p{N}])${words.map(esc).join('[^\\p{L}\\p{N}]+')}(?:$|[^\\p{L}\\p{N}])`, 'iu');
  return (hay) => re.test(hay);
}

/** Pacific-time midnight of a calendar date (Gmail: "dates are interpreted as midnight PST"). */
function pacificMidnight(y: number, mo: number, d: number): number {
  const utcMidnight = Date.UTC(y, mo - 1, d);
  // Offset of America/Los_Angeles at that instant (PST -8 or PDT -7).
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: 'America/Los_Angeles', timeZoneName: 'shortOffset' }).formatToParts(new Date(utcMidnight + 12 * 3600_000));
  const off = /GMT([+-]\d+)/.exec(parts.find((p) => p.type === 'timeZoneName')?.value ?? '');
  const hours = off ? Number(off[1]) : -8;
  return utcMidnight - hours * 3600_000;
}

export function parseTime(value: string): number {
  if (/^\d+$/.test(value) && value.length >= 9) return Number(value) * 1000;
  const m = /^(\d{4})[/-](\d{1,2})[/-](\d{1,2})$/.exec(value) ?? undefined;
  if (m) return pacificMidnight(Number(m[1]), Number(m[2]), Number(m[3]));
  const us = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(value);
  if (us) return pacificMidnight(Number(us[3]), Number(us[1]), Number(us[2]));
  throw new QueryError(`Invalid date: ${value}`);
}

function relative(value: string, now: number): number {
  const m = /^(\d+)([dmy])$/i.exec(value);
  if (!m) throw new QueryError(`Invalid relative time: ${value}`);
  const n = Number(m[1]);
  const d = new Date(now);
  const unit = m[2]!.toLowerCase();
  if (unit === 'd') return now - n * 86_400_000;
  if (unit === 'm') d.setUTCMonth(d.getUTCMonth() - n);
  else d.setUTCFullYear(d.getUTCFullYear() - n);
  return d.getTime();
}

const IN_LABEL: Record<string, string> = {
  inbox: 'INBOX', sent: 'SENT', spam: 'SPAM', trash: 'TRASH', drafts: 'DRAFT', draft: 'DRAFT', starred: 'STARRED',
  unread: 'UNREAD', important: 'IMPORTANT', chats: 'CHAT',
};

function addressPred(field: 'from' | 'to' | 'cc' | 'bcc', value: string): Pred {
  const me = value.toLowerCase() === 'me';
  const p = phrase(value);
  const fields: (keyof Searchable)[] = field === 'to' ? ['to', 'cc', 'bcc'] : [field];
  return (m) => fields.some((f) => {
    const hay = m[f] as string;
    return me ? hay.toLowerCase().includes(m.owner.toLowerCase()) : p(hay);
  });
}

function term(t: Token, now: number, flags: { spamTrash: boolean }): Pred {
  if (t.grouped) {
    const parts = t.value.split(/\s+/).filter(Boolean).map((w) => term({ ...t, value: w, grouped: false }, now, flags));
    return (m) => parts.every((p) => p(m));
  }
  const v = t.value;
  switch (t.key) {
    case undefined: {
      const p = phrase(v);
      return (m) => p(m.subject) || p(m.body) || p(m.from) || p(m.to) || p(m.cc);
    }
    case 'rfc822msgid': {
      const id = v.trim().replace(/^<(.*)>$/, '$1').toLowerCase();
      return (m) => m.rfcId === id;
    }
    case 'from':
    case 'to':
    case 'cc':
    case 'bcc':
      return addressPred(t.key, v);
    case 'subject': {
      const p = phrase(v);
      return (m) => p(m.subject);
    }
    case 'in':
    case 'label':
    case 'is': {
      const name = v.toLowerCase();
      if (name === 'anywhere' && t.key === 'in') {
        flags.spamTrash = true;
        return () => true;
      }
      if (name === 'read' && t.key === 'is') return (m) => !m.labelIds.includes('UNREAD');
      const label = IN_LABEL[name] ?? (t.key === 'label' ? v : undefined);
      if (label === undefined) throw new QueryError(`Unsupported ${t.key}:${v}`);
      if (label === 'SPAM' || label === 'TRASH') flags.spamTrash = true;
      const up = label.toUpperCase();
      return (m) => m.labelIds.includes(label) || m.labelIds.includes(up);
    }
    case 'after':
    case 'newer': {
      const at = parseTime(v);
      return (m) => m.internalDate >= at;
    }
    case 'before':
    case 'older': {
      const at = parseTime(v);
      return (m) => m.internalDate < at;
    }
    case 'newer_than': {
      const at = relative(v, now);
      return (m) => m.internalDate >= at;
    }
    case 'older_than': {
      const at = relative(v, now);
      return (m) => m.internalDate < at;
    }
    case 'has':
      if (v.toLowerCase() === 'attachment') return (m) => m.hasAttachment;
      throw new QueryError(`Unsupported has:${v}`);
    default: {
      // Unknown operators are searched as text, as Gmail does with `foo:bar`.
      const p = phrase(`${t.key}:${v}`);
      return (m) => p(m.subject) || p(m.body);
    }
  }
}

export function parseQuery(q: string, now: number): Query {
  const tokens = tokenize(q);
  const flags = { spamTrash: false };
  // Conjunction of disjunctions: `a b OR c d` = a AND (b OR c) AND d.
  const clauses: Pred[][] = [];
  let pendingOr = false;
  for (const tok of tokens) {
    if (tok === 'OR') {
      pendingOr = clauses.length > 0;
      continue;
    }
    let p = term(tok, now, flags);
    if (tok.neg) {
      const inner = p;
      p = (m) => !inner(m);
    }
    if (pendingOr) clauses[clauses.length - 1]!.push(p);
    else clauses.push([p]);
    pendingOr = false;
  }
  const match: Pred = (m) => clauses.every((c) => c.some((p) => p(m)));
  const only = tokens.length === 1 ? tokens[0] : undefined;
  const rfc = only !== undefined && only !== 'OR' && only.key === 'rfc822msgid' && !only.neg ? only.value.trim().replace(/^<(.*)>$/, '$1').toLowerCase() : undefined;
  return { match, includesSpamTrash: flags.spamTrash, ...(rfc !== undefined ? { rfc822msgid: rfc } : {}) };
}
