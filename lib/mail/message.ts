/**
 * E-mail message core: turn an {@link EmailMessage} into a real RFC 5322 / MIME message (pure: no I/O).
 *
 * Wire format decisions (all tested against mailparser in test/mail):
 * - CRLF line endings everywhere; no header line longer than 78 characters (RFC 5322 §2.1.1) as long as each
 *   address fits on a line of its own; body lines at most 76 characters (RFC 2045 §6.7/§6.8).
 * - Header text that is not plain printable ASCII (or that contains `=?`, or a word too long to fold) is sent as
 *   RFC 2047 encoded-words, UTF-8, whichever of B or Q is shorter, split on code-point boundaries.
 * - Line breaks in bodies: `\r\n` and a lone `\n` are line breaks and go on the wire as CRLF (canonical text,
 *   RFC 2046 §4.1.1); a lone `\r` is data and is kept (`=0D` in quoted-printable). A parser that maps CRLF to LF
 *   (mailparser does) therefore returns `text.replace(/\r\n/g, '\n')`; nothing else changes.
 * - CR/LF inside a subject or a custom header value would end the header, so each line break there becomes one space.
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { domainToASCII } from 'node:url';

export interface EmailMessage {
  /** `addr@example.org` or `Display Name <addr@example.org>` (the name may be quoted). */
  from: string;
  to: string[];
  subject: string;
  text: string;
  html?: string;
  /** With or without the angle brackets; generated when absent. */
  messageId?: string;
  /** Message-ID of the parent message (threading, RFC 5322 §3.6.4). */
  inReplyTo?: string;
  /** Message-IDs of the thread, oldest first. */
  references?: string[];
  /** Defaults to `now` of {@link buildMime}. */
  date?: Date;
  /** Extra header fields, e.g. `Auto-Submitted`. Names of the fields buildMime writes itself are refused. */
  headers?: Record<string, string>;
}

export interface BuildMimeOptions {
  now: Date;
  /** Right-hand side of generated Message-IDs. */
  hostname: string;
  /** Source of randomness (Message-ID, MIME boundary); tests may inject a deterministic one. */
  randomBytes?: (n: number) => Uint8Array;
}

export interface BuiltMessage {
  /** The full message, CRLF line endings, 7-bit ASCII only. */
  raw: string;
  /** The Message-ID as written in the header, with angle brackets: `<id@host>`. */
  messageId: string;
}

const CRLF = '\r\n';
const MAX_LINE = 78;
const MAX_ENCODED_WORD = 75;
const BODY_LINE = 76;

/** Header fields buildMime owns; `headers` may not set them. */
const RESERVED_HEADERS = new Set([
  'date', 'from', 'to', 'cc', 'bcc', 'subject', 'message-id', 'in-reply-to', 'references', 'mime-version',
  'content-type', 'content-transfer-encoding', 'sender', 'reply-to',
]);

export function buildMime(msg: EmailMessage, opts: BuildMimeOptions): BuiltMessage {
  const rand = opts.randomBytes ?? ((n: number) => nodeRandomBytes(n));
  if (!Array.isArray(msg.to) || msg.to.length === 0) throw new TypeError('EmailMessage.to must list at least one address');

  const messageId = msg.messageId !== undefined ? normaliseMsgId(msg.messageId, 'messageId') : generateMessageId(opts.hostname, rand);
  const date = msg.date ?? opts.now;
  if (Number.isNaN(date.getTime())) throw new TypeError('invalid date');

  const head: string[] = [];
  head.push(`Date: ${formatRfc5322Date(date)}`);
  head.push(foldTokens('From', formatMailbox(msg.from)));
  head.push(foldTokens('To', msg.to.flatMap((a, i) => withComma(formatMailbox(a), i < msg.to.length - 1))));
  head.push(unstructuredHeader('Subject', msg.subject));
  head.push(`Message-ID: ${messageId}`);
  if (msg.inReplyTo !== undefined) head.push(foldTokens('In-Reply-To', [normaliseMsgId(msg.inReplyTo, 'inReplyTo')]));
  if (msg.references !== undefined && msg.references.length > 0) {
    head.push(foldTokens('References', msg.references.map((r) => normaliseMsgId(r, 'references'))));
  }
  for (const [name, value] of Object.entries(msg.headers ?? {})) {
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) throw new TypeError(`invalid header name: ${JSON.stringify(name)}`);
    if (RESERVED_HEADERS.has(name.toLowerCase())) throw new TypeError(`header ${name} is set by buildMime and cannot be overridden`);
    head.push(unstructuredHeader(name, value));
  }
  head.push('MIME-Version: 1.0');

  const textPart = encodeTextBody(msg.text);
  let body: string;
  if (msg.html === undefined) {
    head.push(`Content-Type: text/plain; charset=utf-8`);
    head.push(`Content-Transfer-Encoding: ${textPart.cte}`);
    body = textPart.body;
  } else {
    const htmlPart = encodeTextBody(msg.html);
    const parts = [
      { type: 'text/plain', ...textPart },
      { type: 'text/html', ...htmlPart },
    ];
    let boundary: string;
    do {
      // "=_" can never appear in quoted-printable or base64 output, so this cannot clash with an encoded body;
      // the loop only guards the impossible.
      boundary = `=_syft-bg_${Buffer.from(rand(12)).toString('hex')}`;
    } while (parts.some((p) => p.body.includes(boundary)));
    head.push(`Content-Type: multipart/alternative;${CRLF} boundary="${boundary}"`);
    const chunks: string[] = ['This is a multi-part message in MIME format.', ''];
    for (const p of parts) {
      chunks.push(`--${boundary}`);
      chunks.push(`Content-Type: ${p.type}; charset=utf-8`);
      chunks.push(`Content-Transfer-Encoding: ${p.cte}`);
      chunks.push('');
      // p.body is empty or ends with CRLF; the CRLF the join adds before the next delimiter belongs to the
      // delimiter (RFC 2046 §5.1.1), so the encoded body is exactly p.body. An empty body is left out entirely
      // (headers, blank line, delimiter): parsers such as mailparser read an extra CRLF there as one empty line.
      if (p.body !== '') chunks.push(p.body);
    }
    chunks.push(`--${boundary}--`);
    body = chunks.join(CRLF) + CRLF;
  }
  return { raw: head.join(CRLF) + CRLF + CRLF + body, messageId };
}

/** What Gmail `users.messages.send` expects in `raw`: the message bytes, base64url. */
export function toGmailRaw(raw: string): string {
  return Buffer.from(raw, 'utf8').toString('base64url');
}

// ---------------------------------------------------------------------------------------------------------------
// Dates and ids

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 5322 §3.3 date-time in UTC, e.g. `Tue, 25 Nov 2025 19:14:03 +0000`. */
export function formatRfc5322Date(d: Date): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]}, ${p2(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} +0000`;
}

function generateMessageId(hostname: string, rand: (n: number) => Uint8Array): string {
  return `<${Buffer.from(rand(16)).toString('hex')}@${idHost(hostname)}>`;
}

/** A hostname usable as a dot-atom (RFC 5322 §3.6.4 id-right). */
function idHost(hostname: string): string {
  const labels = hostname.toLowerCase().split('.').map((l) => l.replace(/[^a-z0-9-]/g, '-')).filter((l) => l !== '');
  return labels.length > 0 ? labels.join('.') : 'localhost';
}

/** RFC 5322 §3.6.4 msg-id without the brackets: id-left "@" (dot-atom-text | no-fold-literal), printable ASCII. */
const MSG_ID = /^[^<>@"(),;:\\[\]\s]+@(?:[^<>@"(),;:\\[\]\s]+|\[[^[\]\\\s]*\])$/;

/** `id@host` or `<id@host>` → `<id@host>`; refuses anything that would break the header. */
function normaliseMsgId(id: string, field: string): string {
  const bare = id.trim().replace(/^<(.*)>$/, '$1');
  if (!/^[\x21-\x7e]+$/.test(bare) || !MSG_ID.test(bare)) throw new TypeError(`invalid ${field} message id: ${JSON.stringify(id)}`);
  return `<${bare}>`;
}

// ---------------------------------------------------------------------------------------------------------------
// Addresses

/** Split `Name <addr>` / `"Name" <addr>` / `addr`. */
export function parseMailbox(input: string): { name: string; address: string } {
  if (/[\r\n]/.test(input)) throw new TypeError(`line break in address: ${JSON.stringify(input)}`);
  const m = /^\s*(.*?)\s*<([^<>]*)>\s*$/.exec(input);
  let name = '';
  let address: string;
  if (m) {
    name = m[1] ?? '';
    address = (m[2] ?? '').trim();
    const q = /^"((?:[^"\\]|\\.)*)"$/.exec(name);
    if (q) name = (q[1] ?? '').replace(/\\(.)/g, '$1');
  } else {
    address = input.trim();
  }
  const at = address.lastIndexOf('@');
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (at <= 0 || domain === '' || !/^[\x21-\x7e]+$/.test(local) || /[<>()\[\]\\,;:"@\s]/.test(local)) {
    throw new TypeError(`invalid e-mail address: ${JSON.stringify(input)}`);
  }
  const asciiDomain = /^[\x21-\x7e]+$/.test(domain) ? domain : domainToASCII(domain);
  if (asciiDomain === '' || /[<>()\[\]\\,;:"@\s]/.test(asciiDomain)) throw new TypeError(`invalid e-mail domain: ${JSON.stringify(input)}`);
  return { name, address: `${local}@${asciiDomain}` };
}

/** Tokens for one mailbox: the display name (plain, quoted or encoded-words), then `<addr>`. */
function formatMailbox(input: string): string[] {
  const { name, address } = parseMailbox(input);
  const trimmed = name.replace(/\s+/g, ' ').trim();
  if (trimmed === '') return [address];
  const angle = `<${address}>`;
  if (/^[\x20-\x7e]*$/.test(trimmed) && !trimmed.includes('=?')) {
    // atext words (RFC 5322 §3.2.3) may go bare; anything else in a quoted-string.
    const phrase = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+( [A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*$/.test(trimmed)
      ? trimmed
      : `"${trimmed.replace(/(["\\])/g, '\\$1')}"`;
    // A quoted-string is folded only at its own spaces; keep it when every piece fits.
    const words = phrase.split(' ');
    if (words.every((w) => w.length <= MAX_LINE - 1 - 'From: '.length)) return [...words, angle];
  }
  return [...encodedWords(trimmed, 'phrase'), angle];
}

function withComma(tokens: string[], comma: boolean): string[] {
  if (!comma || tokens.length === 0) return tokens;
  const out = tokens.slice();
  out[out.length - 1] += ',';
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Header folding and RFC 2047

/**
 * `Name: t1 t2 …` with a single space between tokens; folds (CRLF + the space) between tokens so that no line
 * exceeds 78 characters. A token longer than a line stays whole (the caller avoids that).
 */
function foldTokens(name: string, tokens: string[]): string {
  const lines: string[] = [];
  let line = `${name}:`;
  for (const t of tokens) {
    // The first token always stays on the first line.
    if (line.length + 1 + t.length > MAX_LINE && line !== `${name}:`) {
      lines.push(line);
      line = ` ${t}`;
    } else {
      line += ` ${t}`;
    }
  }
  lines.push(line);
  return lines.join(CRLF);
}

/** An unstructured field (Subject, custom headers): plain text when it folds losslessly, else encoded-words. */
function unstructuredHeader(name: string, value: string): string {
  const v = value.replace(/\r\n|\r|\n/g, ' ');
  const words = v.split(' ');
  const plain = /^[\x21-\x7e]+( [\x21-\x7e]+)*$/.test(v) && !v.includes('=?') &&
    words.every((w, i) => (i === 0 ? name.length + 2 : 1) + w.length <= MAX_LINE);
  if (plain) return foldTokens(name, words);
  if (v === '') return `${name}: `;
  // The first encoded-word is sized to fit after `Name: `; whitespace between encoded-words is not content.
  return foldTokens(name, encodedWords(v, 'text', MAX_LINE - name.length - 2));
}

/**
 * Encode `text` as UTF-8 encoded-words (RFC 2047) of at most 75 characters, each holding whole code points
 * (§5: an encoded-word must not split a character). `firstMax` limits the first word so it fits after the header
 * name. Q or B, whichever is shorter overall. `phrase` selects the stricter Q alphabet of §5 (3).
 */
export function encodedWords(text: string, context: 'text' | 'phrase', firstMax = MAX_ENCODED_WORD - 6): string[] {
  const q = encodeWordsWith(text, 'Q', context, firstMax);
  const b = encodeWordsWith(text, 'B', context, firstMax);
  return q.join(' ').length <= b.join(' ').length ? q : b;
}

function encodeWordsWith(text: string, enc: 'Q' | 'B', context: 'text' | 'phrase', firstMax: number): string[] {
  const prefix = `=?UTF-8?${enc}?`;
  const suffix = '?=';
  const overhead = prefix.length + suffix.length;
  const words: string[] = [];
  let max = Math.min(firstMax, MAX_ENCODED_WORD);
  let cur: Buffer[] = [];
  const encLen = (bufs: Buffer[]) => (enc === 'B' ? 4 * Math.ceil(bufs.reduce((n, b) => n + b.length, 0) / 3) : bufs.reduce((n, b) => n + qEncode(b, context).length, 0));
  const flush = () => {
    const bytes = Buffer.concat(cur);
    words.push(prefix + (enc === 'B' ? bytes.toString('base64') : qEncode(bytes, context)) + suffix);
    cur = [];
    max = MAX_ENCODED_WORD;
  };
  for (const ch of text) {
    const b = Buffer.from(ch, 'utf8');
    if (cur.length > 0 && overhead + encLen([...cur, b]) > max) flush();
    cur.push(b);
  }
  if (cur.length > 0 || words.length === 0) flush();
  return words;
}

function qEncode(bytes: Buffer, context: 'text' | 'phrase'): string {
  const literal = context === 'phrase' ? /[A-Za-z0-9!*+\-/]/ : /[A-Za-z0-9!*+\-/,.:;@#$%&'()[\]^`{|}~<>]/;
  let out = '';
  for (const byte of bytes) {
    const c = String.fromCharCode(byte);
    if (byte === 0x20) out += '_';
    else if (byte < 0x80 && literal.test(c)) out += c;
    else out += `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Bodies

export type TransferEncoding = 'quoted-printable' | 'base64';

/**
 * Encode a text body: line breaks (`\r\n`, lone `\n`) become CRLF, a lone `\r` stays data. Quoted-printable unless
 * base64 is shorter (mostly non-ASCII text). The result ends with CRLF.
 */
export function encodeTextBody(text: string): { cte: TransferEncoding; body: string } {
  const lines = text.split(/\r?\n/).map((l) => Buffer.from(l, 'utf8'));
  const qp = quotedPrintable(lines);
  const canonical = Buffer.concat(lines.flatMap((l, i) => (i === 0 ? [l] : [Buffer.from(CRLF), l])));
  const b64 = base64Body(canonical);
  return qp.length <= b64.length ? { cte: 'quoted-printable', body: qp } : { cte: 'base64', body: b64 };
}

function hex(byte: number): string {
  return `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
}

/**
 * RFC 2045 §6.7 quoted-printable of the given lines (hard breaks between them). Output lines are at most 76
 * characters; `=` escapes are never split; a line never starts with a literal `.` or `F` (so SMTP dot-stuffing and
 * mbox `From ` munging cannot touch it) and never ends in a literal space or tab. If the last line is non-empty it
 * ends in a soft break, so the decoded text has no trailing line break that the input did not have.
 */
function quotedPrintable(lines: Buffer[]): string {
  const out: string[] = [];
  lines.forEach((line, li) => {
    const isLastLine = li === lines.length - 1;
    let cur = '';
    for (let i = 0; i < line.length; i++) {
      const byte = line[i] as number;
      const last = i === line.length - 1;
      let tok: string;
      if ((byte === 0x20 || byte === 0x09) && last) tok = hex(byte);
      else if (byte === 0x3d || byte === 0x0d || (byte < 0x20 && byte !== 0x09) || byte > 0x7e) tok = hex(byte);
      else if (cur === '' && (byte === 0x2e || byte === 0x46)) tok = hex(byte);
      else tok = String.fromCharCode(byte);
      // Room for a soft-break "=" unless this is the last token of a line that ends in a hard break.
      const limit = last && !isLastLine ? BODY_LINE : BODY_LINE - 1;
      if (cur.length + tok.length > limit) {
        out.push(`${cur}=`);
        cur = '';
        // Re-evaluate the token at the start of a new line.
        if (tok === '.' || tok === 'F') tok = hex(byte);
      }
      cur += tok;
    }
    if (isLastLine) {
      if (cur !== '') out.push(`${cur}=`);
    } else {
      out.push(cur);
    }
  });
  return out.length === 0 ? '' : out.join(CRLF) + CRLF;
}

function base64Body(bytes: Buffer): string {
  const b64 = bytes.toString('base64');
  const out: string[] = [];
  for (let i = 0; i < b64.length; i += BODY_LINE) out.push(b64.slice(i, i + BODY_LINE));
  return out.length === 0 ? '' : out.join(CRLF) + CRLF;
}
