/**
 * Hash vectors. The expected values were produced by the reference's expression,
 * `"sha256:" + sha256(open(p, encoding="utf-8").read().encode("utf-8")).hexdigest()`, under CPython 3.
 */
import {
  bytesEqual,
  entryHashHex,
  eolStyle,
  fullHash,
  hashFileBytes,
  hashMatches,
  normaliseNewlines,
  parseExpectedHash,
  sameText,
  sha256Hex,
  textHashHex,
} from '../../lib/approval/hash';

const b = (s: string) => Buffer.from(s, 'latin1');
const hex = (h: string) => Buffer.from(h, 'hex');

describe('text hash = the reference (read_text("utf-8") with universal newlines)', () => {
  const vectors: [string, Buffer, string][] = [
    ['CRLF (reference §5.2 example)', b('x=1\r\ny=2\r\n'), 'f70f15511df105b3d7986f483ab85643d49cc3e5db5d4f592efff9e97be12d5d'],
    ['LF, same text', b('x=1\ny=2\n'), 'f70f15511df105b3d7986f483ab85643d49cc3e5db5d4f592efff9e97be12d5d'],
    ['lone CR', b('a\rb\r'), '911169ddaaf146aff539f58c26c489af3b892dff0fe283c1c264c65ae5aa59a2'],
    ['mixed CRLF, CR, LF, CR CRLF', b('a\r\nb\rc\nd\r\r\n'), 'bfd0be93881c23614b789c618c1b22f9dc45b4de712f1990aaf4f5d2e38a7ad2'],
    ['trailing lone CR', b('abc\r'), 'edeaaff3f1774ad2888673770c6d64097e391bc362d7d6fb34982ddf0efd18cb'],
    ['UTF-8 BOM kept (utf-8, not utf-8-sig)', hex('efbbbf7072696e742831290a'), 'a56ad4037d9516d551794b143a1c31e809d63dafc2588d16c744aa14deb8c29e'],
    ['empty file', Buffer.alloc(0), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['multi-byte UTF-8 with CRLF', hex('636166c3a90d0a'), '7b49b9e063bd91a4f9252b413261f5557b9c570aa61516989499f64a62dbcdd6'],
  ];
  it.each(vectors)('%s', (_what, bytes, expected) => {
    expect(textHashHex(bytes)).toBe(expected);
    expect(hashFileBytes(bytes)).toEqual({ hash: `sha256:${expected}`, binary: false });
  });

  it('the CRLF example starts with f70f1551 as the reference documents', () => {
    expect(hashFileBytes(b('x=1\r\ny=2\r\n')).hash.startsWith('sha256:f70f1551')).toBe(true);
  });

  it('the BOM is hashed: a file with and without a BOM differ', () => {
    expect(textHashHex(hex('efbbbf41'))).not.toBe(textHashHex(b('A')));
  });
});

describe('non-UTF-8 files (Python raises UnicodeDecodeError): hashed as raw bytes, marked binary', () => {
  it.each([
    ['invalid start byte', 'fffe00'],
    ['UTF-16 surrogate encoded in UTF-8', 'eda080'],
    ['overlong encoding', 'c0af'],
    ['above U+10FFFF', 'f4908080'],
    ['truncated sequence', '41c3'],
    ['PNG header', '89504e470d0a1a0a'],
  ])('%s', (_what, h) => {
    const bytes = hex(h);
    expect(textHashHex(bytes)).toBeUndefined();
    expect(hashFileBytes(bytes)).toEqual({ hash: `sha256:${sha256Hex(bytes)}`, binary: true });
  });

  it('binary hashing keeps CRs (no newline normalisation on raw bytes)', () => {
    const withCrlf = hex('ff0d0a');
    const withLf = hex('ff0a');
    expect(hashFileBytes(withCrlf).hash).not.toBe(hashFileBytes(withLf).hash);
    expect(entryHashHex(withCrlf, true)).toBe(sha256Hex(withCrlf));
    expect(entryHashHex(withCrlf, false)).toBeUndefined();
  });

  it('a text entry can be checked as bytes too (entryHashHex)', () => {
    expect(entryHashHex(b('x\r\n'), true)).toBe(sha256Hex(b('x\r\n')));
    expect(entryHashHex(b('x\r\n'), false)).toBe(sha256Hex(b('x\n')));
  });
});

describe('normaliseNewlines', () => {
  it.each([
    ['a\r\nb', 'a\nb'],
    ['a\rb', 'a\nb'],
    ['a\r\r\nb', 'a\n\nb'],
    ['\r', '\n'],
    ['\r\n\r\n', '\n\n'],
    ['\n\r', '\n\n'],
    ['no newline', 'no newline'],
  ])('%j → %j', (input, out) => {
    expect(Buffer.from(normaliseNewlines(b(input))).toString('latin1')).toBe(out);
  });
});

describe('expected hashes (reference _hash_matches, fixed)', () => {
  const full = sha256Hex(b('print(1)\n'));

  it('full hash with and without prefix', () => {
    expect(hashMatches(full, `sha256:${full}`)).toBe(true);
    expect(hashMatches(full, full)).toBe(true);
  });

  it('FIX: an empty expected hash no longer matches everything', () => {
    expect(hashMatches(full, 'sha256:')).toBe(false);
    expect(hashMatches(full, '')).toBe(false);
    expect(parseExpectedHash('sha256:')).toEqual({ ok: false, why: 'the recorded hash is empty' });
  });

  it('FIX: short-hash prefixes need at least 16 hex digits', () => {
    expect(hashMatches(full, full.slice(0, 16))).toBe(true);
    expect(hashMatches(full, full.slice(0, 15))).toBe(false);
    expect(parseExpectedHash(full.slice(0, 8))).toEqual({ ok: false, why: 'the recorded hash has fewer than 16 hex digits' });
  });

  it('FIX: upper-case hex compares case-insensitively', () => {
    expect(hashMatches(full, `sha256:${full.toUpperCase()}`)).toBe(true);
    expect(hashMatches(full.toUpperCase(), `sha256:${full}`)).toBe(true);
  });

  it('refuses non-hex and over-long hashes', () => {
    expect(parseExpectedHash('sha256:zzz9999999999999999')).toMatchObject({ ok: false });
    expect(parseExpectedHash(`sha256:${full}0`)).toMatchObject({ ok: false });
    expect(parseExpectedHash(`md5:${full}`)).toMatchObject({ ok: false });
    expect(hashMatches(full, `sha256:${full.slice(0, 20)} `)).toBe(false);
  });

  it('a differing prefix does not match', () => {
    const other = sha256Hex(b('print(2)\n'));
    expect(hashMatches(full, other.slice(0, 32))).toBe(false);
  });

  it('fullHash: exactly 64 hex digits, normalised', () => {
    expect(fullHash(full.toUpperCase())).toBe(`sha256:${full}`);
    expect(fullHash(`sha256:${full}`)).toBe(`sha256:${full}`);
    expect(fullHash(full.slice(0, 63))).toBeUndefined();
    expect(fullHash('sha256:')).toBeUndefined();
  });
});

describe('stored-copy comparison of text entries', () => {
  it('eolStyle', () => {
    expect(eolStyle(b('a\nb\n'))).toBe('lf');
    expect(eolStyle(b('a\r\nb\r\n'))).toBe('crlf');
    expect(eolStyle(b('ab'))).toBe('none');
    expect(eolStyle(b('a\r\nb\n'))).toBe('mixed');
    expect(eolStyle(b('a\rb'))).toBe('mixed');
    expect(eolStyle(b('a\r'))).toBe('mixed');
  });

  it('identical bytes match', () => {
    expect(sameText(b('a\r\nb\rc'), b('a\r\nb\rc'))).toBe(true);
  });

  it('a uniform CRLF/LF conversion matches (as the reference)', () => {
    expect(sameText(b('x=1\r\ny=2\r\n'), b('x=1\ny=2\n'))).toBe(true);
    expect(sameText(b('x=1\ny=2\n'), b('x=1\r\ny=2\r\n'))).toBe(true);
  });

  it('FIX: a lone CR or a selective CRLF is a mismatch (bash reads `MODE=dry\\r` as a different value)', () => {
    expect(sameText(b('MODE=dry\rrun\n'), b('MODE=dry\nrun\n'))).toBe(false);
    expect(sameText(b('MODE=dry\r\nrun\n'), b('MODE=dry\nrun\n'))).toBe(false);
    // The reference's text comparison said equal for both:
    expect(textHashHex(b('MODE=dry\r\nrun\n'))).toBe(textHashHex(b('MODE=dry\nrun\n')));
  });

  it('different text never matches', () => {
    expect(sameText(b('a\n'), b('b\n'))).toBe(false);
    expect(sameText(b('a\n'), b('a\n\n'))).toBe(false);
  });

  it('bytesEqual', () => {
    expect(bytesEqual(b('ab'), b('ab'))).toBe(true);
    expect(bytesEqual(b('ab'), b('abc'))).toBe(false);
    expect(bytesEqual(new Uint8Array(0), Buffer.alloc(0))).toBe(true);
  });
});
