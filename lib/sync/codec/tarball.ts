/**
 * The message container (protocol §3.3, `syftbox_utils.compress_data` / `uncompress_data`): a gzip-compressed tar
 * holding exactly one regular file, `proposed_file_changes.json`, the same for proposals, events messages,
 * checkpoints and rolling states.
 *
 * Writing reproduces Python's `tarfile.open(mode="w:gz")` + `addfile(TarInfo("proposed_file_changes.json"))`:
 * one ustar header (mode 0644, uid/gid 0, mtime 0, empty uname/gname, empty device fields), the data padded to
 * 512 bytes, two zero blocks, the whole padded to the 10240-byte record; gzip with level 9, no file name, XFL 2,
 * OS 255 and the current time as gzip mtime, exactly like Python's `GzipFile`.
 *
 * Reading treats the bytes as hostile: only a gzip stream, decompressed size capped, only ustar/v7 regular-file
 * headers with valid checksums, exactly one member with the expected name, no pax/GNU extension headers.
 */
import * as zlib from 'node:zlib';
import { MessageFormatError } from './errors';
import { MESSAGE_MEMBER_NAME } from './names';

const BLOCK = 512;
const RECORD = 10240;
/** Default cap on the member size a reader accepts (and on what gunzip may produce, plus tar overhead). */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** ustar's 11 octal digits; Python switches to a pax header beyond this, which we never need. */
const MAX_USTAR_SIZE = 8 ** 11 - 1;

function putText(buf: Buffer, off: number, len: number, text: string): void {
  const b = Buffer.from(text, 'ascii');
  if (b.length > len) throw new Error(`tar field overflow: ${text}`);
  b.copy(buf, off);
}

/** `tarfile.TarInfo.tobuf(PAX_FORMAT)` for our one member (fits in plain ustar, so no pax header). */
export function tarHeader(size: number, name: string = MESSAGE_MEMBER_NAME): Buffer {
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_USTAR_SIZE) throw new RangeError(`member size ${size} does not fit a ustar header`);
  const h = Buffer.alloc(BLOCK, 0);
  putText(h, 0, 100, name);
  putText(h, 100, 8, '0000644\0');
  putText(h, 108, 8, '0000000\0');
  putText(h, 116, 8, '0000000\0');
  putText(h, 124, 12, size.toString(8).padStart(11, '0') + '\0');
  putText(h, 136, 12, '00000000000\0');
  h.fill(0x20, 148, 156); // checksum field counts as spaces
  putText(h, 156, 1, '0');
  putText(h, 257, 6, 'ustar\0');
  putText(h, 263, 2, '00');
  // uname, gname (32 each), devmajor, devminor (8 each), prefix (155): all NUL, as Python writes them here.
  let sum = 0;
  for (const b of h) sum += b;
  putText(h, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return h;
}

/** The uncompressed tar archive Python writes for `data`. */
export function tarMessage(data: Buffer): Buffer {
  const header = tarHeader(data.length);
  const padded = Math.ceil(data.length / BLOCK) * BLOCK;
  const used = BLOCK + padded + 2 * BLOCK;
  const total = Math.ceil(used / RECORD) * RECORD;
  const out = Buffer.alloc(total, 0);
  header.copy(out, 0);
  data.copy(out, BLOCK);
  return out;
}

/** gzip framing as Python's `GzipFile(mode="wb", compresslevel=9, fileobj=…)` with no file name writes it. */
export function gzipLikePython(raw: Buffer, mtimeSeconds: number): Buffer {
  const header = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x02, 0xff]);
  header.writeUInt32LE(Math.max(0, Math.floor(mtimeSeconds)) >>> 0, 4);
  const body = zlib.deflateRawSync(raw, { level: 9 });
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(zlib.crc32(raw) >>> 0, 0);
  trailer.writeUInt32LE(raw.length >>> 0, 4);
  return Buffer.concat([header, body, trailer]);
}

/**
 * `compress_data(json)`: a `.tar.gz` with one member `proposed_file_changes.json`. `mtime` (seconds) is the gzip
 * header time; Python uses the current time, which is the default.
 */
export function packMessage(json: string | Buffer, opts: { mtime?: number } = {}): Buffer {
  const data = typeof json === 'string' ? Buffer.from(json, 'utf8') : json;
  return gzipLikePython(tarMessage(data), opts.mtime ?? Date.now() / 1000);
}

function cstring(buf: Buffer, off: number, len: number): string {
  const field = buf.subarray(off, off + len);
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? len : nul).toString('latin1');
}

function octal(buf: Buffer, off: number, len: number, what: string): number {
  if ((buf[off]! & 0x80) !== 0) throw new MessageFormatError(`tar header ${what} uses the base-256 encoding, which syft-client never writes`);
  const text = cstring(buf, off, len).replace(/^[ ]+|[ ]+$/g, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new MessageFormatError(`tar header ${what} is not an octal number: ${JSON.stringify(text)}`);
  return parseInt(text, 8);
}

function isZeroBlock(b: Buffer): boolean {
  for (const x of b) if (x !== 0) return false;
  return true;
}

const TYPE_NAMES: Record<string, string> = {
  '1': 'a hard link',
  '2': 'a symbolic link',
  '3': 'a character device',
  '4': 'a block device',
  '5': 'a directory',
  '6': 'a FIFO',
  '7': 'a contiguous file',
  x: 'a pax extended header',
  g: 'a pax global header',
  L: 'a GNU long-name header',
  K: 'a GNU long-link header',
  S: 'a GNU sparse file',
};

function gunzip(buf: Buffer, maxOut: number): Buffer {
  if (buf.length < 18) throw new MessageFormatError(`not a gzip stream: only ${buf.length} bytes`);
  if (buf[0] !== 0x1f || buf[1] !== 0x8b) throw new MessageFormatError(`not a gzip stream: starts with ${buf.subarray(0, 4).toString('hex')}`);
  try {
    return zlib.gunzipSync(buf, { maxOutputLength: maxOut });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new MessageFormatError(`gzip stream decompresses to more than ${maxOut} bytes (size bomb?)`);
    }
    throw new MessageFormatError(`corrupt gzip stream: ${err.message}`);
  }
}

/**
 * `uncompress_data(buf)`: the bytes of the one member `proposed_file_changes.json`. Throws `MessageFormatError`
 * for anything else. `maxBytes` caps the member size (default 64 MiB).
 */
export function unpackMessage(buf: Buffer, opts: { maxBytes?: number } = {}): Buffer {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  // room for the header, the padding, the end blocks and the record padding around a maximal member
  const tar = gunzip(buf, maxBytes + BLOCK * 3 + RECORD);
  if (tar.length < BLOCK) throw new MessageFormatError(`not a tar archive: ${tar.length} bytes after gunzip`);
  const h = tar.subarray(0, BLOCK);
  if (isZeroBlock(h)) throw new MessageFormatError('empty tar archive: member proposed_file_changes.json is missing');
  const stored = octal(h, 148, 8, 'checksum');
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  if (stored !== unsigned && stored !== signed) throw new MessageFormatError('not a tar archive: header checksum does not match');
  const magic = h.subarray(257, 263).toString('latin1');
  if (magic !== 'ustar\0' && magic !== 'ustar ' && !isZeroBlock(h.subarray(257, 263))) {
    throw new MessageFormatError(`not a tar archive: unknown header magic ${JSON.stringify(magic)}`);
  }
  const type = String.fromCharCode(h[156]!);
  if (type !== '0' && type !== '\0') {
    throw new MessageFormatError(`first tar member is ${TYPE_NAMES[type] ?? `of unknown type ${JSON.stringify(type)}`}, not the regular file ${MESSAGE_MEMBER_NAME}`);
  }
  const prefix = magic.startsWith('ustar') ? cstring(h, 345, 155) : '';
  const name = (prefix ? prefix + '/' : '') + cstring(h, 0, 100);
  if (name !== MESSAGE_MEMBER_NAME) throw new MessageFormatError(`tar member is named ${JSON.stringify(name)}, not ${MESSAGE_MEMBER_NAME}`);
  const size = octal(h, 124, 12, 'size');
  if (size > maxBytes) throw new MessageFormatError(`member ${MESSAGE_MEMBER_NAME} is ${size} bytes, more than the ${maxBytes}-byte limit`);
  const end = BLOCK + size;
  if (end > tar.length) throw new MessageFormatError(`tar archive is truncated: member needs ${size} bytes, ${tar.length - BLOCK} present`);
  const next = BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  const after = tar.subarray(next, next + BLOCK);
  if (after.length === BLOCK && !isZeroBlock(after)) {
    throw new MessageFormatError(`tar archive holds more than one member (a second header follows ${MESSAGE_MEMBER_NAME})`);
  }
  return Buffer.from(tar.subarray(BLOCK, end));
}
