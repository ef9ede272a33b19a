/// <reference types="jest" />
/** Unit tests of the Gmail emulator's pure parts: MIME splitting/decoding, search syntax, subject normalisation. */
import { buildPayload, decodeQuotedPrintable, messageIds, normalizeSubject, snippetOf, splitMessage, joinMessage, field } from './gmail-mime';
import { parseQuery, parseTime, type Searchable } from './gmail-search';

describe('gmail-mime', () => {
  it('splits folded headers and keeps the exact bytes when re-joined; LF-only messages work too', () => {
    const raw = Buffer.from('Subject: a long\r\n subject line\r\nTo: x@y\r\n\r\nbody\r\n');
    const s = splitMessage(raw);
    expect(s.fields.map((f) => [f.name, f.value])).toEqual([['Subject', 'a long subject line'], ['To', 'x@y']]);
    expect(s.body.toString()).toBe('body\r\n');
    expect(joinMessage(s.fields, s.body, s.eol).equals(raw)).toBe(true);

    const lf = splitMessage(Buffer.from('Subject: hi\n\tthere\nFrom: a@b\n\nline1\nline2\n'));
    expect(lf.eol).toBe('\n');
    expect(lf.fields.map((f) => f.value)).toEqual(['hi\tthere', 'a@b']);
    expect(lf.body.toString()).toBe('line1\nline2\n');
    const added = joinMessage([field('Delivered-To', 'q@r'), ...lf.fields], lf.body, lf.eol).toString();
    expect(added).toBe('Delivered-To: q@r\nSubject: hi\n\tthere\nFrom: a@b\n\nline1\nline2\n');

    const noBody = splitMessage(Buffer.from('Subject: only headers\r\n'));
    expect(noBody.fields).toHaveLength(1);
    expect(noBody.body.length).toBe(0);
  });

  it('decodes quoted-printable (soft breaks, escapes, trailing whitespace)', () => {
    expect(decodeQuotedPrintable(Buffer.from('Gr=C3=BC=C3=9Fe =\r\nwelt  \r\nnext=3D1')).toString('utf8')).toBe('Grüße welt\r\nnext=1');
    expect(decodeQuotedPrintable(Buffer.from('bad =ZZ escape=')).toString()).toBe('bad =ZZ escape=');
  });

  it('builds nested part ids and decodes base64 parts', () => {
    const raw = [
      'Content-Type: multipart/mixed; boundary=outer', '', 'preamble', '--outer',
      'Content-Type: multipart/alternative; boundary="inner"', '', '--inner', 'Content-Type: text/plain', '', 'plain', '--inner',
      'Content-Type: text/html', 'Content-Transfer-Encoding: base64', '', Buffer.from('<b>html</b>').toString('base64'), '--inner--', '',
      '--outer', 'Content-Type: text/csv; name="=?UTF-8?Q?d=C3=A4ta.csv?="', '', 'a,b', '--outer--', '',
    ].join('\r\n');
    const p = buildPayload(Buffer.from(raw), { attachmentId: (id) => `att-${id}` });
    expect(p.mimeType).toBe('multipart/mixed');
    expect(p.parts!.map((x) => x.partId)).toEqual(['0', '1']);
    expect(p.parts![0]!.parts!.map((x) => [x.partId, x.mimeType])).toEqual([['0.0', 'text/plain'], ['0.1', 'text/html']]);
    expect(Buffer.from(p.parts![0]!.parts![0]!.body.data!, 'base64url').toString()).toBe('plain');
    expect(Buffer.from(p.parts![0]!.parts![1]!.body.data!, 'base64url').toString()).toBe('<b>html</b>');
    expect(p.parts![1]).toMatchObject({ filename: 'däta.csv', body: { attachmentId: 'att-1', size: 3 } });
  });

  it('message ids, snippets and subject normalisation', () => {
    expect(messageIds('<a@b> <c@d>\r\n <e@f>')).toEqual(['a@b', 'c@d', 'e@f']);
    expect(messageIds('bare@id')).toEqual(['bare@id']);
    expect(messageIds(undefined)).toEqual([]);
    expect(snippetOf("  It's <done> & dusted \n\n next ")).toBe('It&#39;s &lt;done&gt; &amp; dusted next');
    expect(snippetOf('x'.repeat(500))).toHaveLength(200);
    expect(normalizeSubject('Re: RE: Fwd: FW:  Job:   census')).toBe('job: census');
    expect(normalizeSubject('Re[2]: AW: hello')).toBe('hello');
    expect(normalizeSubject('Reply: hello')).toBe('reply: hello');
  });
});

describe('gmail-search', () => {
  const base: Searchable = {
    owner: 'do@example.org', from: 'Alice <alice@example.net>', to: 'do@example.org', cc: '', bcc: '', subject: 'Job: census-2021 ready',
    body: 'The population counts are in.', labelIds: ['INBOX', 'UNREAD'], internalDate: Date.UTC(2026, 0, 15, 12), rfcId: 'abc@x', hasAttachment: false,
  };
  const m = (q: string, over: Partial<Searchable> = {}) => parseQuery(q, Date.UTC(2026, 0, 20)).match({ ...base, ...over });

  it('matches words on boundaries, phrases, negation, OR and parentheses', () => {
    expect(m('census')).toBe(true);
    expect(m('cens')).toBe(false);
    expect(m('"population counts"')).toBe(true);
    expect(m('"counts population"')).toBe(false);
    expect(m('subject:(census ready)')).toBe(true);
    expect(m('subject:population')).toBe(false);
    expect(m('-from:alice')).toBe(false);
    expect(m('from:bob OR from:alice')).toBe(true);
    expect(m('from:bob OR to:nobody')).toBe(false);
    expect(m('to:me is:unread in:inbox')).toBe(true);
    expect(m('is:read')).toBe(false);
    expect(m('rfc822msgid:<ABC@x>')).toBe(true);
    expect(parseQuery('rfc822msgid:<ABC@x>', 0).rfc822msgid).toBe('abc@x');
    expect(parseQuery('in:trash', 0).includesSpamTrash).toBe(true);
    expect(() => parseQuery('in:nowhere', 0)).toThrow(/Unsupported/);
  });

  it('dates: epoch seconds, yyyy/mm/dd at Pacific midnight, relative newer_than/older_than', () => {
    expect(parseTime('1700000000')).toBe(1_700_000_000_000);
    expect(parseTime('2026/01/15')).toBe(Date.UTC(2026, 0, 15, 8)); // PST = UTC-8
    expect(parseTime('2026/07/15')).toBe(Date.UTC(2026, 6, 15, 7)); // PDT = UTC-7
    expect(parseTime('01/15/2026')).toBe(Date.UTC(2026, 0, 15, 8));
    expect(() => parseTime('yesterday')).toThrow(/Invalid date/);
    expect(m('after:2026/01/15 before:2026/01/16')).toBe(true);
    expect(m('after:2026/01/16')).toBe(false);
    expect(m('newer_than:7d')).toBe(true);
    expect(m('newer_than:2d')).toBe(false);
    expect(m('older_than:1y')).toBe(false);
  });
});
