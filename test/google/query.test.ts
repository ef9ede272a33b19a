import { fields, q, quote, DriveQuery, FOLDER_MIME } from '../../lib/google/query';

/**
 * A reader for Drive's string literal grammar (search-files guide: `\'` and `\\` are the only escapes inside
 * '…'). Returns the value and where the literal ended, so tests can prove a value cannot leave its literal.
 */
function readLiteral(s: string, at: number): { value: string; end: number } {
  if (s[at] !== "'") throw new Error(`no literal at ${at} in ${s}`);
  let value = '';
  for (let i = at + 1; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '\\') {
      const next = s[i + 1];
      if (next !== "'" && next !== '\\') throw new Error(`bad escape \\${next} at ${i} in ${s}`);
      value += next;
      i++;
    } else if (ch === "'") {
      return { value, end: i + 1 };
    } else {
      value += ch;
    }
  }
  throw new Error(`unterminated literal in ${s}`);
}

/** Split a query into its literals and the code around them (the code never contains user data). */
function scan(s: string): { code: string; literals: string[] } {
  let code = '';
  const literals: string[] = [];
  for (let i = 0; i < s.length; ) {
    if (s[i] === "'") {
      const { value, end } = readLiteral(s, i);
      literals.push(value);
      code += '?';
      i = end;
    } else {
      code += s[i];
      i++;
    }
  }
  return { code, literals };
}

const HOSTILE = [
  "a'b",
  'a\\b',
  "a\\'b",
  "a\\\\'b",
  "' or name contains '",
  "x' or 'me' in owners or name = 'y",
  "\\",
  "'",
  "''",
  "\\'",
  'trailing\\',
  "o'brien@example.org",
  'ends with quote\'',
  'new\nline',
  'unicode ✓ ß 中',
  '',
];

describe('quote', () => {
  it('escapes backslash and single quote (backslash first)', () => {
    expect(quote('plain')).toBe("'plain'");
    expect(quote("a'b")).toBe("'a\\'b'");
    expect(quote('a\\b')).toBe("'a\\\\b'");
    expect(quote("a\\'b")).toBe("'a\\\\\\'b'");
    expect(quote("' or name contains '")).toBe("'\\' or name contains \\''");
    expect(quote('')).toBe("''");
  });

  it.each(HOSTILE)('round-trips %j through Drive literal grammar and stays one literal', (v) => {
    const lit = quote(v);
    const { value, end } = readLiteral(lit, 0);
    expect(value).toBe(v);
    expect(end).toBe(lit.length);
  });

  it('round-trips random strings over a hostile alphabet', () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
    const alphabet = ["'", '\\', ' ', 'a', 'o', 'r', '(', ')', '"', '=', '#', '@'];
    for (let n = 0; n < 500; n++) {
      let v = '';
      const len = Math.floor(rnd() * 12);
      for (let i = 0; i < len; i++) v += alphabet[Math.floor(rnd() * alphabet.length)];
      const lit = quote(v);
      expect(readLiteral(lit, 0)).toEqual({ value: v, end: lit.length });
    }
  });

  it('refuses non-strings', () => {
    expect(() => quote(undefined as unknown as string)).toThrow(TypeError);
  });
});

describe('q builder', () => {
  it('builds each term', () => {
    expect(q.nameEq('SyftBox')).toBe("name = 'SyftBox'");
    expect(q.nameContains('#me@x.org')).toBe("name contains '#me@x.org'");
    expect(q.mimeTypeEq('text/plain')).toBe("mimeType = 'text/plain'");
    expect(q.folder()).toBe(`mimeType = '${FOLDER_MIME}'`);
    expect(q.notFolder()).toBe(`mimeType != '${FOLDER_MIME}'`);
    expect(q.inParents('abc')).toBe("'abc' in parents");
    expect(q.inOwners('do@example.com')).toBe("'do@example.com' in owners");
    expect(q.ownedByMe()).toBe("'me' in owners");
    expect(q.notOwnedByMe()).toBe("not 'me' in owners");
    expect(q.trashed(false)).toBe('trashed = false');
    expect(q.trashed(true)).toBe('trashed = true');
    expect(q.appPropertyEq('syft_shared_with_any', 'true')).toBe("appProperties has { key='syft_shared_with_any' and value='true' }");
    expect(q.modifiedAfter(new Date(Date.UTC(2026, 0, 2, 3, 4, 5)))).toBe("modifiedTime > '2026-01-02T03:04:05.000Z'");
    expect(() => q.modifiedAfter('not a date')).toThrow(TypeError);
  });

  it('reproduces the reference root query (§3.8 #2) with escaping', () => {
    expect(q.and(q.nameEq('SyftBox'), q.folder(), q.ownedByMe(), q.trashed(false))).toBe(
      "name = 'SyftBox' and mimeType = 'application/vnd.google-apps.folder' and 'me' in owners and trashed = false",
    );
  });

  it('skips undefined/false terms and refuses an empty and/or', () => {
    const parent: string | undefined = undefined;
    expect(q.and(q.nameEq('a'), parent !== undefined && q.inParents(parent), undefined, q.trashed(false))).toBe("name = 'a' and trashed = false");
    expect(() => q.and()).toThrow(TypeError);
    expect(() => q.or(undefined)).toThrow(TypeError);
    expect(q.and(q.nameEq('only'))).toBe("name = 'only'");
  });

  it('parenthesises or/not so precedence cannot change', () => {
    const either = q.or(q.nameEq('a'), q.nameEq('b'));
    expect(either).toBe("(name = 'a' or name = 'b')");
    expect(q.and(either, q.trashed(false))).toBe("(name = 'a' or name = 'b') and trashed = false");
    expect(q.not(q.and(q.nameEq('a'), q.trashed(false)))).toBe("not (name = 'a' and trashed = false)");
    expect(q.not(q.inParents('p'))).toBe("not 'p' in parents");
    expect(q.or(q.and(q.nameEq('a'), q.folder()), q.nameEq('b'))).toBe(`((name = 'a' and mimeType = '${FOLDER_MIME}') or name = 'b')`);
    // " and " inside a value or inside braces is not an operator.
    expect(q.not(q.nameEq('x and y'))).toBe("not name = 'x and y'");
    expect(q.not(q.appPropertyEq('k', 'v'))).toBe("not appProperties has { key='k' and value='v' }");
  });

  it.each(HOSTILE)('keeps a hostile value %j inside its literal in a compound query', (v) => {
    const query = q.and(q.nameEq(v), q.folder(), q.inParents(v), q.inOwners(v), q.nameContains(v), q.trashed(false));
    const { code, literals } = scan(query);
    // The structure is fixed whatever the value: injection would change `code`.
    expect(code).toBe('name = ? and mimeType = ? and ? in parents and ? in owners and name contains ? and trashed = false');
    expect(literals).toEqual([v, FOLDER_MIME, v, v, v]);
  });

  it('only accepts queries built by q (compile-time brand)', () => {
    // @ts-expect-error a raw string is not a DriveQuery
    const bad: DriveQuery = "name = 'x'";
    expect(typeof bad).toBe('string');
    // @ts-expect-error q.and does not take raw strings
    expect(q.and("name = 'x'")).toBe("name = 'x'");
  });
});

describe('fields masks', () => {
  it('builds file, list, permission and change masks', () => {
    expect(fields.file(['id', 'parents'])).toBe('id,parents');
    expect(fields.fileList(['id', 'name', 'owners(emailAddress)'])).toBe('nextPageToken,files(id,name,owners(emailAddress))');
    expect(fields.permissionList(['id', 'emailAddress'])).toBe('nextPageToken,permissions(id,emailAddress)');
    expect(fields.changeList(['fileId', 'removed'], ['id', 'name'])).toBe('nextPageToken,newStartPageToken,changes(fileId,removed,file(id,name))');
    expect(fields.changeList(['fileId'], [])).toBe('nextPageToken,newStartPageToken,changes(fileId)');
  });

  it('refuses empty masks and malformed fields', () => {
    expect(() => fields.file([])).toThrow(TypeError);
    expect(() => fields.file(['id,name' as 'id'])).toThrow(/invalid field/);
    expect(() => fields.fileList(['id)' as 'id'])).toThrow(/invalid field/);
    // @ts-expect-error not a Drive file field
    expect(fields.file(['notAField'])).toBe('notAField');
  });
});
