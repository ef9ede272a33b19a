/**
 * Binary-safe MIME multipart parsing for the Drive emulator:
 *  - `multipart/related` bodies of `uploadType=multipart` uploads
 *    (https://developers.google.com/workspace/drive/api/guides/manage-uploads#multipart): metadata part, then media;
 *  - `multipart/mixed` batch bodies (https://developers.google.com/workspace/drive/api/guides/performance#batch),
 *    whose parts are `application/http` requests.
 * Accepts CRLF (RFC 2046) and bare LF line endings, which some clients (Python's email generator) produce.
 */

export interface Part {
  headers: Record<string, string>;
  body: Buffer;
}

export class MultipartError extends Error {}

export function boundaryOf(contentType: string | undefined): string | undefined {
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  return m ? (m[1] ?? m[2]) : undefined;
}

/** Media type without parameters, lower-cased (`Text/Plain; charset=x` → `text/plain`). */
export function mediaType(contentType: string | undefined): string | undefined {
  const t = contentType?.split(';')[0]?.trim().toLowerCase();
  return t ? t : undefined;
}

const LF = 0x0a;
const CR = 0x0d;

export function parseMultipart(body: Buffer, boundary: string): Part[] {
  const delim = Buffer.from('--' + boundary);
  /** The next delimiter at a line start, at or after `from`. */
  const find = (from: number): number => {
    let i = body.indexOf(delim, from);
    while (i > 0 && body[i - 1] !== LF) i = body.indexOf(delim, i + 1);
    return i;
  };
  const parts: Part[] = [];
  let pos = find(0);
  if (pos < 0) throw new MultipartError('multipart body without its boundary');
  for (;;) {
    let start = pos + delim.length;
    if (body[start] === 0x2d && body[start + 1] === 0x2d) break; // closing "--boundary--"
    while (body[start] === 0x20 || body[start] === 0x09) start++; // transport padding
    if (body[start] === CR && body[start + 1] === LF) start += 2;
    else if (body[start] === LF) start += 1;
    else throw new MultipartError('malformed multipart delimiter line');
    const next = find(start);
    if (next < 0) throw new MultipartError('multipart body without its closing boundary');
    let end = next;
    if (end >= 2 && body[end - 2] === CR && body[end - 1] === LF) end -= 2;
    else if (end >= 1 && body[end - 1] === LF) end -= 1;
    parts.push(parsePart(body.subarray(start, Math.max(start, end))));
    pos = next;
  }
  return parts;
}

/** Split a header block from its body (blank line), with lower-cased header names. */
function splitHead(buf: Buffer): { lines: string[]; body: Buffer } {
  let sep = -1;
  let sepLen = 0;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] !== LF) continue;
    if (buf[i + 1] === LF) {
      sep = i;
      sepLen = 2;
      break;
    }
    if (buf[i + 1] === CR && buf[i + 2] === LF) {
      sep = i;
      sepLen = 3;
      break;
    }
  }
  // A part starting with a blank line has no headers.
  if (buf[0] === LF) return { lines: [], body: buf.subarray(1) };
  if (buf[0] === CR && buf[1] === LF) return { lines: [], body: buf.subarray(2) };
  if (sep < 0) return { lines: buf.toString('latin1').split(/\r?\n/).filter(Boolean), body: Buffer.alloc(0) };
  return { lines: buf.subarray(0, sep).toString('latin1').split(/\r?\n/), body: buf.subarray(sep + sepLen) };
}

function headerMap(lines: string[]): Record<string, string> {
  const h: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i <= 0) continue;
    h[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return h;
}

function parsePart(buf: Buffer): Part {
  const { lines, body } = splitHead(buf);
  return { headers: headerMap(lines), body };
}

export interface InnerRequest {
  method: string;
  target: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** An `application/http` batch part: request line, headers, blank line, body. */
export function parseHttpRequest(buf: Buffer): InnerRequest {
  let i = 0;
  while (buf[i] === CR || buf[i] === LF) i++; // tolerate leading blank lines
  const rest = buf.subarray(i);
  const eol = rest.indexOf(LF);
  const line = (eol < 0 ? rest : rest.subarray(0, eol)).toString('latin1').replace(/\r$/, '');
  const m = /^([A-Z]+)\s+(\S+)(?:\s+HTTP\/\d(?:\.\d)?)?$/.exec(line);
  if (!m) throw new MultipartError(`malformed request line in batch part: '${line}'`);
  const after = eol < 0 ? Buffer.alloc(0) : rest.subarray(eol + 1);
  // Headers may be absent: then `after` starts with the blank line.
  const { lines, body } = after.length ? splitHead(after) : { lines: [], body: Buffer.alloc(0) };
  return { method: m[1]!, target: m[2]!, headers: headerMap(lines), body };
}
