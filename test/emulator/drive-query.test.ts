/// <reference types="jest" />
/** Unit tests of the Drive emulator's `q` parser, `name contains` semantics, `fields` parser and multipart parser. */
import { parseQuery, QueryError, nameContains, fullTextContains, tokenize, parseRfc3339 } from './drive-query';
import { parseFields, validateFields, project, FieldsError, FILE, FILE_LIST } from './drive-fields';
import { parseMultipart, parseHttpRequest, boundaryOf, mediaType } from './drive-multipart';

describe('q parser', () => {
  // Every query shape of syftbox-protocol.md §3.8 #2–#17, verbatim apart from the ids/emails.
  const FOLDER = "mimeType='application/vnd.google-apps.folder'";
  const syftClientQueries = [
    `name='SyftBox' and ${FOLDER} and 'me' in owners and trashed=false`,
    `${FOLDER} and trashed=false and name contains 'syft_datasite#' and name contains '#do@x.org#inbox#ds@y.org' and 'P1' in parents and 'ds@y.org' in owners`,
    `name contains 'syft_datasite#' and name contains '#do@x.org#' and trashed=false and mimeType = 'application/vnd.google-apps.folder' and not 'me' in owners`,
    "name='SYFT_peers.json' and 'R1' in parents and trashed=false",
    "name='SYFT_version.json' and trashed=false and 'do@x.org' in owners",
    "'F1' in parents and trashed=false",
    `name='x' and ${FOLDER} and trashed=false  and 'do@x.org' in owners  and 'P' in parents`,
    `name='syft_ds@y.org_to_do@x.org_archive' and ${FOLDER} and 'me' in owners and trashed=false`,
    "'F' in parents and trashed=false and name contains 'incremental_checkpoint'",
    `name contains 'syft_datasetcollection_' and 'R' in parents and 'me' in owners and trashed=false and ${FOLDER}`,
    `name contains 'syft_datasetcollection_' and not 'me' in owners and trashed=false and ${FOLDER}`,
    "name='encryption_bundle_do@x.org_for_ds@y.org.json' and trashed=false and 'do@x.org' in owners",
    "name contains 'syft_outbox_inbox' and 'me' in owners and trashed=false",
    "'F' in parents",
  ];
  test.each(syftClientQueries)('parses %s', (q) => {
    expect(parseQuery(q)).toBeDefined();
  });

  test('structure, precedence (not > and > or) and parentheses', () => {
    expect(parseQuery("name = 'a' or name = 'b' and trashed = false")).toEqual({
      k: 'or',
      a: [
        { k: 'str', field: 'name', op: '=', value: 'a' },
        {
          k: 'and',
          a: [
            { k: 'str', field: 'name', op: '=', value: 'b' },
            { k: 'bool', field: 'trashed', op: '=', value: false },
          ],
        },
      ],
    });
    expect(parseQuery("(name = 'a' OR name = 'b') AND NOT 'me' IN owners")).toEqual({
      k: 'and',
      a: [
        { k: 'or', a: [{ k: 'str', field: 'name', op: '=', value: 'a' }, { k: 'str', field: 'name', op: '=', value: 'b' }] },
        { k: 'not', a: { k: 'in', field: 'owners', value: 'me' } },
      ],
    });
  });

  test('escapes, whitespace and case-insensitive keywords', () => {
    expect(parseQuery("  name   CONTAINS  'it\\'s a \\\\ test'  ")).toEqual({ k: 'str', field: 'name', op: 'contains', value: "it's a \\ test" });
    expect(parseQuery('trashed=TRUE')).toEqual({ k: 'bool', field: 'trashed', op: '=', value: true });
    expect(parseQuery("\tname='x'\n")).toEqual({ k: 'str', field: 'name', op: '=', value: 'x' });
  });

  test('dates, appProperties has, other terms', () => {
    expect(parseQuery("modifiedTime > '2026-01-01T00:00:00'")).toEqual({ k: 'time', field: 'modifiedTime', op: '>', value: Date.UTC(2026, 0, 1) });
    expect(parseQuery("createdTime <= '2026-01-01T01:00:00+01:00'")).toEqual({ k: 'time', field: 'createdTime', op: '<=', value: Date.UTC(2026, 0, 1) });
    expect(parseQuery("appProperties has { key='syft_shared_with_any' and value='true' }")).toEqual({
      k: 'has',
      field: 'appProperties',
      key: 'syft_shared_with_any',
      value: 'true',
    });
    expect(parseQuery("properties has {value='v' and key='k'}")).toEqual({ k: 'has', field: 'properties', key: 'k', value: 'v' });
    expect(parseQuery("fullText contains '\"hello world\"'")).toBeDefined();
    expect(parseQuery("'a@b.c' in writers or 'a@b.c' in readers or sharedWithMe = true or starred != false")).toBeDefined();
    expect(parseQuery("mimeType != 'text/plain' and visibility = 'limited'")).toBeDefined();
    expect(parseQuery("sharedWithMe and name contains 'hello'")).toEqual({
      k: 'and',
      a: [
        { k: 'bool', field: 'sharedWithMe', op: '=', value: true },
        { k: 'str', field: 'name', op: 'contains', value: 'hello' },
      ],
    });
    expect(parseQuery('(starred)')).toEqual({ k: 'bool', field: 'starred', op: '=', value: true });
    expect(parseQuery('')).toBeUndefined();
    expect(parseQuery('   ')).toBeUndefined();
  });

  test.each([
    ["nme = 'x'", 'unknown field'],
    ["name = x", 'unquoted value'],
    ["name = 'x", 'unterminated string'],
    ["name 'x'", 'missing operator'],
    ["name in parents", 'wrong operator for name'],
    ["name > 'x'", 'ordering on a string term'],
    ["fullText = 'x'", 'fullText only supports contains'],
    ["trashed = 'false'", 'quoted boolean'],
    ["trashed contains true", 'contains on a boolean'],
    ["trashed 'x'", 'bare boolean followed by a value'],
    ["modifiedTime > 'yesterday'", 'not a date'],
    ["modifiedTime contains '2026'", 'contains on a date'],
    ["'x' in children", 'unknown collection'],
    ["'x' parents", 'missing in'],
    ["name = 'a' and", 'dangling and'],
    ["name = 'a' name = 'b'", 'juxtaposition without and'],
    ["(name = 'a'", 'unbalanced parenthesis'],
    ["name = 'a')", 'stray parenthesis'],
    ["appProperties = 'x'", 'properties need has'],
    ["appProperties has { key='k' }", 'has without value'],
    ["name = 'a' && trashed = false", 'C operators'],
    ['name = "x"', 'double quotes'],
  ])('rejects %s (%s)', (q) => {
    expect(() => parseQuery(q)).toThrow(QueryError);
  });

  test('RFC 3339 parsing', () => {
    expect(parseRfc3339('2026-03-01T10:20:30.123Z')).toBe(Date.UTC(2026, 2, 1, 10, 20, 30, 123));
    expect(parseRfc3339('2026-03-01')).toBe(Date.UTC(2026, 2, 1));
    expect(parseRfc3339('2026-03-01T10:20:30-0200')).toBe(Date.UTC(2026, 2, 1, 12, 20, 30));
    expect(() => parseRfc3339('2026-13-45T99:00:00')).toThrow(QueryError);
  });
});

describe('name contains / fullText contains (Google tokenised prefix matching)', () => {
  const m = (name: string, q: string) => nameContains(tokenize(name), name, q);
  test('documented HelloWorld example', () => {
    expect(m('HelloWorld', 'Hello')).toBe(true);
    expect(m('HelloWorld', 'World')).toBe(false);
    expect(m('HelloWorld', 'hello')).toBe(true); // case-insensitive
  });
  test('what syft-client relies on', () => {
    const inbox = 'syft_datasite#0.1.0#do@example.org#inbox#ds@example.com';
    expect(m(inbox, 'syft_datasite#')).toBe(true);
    expect(m(inbox, '#do@example.org#')).toBe(true);
    expect(m(inbox, '#ds@example.com')).toBe(true);
    expect(m(inbox, '#do@example.org#inbox#ds@example.com')).toBe(true);
    expect(m('0.1.0#do@example.org', '#do@example.org')).toBe(true);
    expect(m('checkpoint_1795632149.72.tar.gz', 'checkpoint')).toBe(true);
    expect(m('incremental_checkpoint_3_1795632149.72.tar.gz', 'incremental_checkpoint')).toBe(true);
    expect(m('rolling_state_1795632149.72.tar.gz', 'rolling_state')).toBe(true);
    expect(m('syft_datasetcollection_census_0123456789ab', 'syft_datasetcollection_')).toBe(true);
  });
  test('is not a substring test', () => {
    expect(m('mysyft_datasite#x', 'syft_datasite#')).toBe(false); // "mysyft" does not start with "syft"
    expect(m('syft_datasite#0.1.0#dan@example.org#inbox#x@y.z', '#do@example.org#')).toBe(false);
    expect(m('rolling_state_1.tar.gz', 'state_2')).toBe(false);
    // but it is fuzzy: token order and separators do not matter (why syft-client re-filters names exactly)
    expect(m('org example do', '#do@example.org#')).toBe(true);
  });
  test('queries without alphanumerics fall back to a substring test', () => {
    expect(m('a#b', '#')).toBe(true);
    expect(m('ab', '#')).toBe(false);
  });
  test('fullText matches whole tokens, or an exact phrase in double quotes', () => {
    const t = tokenize('Hello there world; HelloWorld and Hello_world');
    expect(fullTextContains(t, 'HelloWorld')).toBe(true);
    expect(fullTextContains(t, 'Hell')).toBe(false);
    expect(fullTextContains(t, '"Hello there"')).toBe(true);
    expect(fullTextContains(t, '"there Hello"')).toBe(false);
    expect(fullTextContains(t, '"hello world"')).toBe(true); // Hello_world is alphanumeric-tokenised
  });
});

describe('fields parser', () => {
  const show = (s: string) => JSON.parse(JSON.stringify(parseFields(s), (_k, v) => (v instanceof Map ? Object.fromEntries(v) : v)));
  test('lists, nesting, paths and stars', () => {
    expect(show('id, name')).toEqual({ id: null, name: null });
    expect(show('files(id, name), nextPageToken')).toEqual({ files: { id: null, name: null }, nextPageToken: null });
    expect(show('files(owners(emailAddress),id)')).toEqual({ files: { owners: { emailAddress: null }, id: null } });
    expect(show('files/id,files/name')).toEqual({ files: { id: null, name: null } });
    expect(show('*')).toEqual({ '*': null });
    expect(show('files(*)')).toEqual({ files: { '*': null } });
    expect(show('files,files(id)')).toEqual({ files: null });
  });
  test('validation against the resource schema', () => {
    expect(() => validateFields(parseFields('files(id,name,owners(emailAddress))'), FILE_LIST)).not.toThrow();
    expect(() => validateFields(parseFields('files(id,nmae)'), FILE_LIST)).toThrow(new FieldsError('files/nmae'));
    expect(() => validateFields(parseFields('bogus'), FILE)).toThrow(FieldsError);
    expect(() => validateFields(parseFields('id(x)'), FILE)).toThrow(FieldsError);
    expect(() => validateFields(parseFields('appProperties(anything)'), FILE)).not.toThrow();
    expect(() => parseFields('files(id')).toThrow(FieldsError);
    expect(() => parseFields('id,,name')).toThrow(FieldsError);
  });
  test('projection', () => {
    const v = { id: '1', name: 'n', owners: [{ emailAddress: 'a@b', me: true }], nested: { a: 1, b: 2 } };
    expect(project(v, parseFields('id,owners(emailAddress)'))).toEqual({ id: '1', owners: [{ emailAddress: 'a@b' }] });
    expect(project(v, parseFields('*'))).toEqual(v);
    expect(project(v, parseFields('nested/b'))).toEqual({ nested: { b: 2 } });
  });
});

describe('multipart parser', () => {
  test('multipart/related as googleapis sends it (CRLF, binary media)', () => {
    const bin = Buffer.from([0, 13, 10, 45, 45, 255, 13, 10]);
    const body = Buffer.concat([
      Buffer.from('--b1\r\ncontent-type: application/json\r\n\r\n{"name":"x"}\r\n--b1\r\ncontent-type: application/octet-stream\r\n\r\n'),
      bin,
      Buffer.from('\r\n--b1--'),
    ]);
    const parts = parseMultipart(body, 'b1');
    expect(parts).toHaveLength(2);
    expect(parts[0]!.headers['content-type']).toBe('application/json');
    expect(parts[0]!.body.toString()).toBe('{"name":"x"}');
    expect(Buffer.compare(parts[1]!.body, bin)).toBe(0);
  });
  test('bare LF, preamble and a boundary string inside the content', () => {
    const body = Buffer.from('preamble\n--zz\nContent-Type: text/plain\n\nline with --zz inside\n--zz--\n');
    const parts = parseMultipart(body, 'zz');
    expect(parts).toHaveLength(1);
    expect(parts[0]!.body.toString()).toBe('line with --zz inside');
  });
  test('application/http batch parts', () => {
    const r = parseHttpRequest(Buffer.from('GET /drive/v3/files/abc?fields=id HTTP/1.1\r\nAuthorization: Bearer t\r\n\r\n'));
    expect(r).toEqual({ method: 'GET', target: '/drive/v3/files/abc?fields=id', headers: { authorization: 'Bearer t' }, body: Buffer.alloc(0) });
    const p = parseHttpRequest(Buffer.from('\nPOST /drive/v3/files/abc/permissions HTTP/1.1\nContent-Type: application/json\n\n{"role":"reader"}'));
    expect(p.method).toBe('POST');
    expect(p.body.toString()).toBe('{"role":"reader"}');
  });
  test('content-type helpers', () => {
    expect(boundaryOf('multipart/related; boundary="a b"')).toBe('a b');
    expect(boundaryOf('multipart/mixed; boundary=batch_x; charset=utf-8')).toBe('batch_x');
    expect(mediaType('Text/Plain; charset=UTF-8')).toBe('text/plain');
  });
});
