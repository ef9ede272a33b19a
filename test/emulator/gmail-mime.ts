/**
 * MIME helpers for the Gmail module: split a message into header fields and body, edit header fields without
 * touching anything else, and turn a message into the Gmail API `MessagePart` tree
 * (https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages#MessagePart).
 *
 * Header values in `payload.headers` are unfolded and RFC 2047-decoded (as the Gmail API returns them); body data
 * is the transfer-decoded content, base64url. Parts with a filename are attachments: their body carries an
 * `attachmentId` (served by users.messages.attachments.get) instead of `data`, as in Gmail.
 */
import libmime from 'libmime';

export interface HeaderField {
  name: string;
  /** Unfolded value, leading whitespace removed, not decoded. */
  value: string;
  /** The field exactly as on the wire (folded lines joined with their line breaks), without the final line break. */
  raw: string;
}

export interface SplitMessage {
  fields: HeaderField[];
  body: Buffer;
  /** Line break style of the header block (`\r\n` or `\n`). */
  eol: string;
}

export interface GmailHeader {
  name: string;
  value: string;
}

export interface GmailPart {
  partId: string;
  mimeType: string;
  filename: string;
  headers: GmailHeader[];
  body: { size: number; data?: string; attachmentId?: string };
  parts?: GmailPart[];
}

/** Split at the first empty line. Header text is latin1 so every byte survives a round trip. */
export function splitMessage(raw: Buffer): SplitMessage {
  let end = -1;
  let sepLen = 0;
  let eol = '\r\n';
  // The header block may be empty (the message starts with an empty line).
  if (raw[0] === 0x0a) {
    end = 0;
    sepLen = 1;
    eol = '\n';
  } else if (raw[0] === 0x0d && raw[1] === 0x0a) {
    end = 0;
    sepLen = 2;
  } else {
    for (let i = 0; i < raw.length - 1; i++) {
      if (raw[i] !== 0x0a) continue;
      if (raw[i + 1] === 0x0a) {
        end = i + 1;
        sepLen = 1;
        eol = raw[i - 1] === 0x0d ? '\r\n' : '\n';
        break;
      }
      if (raw[i + 1] === 0x0d && raw[i + 2] === 0x0a) {
        end = i + 1;
        sepLen = 2;
        eol = raw[i - 1] === 0x0d ? '\r\n' : '\n';
        break;
      }
    }
  }
  const headerText = (end < 0 ? raw : raw.subarray(0, end)).toString('latin1');
  const body = end < 0 ? Buffer.alloc(0) : raw.subarray(end + sepLen);
  if (end < 0) eol = headerText.includes('\r\n') ? '\r\n' : '\n';
  return { fields: parseFields(headerText), body, eol };
}

function parseFields(text: string): HeaderField[] {
  const lines = text.split(/\r?\n/);
  const breaks = text.match(/\r?\n/g) ?? [];
  const out: HeaderField[] = [];
  let cur: { lines: string[]; seps: string[] } | undefined;
  const flush = () => {
    if (!cur) return;
    let raw = cur.lines[0]!;
    for (let i = 1; i < cur.lines.length; i++) raw += cur.seps[i - 1]! + cur.lines[i]!;
    const colon = raw.indexOf(':');
    if (colon > 0) {
      const name = raw.slice(0, colon).trim();
      const value = raw.slice(colon + 1).replace(/\r?\n(?=[ \t])/g, '').replace(/^[ \t]+/, '').replace(/[ \t]+$/, '');
      out.push({ name, value, raw });
    }
    cur = undefined;
  };
  lines.forEach((line, i) => {
    if (line === '' && i === lines.length - 1) return;
    if ((line.startsWith(' ') || line.startsWith('\t')) && cur) {
      cur.seps.push(breaks[i - 1] ?? '\r\n');
      cur.lines.push(line);
    } else {
      flush();
      cur = { lines: [line], seps: [] };
    }
  });
  flush();
  return out;
}

/** Reassemble a message from (edited) header fields and the original body. */
export function joinMessage(fields: HeaderField[], body: Buffer, eol: string): Buffer {
  const head = fields.map((f) => f.raw + eol).join('') + eol;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/** A new header field; `value` must already be 7-bit safe. */
export function field(name: string, value: string): HeaderField {
  return { name, value, raw: `${name}: ${value}` };
}

export function getField(fields: HeaderField[], name: string): HeaderField | undefined {
  const n = name.toLowerCase();
  return fields.find((f) => f.name.toLowerCase() === n);
}

/** Decode a raw header value for display: latin1-held bytes back to UTF-8, then RFC 2047 encoded-words. */
export function decodeHeaderValue(value: string): string {
  const text = /[\x80-\xff]/.test(value) ? Buffer.from(value, 'latin1').toString('utf8') : value;
  return text.includes('=?') ? libmime.decodeWords(text) : text;
}

/** The `<…>` message ids in a Message-ID, In-Reply-To or References value, without brackets. */
export function messageIds(value: string | undefined): string[] {
  if (!value) return [];
  const out: string[] = [];
  for (const m of value.matchAll(/<([^<>\s]+)>/g)) out.push(m[1]!);
  if (out.length === 0 && /^[^\s<>]+@[^\s<>]+$/.test(value.trim())) out.push(value.trim());
  return out;
}

/** RFC 2045 §6.7 quoted-printable decoding (soft line breaks removed, `=XX` decoded, lenient on bad escapes). */
export function decodeQuotedPrintable(input: Buffer): Buffer {
  const s = input.toString('latin1').replace(/[ \t]+(?=\r?\n)/g, '').replace(/=\r?\n/g, '');
  const out = Buffer.alloc(s.length);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x3d && i + 2 < s.length && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      out[n++] = parseInt(s.slice(i + 1, i + 3), 16);
      i += 2;
    } else {
      out[n++] = c & 0xff;
    }
  }
  return out.subarray(0, n);
}

export function decodeTransfer(body: Buffer, cte: string | undefined): Buffer {
  const enc = (cte ?? '').trim().toLowerCase();
  if (enc === 'base64') return Buffer.from(body.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  if (enc === 'quoted-printable') return decodeQuotedPrintable(body);
  return body;
}

function contentType(fields: HeaderField[], parentDefault: string): { mimeType: string; params: Record<string, string> } {
  const f = getField(fields, 'content-type');
  if (!f) return { mimeType: parentDefault, params: {} };
  const parsed = libmime.parseHeaderValue(f.value, { stripComments: true });
  const mimeType = parsed.value.trim().toLowerCase();
  return { mimeType: /^[\w.+-]+\/[\w.+-]+$/.test(mimeType) ? mimeType : 'text/plain', params: parsed.params };
}

function filenameOf(fields: HeaderField[], ctParams: Record<string, string>): string {
  const cd = getField(fields, 'content-disposition');
  let name = '';
  if (cd) {
    const parsed = libmime.parseHeaderValue(cd.value, { stripComments: true });
    name = parsed.params.filename ?? '';
    if (name && !parsed.decodedParams.includes('filename')) name = decodeHeaderValue(name);
  }
  if (!name && ctParams.name) name = decodeHeaderValue(ctParams.name);
  return name;
}

/** Split a multipart body at its boundary (RFC 2046 §5.1.1): the parts between the first and the closing delimiter. */
function splitMultipart(body: Buffer, boundary: string): Buffer[] {
  const text = body.toString('latin1');
  const delim = '--' + boundary;
  const parts: Buffer[] = [];
  // A delimiter line starts at the beginning of the body or after a line break.
  const re = new RegExp(`(?:^|\\r?\\n)${delim.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(--)?[ \\t]*(?:\\r?\\n|$)`, 'g');
  let last = -1;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (last >= 0) parts.push(body.subarray(last, m.index));
    if (m[1] === '--') return parts;
    last = m.index + m[0].length;
  }
  if (last >= 0) parts.push(body.subarray(last));
  return parts;
}

export interface PayloadOptions {
  /** Attachment ids: called with the part id of every part that has a filename. */
  attachmentId: (partId: string) => string;
}

/** The Gmail `MessagePart` tree of a message. `partId` of the top part is `''`, children `0`, `1`, then `1.0` … */
export function buildPayload(raw: Buffer, opts: PayloadOptions): GmailPart {
  return partOf(splitMessage(raw), '', 'text/plain', opts, 0);
}

function partOf(msg: SplitMessage, partId: string, defaultType: string, opts: PayloadOptions, depth: number): GmailPart {
  const { mimeType, params } = contentType(msg.fields, defaultType);
  const headers = msg.fields.map((f) => ({ name: f.name, value: decodeHeaderValue(f.value) }));
  const filename = filenameOf(msg.fields, params);
  if (mimeType.startsWith('multipart/') && params.boundary && depth < 20) {
    const childDefault = mimeType === 'multipart/digest' ? 'message/rfc822' : 'text/plain';
    const parts = splitMultipart(msg.body, params.boundary).map((b, i) =>
      partOf(splitMessage(b), partId === '' ? String(i) : `${partId}.${i}`, childDefault, opts, depth + 1),
    );
    return { partId, mimeType, filename, headers, body: { size: 0 }, parts };
  }
  const data = decodeTransfer(msg.body, getField(msg.fields, 'content-transfer-encoding')?.value);
  if (filename) return { partId, mimeType, filename, headers, body: { attachmentId: opts.attachmentId(partId), size: data.length } };
  return { partId, mimeType, filename, headers, body: { size: data.length, ...(data.length > 0 ? { data: data.toString('base64url') } : {}) } };
}

/** Find a part by id in a payload tree. */
export function findPart(p: GmailPart, partId: string): GmailPart | undefined {
  if (p.partId === partId) return p;
  for (const c of p.parts ?? []) {
    const f = findPart(c, partId);
    if (f) return f;
  }
  return undefined;
}

/** The decoded content of a leaf part (used for attachments). */
export function partData(raw: Buffer, partId: string): Buffer | undefined {
  let msg = splitMessage(raw);
  let defaultType = 'text/plain';
  if (partId === '') return decodeTransfer(msg.body, getField(msg.fields, 'content-transfer-encoding')?.value);
  for (const idx of partId.split('.')) {
    const { mimeType, params } = contentType(msg.fields, defaultType);
    if (!mimeType.startsWith('multipart/') || !params.boundary) return undefined;
    const child = splitMultipart(msg.body, params.boundary)[Number(idx)];
    if (child === undefined) return undefined;
    defaultType = mimeType === 'multipart/digest' ? 'message/rfc822' : 'text/plain';
    msg = splitMessage(child);
  }
  return decodeTransfer(msg.body, getField(msg.fields, 'content-transfer-encoding')?.value);
}

/** Gmail's snippet: the start of the body text, whitespace collapsed, HTML-escaped (Gmail escapes `'` as `&#39;`). */
export function snippetOf(text: string): string {
  const plain = text.replace(/\s+/g, ' ').trim();
  const cut = Array.from(plain).slice(0, 200).join('');
  return cut.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Subject for thread matching: `Re:`/`Fwd:`/`Fw:` (and `Re[2]:`, `AW:`, `SV:`) prefixes removed, case and spaces folded. */
export function normalizeSubject(subject: string): string {
  let s = subject.replace(/\s+/g, ' ').trim();
  for (;;) {
    const next = s.replace(/^(?:re|fwd?|aw|sv|wg)\s*(?:\[\d+\])?\s*:\s*/i, '');
    if (next === s) break;
    s = next;
  }
  return s.toLowerCase();
}
