import { buildMime, toGmailRaw, encodeTextBody, parseMailbox, formatRfc5322Date, type EmailMessage } from '../../lib/mail/message';
import libmime from 'libmime';
import { parse, mailboxes, headerLines, bodyLines, onlyCrlf, prng } from './parse';

const NOW = new Date('2026-01-02T15:04:05.678Z');
const OPTS = { now: NOW, hostname: 'do-laptop.example.org' };

function msg(over: Partial<EmailMessage> = {}): EmailMessage {
  return { from: 'do@example.org', to: ['ds@example.com'], subject: 'Job: hello', text: 'Hello\n', ...over };
}

/** What a parser that maps CRLF to LF returns for a body (the normalisation described in lib/mail/message.ts). */
const expectedText = (s: string) => s.replace(/\r\n/g, '\n');

/** Structural checks every produced message must pass. */
function assertWellFormed(raw: string): void {
  expect(onlyCrlf(raw)).toBe(true);
  expect(/^[\x00-\x7f]*$/.test(raw)).toBe(true); // 7-bit: everything non-ASCII is encoded
  for (const line of headerLines(raw)) expect(line.length).toBeLessThanOrEqual(78);
  for (const line of bodyLines(raw)) expect(line.length).toBeLessThanOrEqual(76);
}

describe('buildMime headers', () => {
  it('writes Date, From, To, Subject, Message-ID and MIME-Version that mailparser reads back', async () => {
    const { raw, messageId } = buildMime(
      msg({ from: 'Data Owner <do@example.org>', to: ['ds@example.com', 'Second One <two@example.net>'], subject: 'Job: census-2021' }),
      OPTS,
    );
    assertWellFormed(raw);
    const lines = headerLines(raw);
    expect(lines).toContain('Date: Fri, 02 Jan 2026 15:04:05 +0000');
    expect(lines).toContain('From: Data Owner <do@example.org>');
    expect(lines).toContain('Subject: Job: census-2021');
    expect(lines).toContain('MIME-Version: 1.0');
    expect(lines).toContain(`Message-ID: ${messageId}`);
    const p = await parse(raw);
    expect(mailboxes(p.from)).toEqual([{ name: 'Data Owner', address: 'do@example.org' }]);
    expect(mailboxes(p.to)).toEqual([
      { name: '', address: 'ds@example.com' },
      { name: 'Second One', address: 'two@example.net' },
    ]);
    expect(p.subject).toBe('Job: census-2021');
    expect(p.messageId).toBe(messageId);
    expect(p.date?.toISOString()).toBe('2026-01-02T15:04:05.000Z');
    expect(p.inReplyTo).toBeUndefined();
    expect(p.references).toBeUndefined();
    expect(p.headers.get('content-type')).toMatchObject({ value: 'text/plain', params: { charset: 'utf-8' } });
  });

  it('generates a <hex@hostname> Message-ID, different every time, from a cleaned-up hostname', () => {
    const a = buildMime(msg(), OPTS).messageId;
    const b = buildMime(msg(), OPTS).messageId;
    expect(a).toMatch(/^<[0-9a-f]{32}@do-laptop\.example\.org>$/);
    expect(b).not.toBe(a);
    expect(buildMime(msg(), { now: NOW, hostname: 'My Host_1..local' }).messageId).toMatch(/^<[0-9a-f]{32}@my-host-1\.local>$/);
    expect(buildMime(msg(), { now: NOW, hostname: '' }).messageId).toMatch(/@localhost>$/);
  });

  it('is deterministic given the randomness source', () => {
    const fixed = { ...OPTS, randomBytes: (n: number) => new Uint8Array(n).fill(0xab) };
    const m = msg({ html: '<p>x</p>' });
    expect(buildMime(m, fixed)).toEqual(buildMime(m, fixed));
    expect(buildMime(m, fixed).messageId).toBe(`<${'ab'.repeat(16)}@do-laptop.example.org>`);
  });

  it('keeps a given Message-ID (with or without brackets) and uses msg.date over now', async () => {
    const date = new Date('2025-12-31T23:59:59Z');
    const r1 = buildMime(msg({ messageId: 'job-1.abc@syft.local', date }), OPTS);
    const r2 = buildMime(msg({ messageId: '<job-1.abc@syft.local>' }), OPTS);
    expect(r1.messageId).toBe('<job-1.abc@syft.local>');
    expect(r2.messageId).toBe('<job-1.abc@syft.local>');
    const p = await parse(r1.raw);
    expect(p.messageId).toBe('<job-1.abc@syft.local>');
    expect(p.date?.toISOString()).toBe('2025-12-31T23:59:59.000Z');
  });

  it('threads with In-Reply-To and References (RFC 5322 §3.6.4), folding a long References list', async () => {
    const refs = Array.from({ length: 8 }, (_, i) => `<CAFx${i}+long-gmail-style-id_${'q'.repeat(20)}=@mail.gmail.com>`);
    const { raw } = buildMime(msg({ subject: 'Re: Job: census', inReplyTo: refs[7]!.slice(1, -1), references: refs }), OPTS);
    assertWellFormed(raw);
    expect(headerLines(raw).filter((l) => l.startsWith(' ')).length).toBeGreaterThan(0);
    const p = await parse(raw);
    expect(p.inReplyTo).toBe(refs[7]);
    expect(p.references).toEqual(refs);
  });

  it('a single reference round-trips', async () => {
    const p = await parse(buildMime(msg({ inReplyTo: '<a@b>', references: ['<a@b>'] }), OPTS).raw);
    expect(p.inReplyTo).toBe('<a@b>');
    expect([p.references].flat()).toEqual(['<a@b>']);
  });

  it('encodes non-ASCII display names and subjects as RFC 2047 encoded-words', async () => {
    const { raw } = buildMime(
      msg({ from: 'Zoë Ångström <zoe@example.org>', to: ['José Núñez <jose@example.com>'], subject: 'Job: análisis-ü 🚀' }),
      OPTS,
    );
    assertWellFormed(raw);
    const lines = headerLines(raw);
    expect(lines.find((l) => l.startsWith('Subject: '))).toMatch(/^Subject: =\?UTF-8\?[BQ]\?/);
    expect(lines.find((l) => l.startsWith('From: '))).toMatch(/^From: =\?UTF-8\?[BQ]\?.*\?= <zoe@example\.org>$/);
    const p = await parse(raw);
    expect(mailboxes(p.from)).toEqual([{ name: 'Zoë Ångström', address: 'zoe@example.org' }]);
    expect(mailboxes(p.to)).toEqual([{ name: 'José Núñez', address: 'jose@example.com' }]);
    expect(p.subject).toBe('Job: análisis-ü 🚀');
  });

  it('folds long subjects (ASCII and not) to lines of at most 78 characters and decodes them exactly', async () => {
    const subjects = [
      'Job: ' + 'a-very-long-job-name '.repeat(12).trim(),
      'Job: ' + 'análisis de datos 🚀 '.repeat(10).trim(),
      '🚀'.repeat(60),
      'ñ'.repeat(200),
      'Job: ' + 'x'.repeat(120), // one word too long for a line: must be encoded to fold
      'Job: 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 👩‍👩‍👧‍👦 family, 中文字符, العربية, ' + 'ü'.repeat(40),
    ];
    for (const subject of subjects) {
      const { raw } = buildMime(msg({ subject }), OPTS);
      assertWellFormed(raw);
      const p = await parse(raw);
      expect(p.subject).toBe(subject);
    }
  });

  it('keeps subjects that only look like encoded-words or contain odd spacing exactly', async () => {
    for (const subject of ['=?UTF-8?B?aGk=?= literal', 'a  double  space', 'tab\there', 'under_score = equals ? q']) {
      const p = await parse(buildMime(msg({ subject }), OPTS).raw);
      expect(p.subject).toBe(subject);
    }
  });

  it('turns line breaks in a subject into spaces so they cannot inject header fields', async () => {
    const { raw } = buildMime(msg({ subject: 'Job: evil\r\nBcc: victim@example.com\nX-Injected: 1' }), OPTS);
    assertWellFormed(raw);
    const p = await parse(raw);
    expect(p.subject).toBe('Job: evil Bcc: victim@example.com X-Injected: 1');
    expect(p.bcc).toBeUndefined();
    expect(p.headers.has('x-injected')).toBe(false);
  });

  it('quotes display names with specials and keeps them exact', async () => {
    const { raw } = buildMime(
      msg({ from: 'Doe, John <john@example.org>', to: ['"Quote \\"Me\\" \\\\ now" <q@example.org>', 'a.b@c (d) <x@example.org>'] }),
      OPTS,
    );
    assertWellFormed(raw);
    expect(headerLines(raw)).toContain('From: "Doe, John" <john@example.org>');
    const p = await parse(raw);
    expect(mailboxes(p.from)).toEqual([{ name: 'Doe, John', address: 'john@example.org' }]);
    expect(mailboxes(p.to)).toEqual([
      { name: 'Quote "Me" \\ now', address: 'q@example.org' },
      { name: 'a.b@c (d)', address: 'x@example.org' },
    ]);
  });

  it('folds a long recipient list between addresses', async () => {
    const to = Array.from({ length: 12 }, (_, i) => (i % 2 ? `Recipient Number ${i} <r${i}@example.org>` : `Zoë ${i} <z${i}@example.org>`));
    const { raw } = buildMime(msg({ to }), OPTS);
    assertWellFormed(raw);
    const p = await parse(raw);
    expect(mailboxes(p.to).map((m) => m.address)).toEqual(to.map((_, i) => (i % 2 ? `r${i}@example.org` : `z${i}@example.org`)));
    expect(mailboxes(p.to).map((m) => m.name)).toEqual(to.map((t) => t.replace(/ <.*$/, '')));
  });

  it('sends an internationalised domain as punycode', async () => {
    expect(parseMailbox('Zoë <zoe@bücher.example>')).toEqual({ name: 'Zoë', address: 'zoe@xn--bcher-kva.example' });
    const { raw } = buildMime(msg({ to: ['zoe@bücher.example'] }), OPTS);
    assertWellFormed(raw);
    expect(headerLines(raw)).toContain('To: zoe@xn--bcher-kva.example');
  });

  it('refuses addresses, ids and headers that would corrupt the message', () => {
    expect(() => buildMime(msg({ to: [] }), OPTS)).toThrow(/at least one/);
    expect(() => buildMime(msg({ to: ['not-an-address'] }), OPTS)).toThrow(/invalid e-mail address/);
    expect(() => buildMime(msg({ to: ['a@b\r\nBcc: c@d'] }), OPTS)).toThrow(/line break/);
    expect(() => buildMime(msg({ from: 'Evil\n <a@b>' }), OPTS)).toThrow(/line break/);
    expect(() => buildMime(msg({ to: ['zoë@example.org'] }), OPTS)).toThrow(/invalid e-mail address/);
    expect(() => buildMime(msg({ messageId: 'no-at-sign' }), OPTS)).toThrow(/messageId/);
    expect(() => buildMime(msg({ inReplyTo: '<a@b>\r\nBcc: x@y' }), OPTS)).toThrow(/inReplyTo/);
    expect(() => buildMime(msg({ references: ['<a b@c>'] }), OPTS)).toThrow(/references/);
    expect(() => buildMime(msg({ headers: { Bcc: 'x@y' } }), OPTS)).toThrow(/cannot be overridden/);
    expect(() => buildMime(msg({ headers: { 'content-type': 'text/html' } }), OPTS)).toThrow(/cannot be overridden/);
    expect(() => buildMime(msg({ headers: { 'Bad Name': 'x' } }), OPTS)).toThrow(/invalid header name/);
    expect(() => buildMime(msg({ date: new Date('nope') }), OPTS)).toThrow(/invalid date/);
  });

  it('writes extra headers, encoding non-ASCII values and flattening line breaks', async () => {
    const { raw } = buildMime(msg({ headers: { 'Auto-Submitted': 'auto-generated', 'X-Syft-Job': 'análisis\r\nBcc: x@y' } }), OPTS);
    assertWellFormed(raw);
    expect(headerLines(raw)).toContain('Auto-Submitted: auto-generated');
    const p = await parse(raw);
    expect(p.headers.get('auto-submitted')).toBe('auto-generated');
    // mailparser leaves unknown fields encoded; decode with libmime, the decoder mailparser itself uses.
    expect(libmime.decodeWords(String(p.headers.get('x-syft-job')))).toBe('análisis Bcc: x@y');
    expect(p.bcc).toBeUndefined();
  });

  it('formats RFC 5322 dates in UTC', () => {
    expect(formatRfc5322Date(new Date('2026-11-25T09:08:07Z'))).toBe('Wed, 25 Nov 2026 09:08:07 +0000');
    expect(formatRfc5322Date(new Date('2024-02-29T00:00:00Z'))).toBe('Thu, 29 Feb 2024 00:00:00 +0000');
  });
});

const NASTY: Record<string, string> = {
  'plain ASCII with a trailing newline': 'Hello DO,\n\nA new job arrived.\n',
  'no trailing newline': 'last line without newline',
  'several trailing newlines': 'x\n\n\n',
  'only newlines': '\n\n',
  'non-ASCII and emoji': 'Grüße aus Zürich — naïve café, 中文, العربية, עברית\n🚀🎉👩‍👩‍👧‍👦 family emoji 🏳️‍🌈\n𝔘𝔫𝔦𝔠𝔬𝔡𝔢 outside the BMP\n',
  '2000-character line': 'x'.repeat(2000) + '\n',
  '2000-character line, no spaces, no newline': 'abcdefghij'.repeat(200),
  '2000-character non-ASCII line': 'é'.repeat(2000),
  'long emoji line': '🚀'.repeat(700) + '\n',
  'lines of only dots': '.\n..\n.\n...\n.',
  'dot lines with CRLF': '.\r\n.\r\n',
  'From at line start': 'From here on\nFrom \nFrom: not a header\n>From quoted\nFrom',
  'CRLF, LF and CR mixes': 'a\r\nb\nc\rd\r\r\n\n\re\n\r\n\r',
  'bare CR only': 'progress 10%\rprogress 50%\rprogress 100%\r',
  'trailing whitespace': 'spaces   \ntabs\t\t\nboth \t \n   \n\t',
  'equals signs and QP look-alikes': '=\n==\n=3D =20 =\n=?UTF-8?B?aGk=?=\nsoft=\n=0D=0A\n',
  'MIME boundary look-alikes': '--\n--=_syft-bg_00\n--=_syft-bg_\nContent-Type: text/html\n\n--boundary--\n',
  'control characters': 'nul\u0000 bell\u0007 esc\u001b[31mred\u001b[0m del\u007f\f formfeed\v',
  'header-like first line': 'Subject: spoof\nBcc: a@b\n\nbody',
  'empty lines between': '\n\na\n\n\nb\n\n',
  'long line ending in a space at the fold': 'y'.repeat(74) + ' \n' + 'z'.repeat(75) + ' \n' + 'w'.repeat(76) + '\t',
  'lines of exactly 75, 76, 77 characters': ['a'.repeat(75), 'b'.repeat(76), 'c'.repeat(77), '.'.repeat(76), 'F'.repeat(77)].join('\n'),
  'a 76-char last line without newline': 'd'.repeat(76),
  'long line of dots and Fs': '.F'.repeat(300),
  'python traceback with CRLF': 'Traceback (most recent call last):\r\n  File "main.py", line 1, in <module>\r\n    1/0\r\nZeroDivisionError: division by zero\r\n',
};

describe('buildMime bodies round-trip exactly through mailparser', () => {
  for (const [name, text] of Object.entries(NASTY)) {
    it(`text/plain only: ${name}`, async () => {
      const { raw } = buildMime(msg({ text }), OPTS);
      assertWellFormed(raw);
      const p = await parse(raw);
      expect(p.text).toBe(expectedText(text));
      expect(p.html).toBe(false);
    });
    it(`multipart/alternative: ${name}`, async () => {
      const html = `<!DOCTYPE html><html><body><pre>${text}</pre></body></html>`;
      const { raw } = buildMime(msg({ text, html }), OPTS);
      assertWellFormed(raw);
      const p = await parse(raw);
      expect(p.text).toBe(expectedText(text));
      expect(p.html).toBe(expectedText(html));
    });
  }

  it('an empty body stays empty', async () => {
    const p = await parse(buildMime(msg({ text: '' }), OPTS).raw);
    expect(p.text ?? '').toBe('');
    const q = await parse(buildMime(msg({ text: '', html: '<p>only html</p>' }), OPTS).raw);
    expect(q.text ?? '').toBe('');
    expect(q.html).toBe('<p>only html</p>');
  });

  it('fuzz: 300 random bodies built from troublesome pieces', async () => {
    const pieces = ['\r', '\n', '\r\n', ' ', '\t', '.', 'From ', '=', '=?', '?=', '-', '--', 'é', '🚀', '\u0000', 'a', 'Z', 'x'.repeat(80), ' '.repeat(80), 'ü'.repeat(30)];
    const rnd = prng(20260102);
    for (let i = 0; i < 300; i++) {
      let text = '';
      const n = Math.floor(rnd() * 60);
      for (let j = 0; j < n; j++) text += pieces[Math.floor(rnd() * pieces.length)];
      const { raw } = buildMime(msg({ text, html: i % 2 ? `<p>${text}</p>` : undefined }), OPTS);
      assertWellFormed(raw);
      const p = await parse(raw);
      if (text === '') expect(p.text ?? '').toBe('');
      else expect({ i, text: p.text }).toEqual({ i, text: expectedText(text) });
      if (i % 2) expect({ i, html: p.html }).toEqual({ i, html: expectedText(`<p>${text}</p>`) });
    }
  });
});

describe('MIME structure', () => {
  it('puts text/plain before text/html in multipart/alternative with a boundary absent from the bodies', async () => {
    const text = 'plain 🚀\n';
    const html = '<p>html 🚀</p>';
    const { raw } = buildMime(msg({ text, html }), OPTS);
    const lines = headerLines(raw);
    const ct = lines.findIndex((l) => l.startsWith('Content-Type: multipart/alternative;'));
    expect(ct).toBeGreaterThan(-1);
    const boundary = /boundary="([^"]+)"/.exec(lines.slice(ct, ct + 2).join(''))?.[1];
    expect(boundary).toBeDefined();
    const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
    const delimiters = body.split('\r\n').filter((l) => l.startsWith(`--${boundary}`));
    expect(delimiters).toEqual([`--${boundary}`, `--${boundary}`, `--${boundary}--`]);
    expect(body.indexOf('Content-Type: text/plain; charset=utf-8')).toBeLessThan(body.indexOf('Content-Type: text/html; charset=utf-8'));
    expect(body.indexOf('Content-Type: text/plain')).toBeGreaterThan(body.indexOf(`--${boundary}`));
    const p = await parse(raw);
    expect(p.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
    expect(p.text).toBe(text);
    expect(p.html).toBe(html);
    expect(p.attachments).toEqual([]);
  });

  it('uses a different random boundary each time', () => {
    const b = () => /boundary="([^"]+)"/.exec(buildMime(msg({ html: '<p/>' }), OPTS).raw)?.[1];
    expect(b()).not.toBe(b());
  });

  it('picks quoted-printable for mostly-ASCII text and base64 for mostly non-ASCII text, lines ≤ 76', () => {
    const ascii = encodeTextBody('Hello, a job arrived: análisis.\n');
    expect(ascii.cte).toBe('quoted-printable');
    expect(ascii.body).toBe('Hello, a job arrived: an=C3=A1lisis.\r\n');
    const cjk = encodeTextBody('中文字符'.repeat(50));
    expect(cjk.cte).toBe('base64');
    for (const l of cjk.body.split('\r\n')) expect(l.length).toBeLessThanOrEqual(76);
  });

  it('never starts a quoted-printable line with a literal "." or "F", nor ends one with a literal blank', () => {
    for (const text of Object.values(NASTY)) {
      const { cte, body } = encodeTextBody(text);
      if (cte !== 'quoted-printable') continue;
      for (const l of body.split('\r\n')) {
        expect(l).not.toMatch(/^[.F]/);
        expect(l).not.toMatch(/[ \t]$/);
        expect(l.length).toBeLessThanOrEqual(76);
      }
    }
  });

  it('toGmailRaw is the message in base64url', () => {
    const { raw } = buildMime(msg({ subject: 'Job: análisis-ü 🚀', html: '<b>x</b>' }), OPTS);
    const g = toGmailRaw(raw);
    expect(g).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(g, 'base64url').toString('utf8')).toBe(raw);
  });
});
