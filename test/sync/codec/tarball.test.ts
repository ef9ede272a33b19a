import * as zlib from 'node:zlib';
import { MessageFormatError } from '../../../lib/sync/codec/errors';
import { gzipLikePython, packMessage, tarHeader, tarMessage, unpackMessage } from '../../../lib/sync/codec/tarball';
import { golden } from './golden';

const GZIP_MTIME = 1795632149; // as pinned by gen_golden.py

function reason(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(MessageFormatError);
    return (e as Error).message;
  }
  throw new Error('expected a MessageFormatError');
}

/** A tar with the given (name, type, data) members, valid checksums, as a hostile peer might build it. */
function craftTar(members: Array<{ name: string; type?: string; data?: Buffer; size?: number }>, opts: { end?: boolean } = {}): Buffer {
  const blocks: Buffer[] = [];
  for (const m of members) {
    const data = m.data ?? Buffer.alloc(0);
    const h = tarHeader(m.size ?? data.length, 'x');
    h.fill(0, 0, 100);
    h.write(m.name, 0, 'latin1');
    h.write(m.type ?? '0', 156, 'latin1');
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  if (opts.end !== false) blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

const gz = (b: Buffer) => zlib.gzipSync(b);

describe('packMessage: byte-identical with Python tarfile', () => {
  it('the uncompressed tar equals python3 tarfile output (header, padding, end blocks, 10240 record)', () => {
    const json = golden('proposal.json');
    expect(tarMessage(json).equals(golden('proposal.tar'))).toBe(true);
    expect(zlib.gunzipSync(packMessage(json)).equals(golden('proposal.tar'))).toBe(true);
  });

  it.each([
    ['empty.tar', Buffer.alloc(0)],
    ['block512.tar', Buffer.alloc(512, 'x')],
    ['block10240.tar', Buffer.alloc(10240 - 512 - 1024, 'y')],
  ])('padding edge case %s', (name, data) => {
    expect(tarMessage(data).equals(golden(name))).toBe(true);
  });

  it('the gzip header is Python GzipFile(compresslevel=9) with the given mtime', () => {
    const ours = packMessage(golden('proposal.json'), { mtime: GZIP_MTIME });
    const py = golden('proposal.tar.gz');
    expect(ours.subarray(0, 10).equals(py.subarray(0, 10))).toBe(true);
    // CRC32 and size trailer are content-determined
    expect(ours.subarray(-8).equals(py.subarray(-8))).toBe(true);
    expect(ours.readUInt32LE(4)).toBe(GZIP_MTIME);
    expect(ours[8]).toBe(2);
    expect(ours[9]).toBe(255);
  });

  it('default mtime is now; strings are UTF-8', () => {
    const before = Math.floor(Date.now() / 1000);
    const b = packMessage('{"é": 1}');
    expect(b.readUInt32LE(4)).toBeGreaterThanOrEqual(before);
    expect(unpackMessage(b).toString('utf8')).toBe('{"é": 1}');
  });

  it('python-made archives unpack to the exact JSON', () => {
    expect(unpackMessage(golden('proposal.tar.gz')).equals(golden('proposal.json'))).toBe(true);
    expect(unpackMessage(golden('events.tar.gz')).equals(golden('events.json'))).toBe(true);
  });

  it('round-trips arbitrary bytes of many sizes', () => {
    for (const n of [0, 1, 511, 512, 513, 8703, 8704, 8705, 100_000]) {
      const data = Buffer.alloc(n);
      for (let i = 0; i < n; i++) data[i] = (i * 131 + 7) & 0xff;
      const packed = packMessage(data);
      expect(unpackMessage(packed).equals(data)).toBe(true);
      expect(zlib.gunzipSync(packed).length % 10240).toBe(0);
    }
  });

  it('gzipLikePython output is a valid gzip stream', () => {
    const raw = Buffer.from('hello');
    expect(zlib.gunzipSync(gzipLikePython(raw, 0)).toString()).toBe('hello');
  });
});

describe('unpackMessage: hostile input', () => {
  it('not gzip', () => {
    expect(reason(() => unpackMessage(Buffer.from('{"json": "plain, not compressed at all"}')))).toMatch(/not a gzip stream/);
    expect(reason(() => unpackMessage(Buffer.alloc(5)))).toMatch(/not a gzip stream: only 5 bytes/);
  });

  it('corrupt or truncated gzip', () => {
    const good = golden('proposal.tar.gz');
    expect(reason(() => unpackMessage(good.subarray(0, good.length - 20)))).toMatch(/corrupt gzip/);
    const flipped = Buffer.from(good);
    flipped[40] = flipped[40]! ^ 0xff;
    expect(reason(() => unpackMessage(flipped))).toMatch(/corrupt gzip|checksum|not a tar/);
  });

  it('gzip of something that is not a tar', () => {
    expect(reason(() => unpackMessage(gz(Buffer.from('{"not": "a tar"}'))))).toMatch(/not a tar archive/);
    expect(reason(() => unpackMessage(gz(Buffer.alloc(600, 'a'))))).toMatch(/checksum|not an octal/);
  });

  it('empty archive: member missing', () => {
    expect(reason(() => unpackMessage(gz(Buffer.alloc(10240))))).toMatch(/missing/);
  });

  it('wrong member name', () => {
    expect(reason(() => unpackMessage(gz(craftTar([{ name: 'other.json', data: Buffer.from('{}') }]))))).toMatch(/named "other.json"/);
    expect(reason(() => unpackMessage(gz(craftTar([{ name: '../proposed_file_changes.json', data: Buffer.from('{}') }]))))).toMatch(/named/);
  });

  it('extra members', () => {
    const t = craftTar([
      { name: 'proposed_file_changes.json', data: Buffer.from('{}') },
      { name: 'proposed_file_changes.json', data: Buffer.from('{"evil": 1}') },
    ]);
    expect(reason(() => unpackMessage(gz(t)))).toMatch(/more than one member/);
  });

  it.each([
    ['x', /pax extended header/],
    ['g', /pax global header/],
    ['2', /symbolic link/],
    ['1', /hard link/],
    ['5', /directory/],
    ['L', /GNU long-name/],
    ['Z', /unknown type/],
  ])('member of type %s', (type, re) => {
    const t = craftTar([{ name: 'proposed_file_changes.json', type, data: Buffer.from('path=x\n') }]);
    expect(reason(() => unpackMessage(gz(t)))).toMatch(re);
  });

  it('size bombs: member over the cap, and gzip that inflates past the cap', () => {
    const t = craftTar([{ name: 'proposed_file_changes.json', data: Buffer.alloc(5000, 'a') }]);
    expect(reason(() => unpackMessage(gz(t), { maxBytes: 4096 }))).toMatch(/more than|size bomb/);
    const bomb = zlib.gzipSync(Buffer.alloc(80 * 1024 * 1024), { level: 9 });
    expect(bomb.length).toBeLessThan(200_000);
    expect(reason(() => unpackMessage(bomb))).toMatch(/size bomb/);
    // a header claiming a huge size with little data behind it
    const liar = craftTar([{ name: 'proposed_file_changes.json', data: Buffer.from('{}'), size: 1_000_000 }], { end: false });
    expect(reason(() => unpackMessage(gz(liar)))).toMatch(/truncated/);
    const huge = craftTar([{ name: 'proposed_file_changes.json', data: Buffer.from('{}'), size: 8 ** 11 - 1 }], { end: false });
    expect(reason(() => unpackMessage(gz(huge)))).toMatch(/limit/);
  });

  it('bad checksum and bad size field', () => {
    const t = craftTar([{ name: 'proposed_file_changes.json', data: Buffer.from('{}') }]);
    const badSum = Buffer.from(t);
    badSum[0] = 'P'.charCodeAt(0);
    expect(reason(() => unpackMessage(gz(badSum)))).toMatch(/checksum/);
    const b256 = Buffer.from(t);
    b256[124] = 0x80;
    expect(reason(() => unpackMessage(gz(b256)))).toMatch(/base-256|checksum/);
  });

  it('accepts a member with no end-of-archive blocks (Python does too)', () => {
    const t = craftTar([{ name: 'proposed_file_changes.json', data: Buffer.from('{"a":1}') }], { end: false });
    expect(unpackMessage(gz(t)).toString()).toBe('{"a":1}');
  });
});
