/**
 * Parser for the Drive v3 `files.list` `q` language.
 *
 * Grammar and terms follow Google's reference:
 *  - https://developers.google.com/workspace/drive/api/guides/ref-search-terms (terms, operators, valid combinations)
 *  - https://developers.google.com/workspace/drive/api/guides/search-files (escaping, parentheses, dates)
 *
 *   query   := orExpr
 *   orExpr  := andExpr ('or' andExpr)*
 *   andExpr := unary ('and' unary)*
 *   unary   := 'not' unary | '(' query ')' | term
 *   term    := STRING 'in' (parents|owners|writers|readers)
 *            | FIELD OP value
 *            | (properties|appProperties) 'has' '{' key = STRING and value = STRING '}'
 *
 * Keywords (`and`, `or`, `not`, `contains`, `in`, `has`, `true`, `false`) are case-insensitive; field names are
 * case-sensitive, as in Google's reference. Strings are single-quoted with `\'` and `\\` escapes. Dates are RFC 3339
 * and default to UTC when no offset is given. Anything else (an unknown field, an operator a field does not
 * support, a wrong value type, a syntax error) is a {@link QueryError}, which the route turns into Google's
 * 400 `invalid` "Invalid Value" answer (Drive never ignores a clause it does not understand).
 */

export class QueryError extends Error {}

export type Node =
  | { k: 'and'; a: Node[] }
  | { k: 'or'; a: Node[] }
  | { k: 'not'; a: Node }
  | { k: 'str'; field: StringField; op: '=' | '!=' | 'contains'; value: string }
  | { k: 'bool'; field: BoolField; op: '=' | '!='; value: boolean }
  | { k: 'time'; field: TimeField; op: CmpOp; value: number }
  | { k: 'in'; field: CollectionField; value: string }
  | { k: 'has'; field: 'properties' | 'appProperties'; key: string; value: string };

export type CmpOp = '=' | '!=' | '<' | '<=' | '>' | '>=';
export type StringField = 'name' | 'fullText' | 'mimeType' | 'visibility' | 'shortcutDetails.targetId';
export type BoolField = 'trashed' | 'starred' | 'sharedWithMe';
export type TimeField = 'modifiedTime' | 'createdTime' | 'viewedByMeTime';
export type CollectionField = 'parents' | 'owners' | 'writers' | 'readers';

/** Valid operators per term, from the "File-specific query terms" table of ref-search-terms. */
const STRING_FIELDS: Record<StringField, readonly string[]> = {
  name: ['contains', '=', '!='],
  fullText: ['contains'],
  mimeType: ['contains', '=', '!='],
  visibility: ['=', '!='],
  'shortcutDetails.targetId': ['=', '!='],
};
const BOOL_FIELDS: readonly BoolField[] = ['trashed', 'starred', 'sharedWithMe'];
const TIME_FIELDS: readonly TimeField[] = ['modifiedTime', 'createdTime', 'viewedByMeTime'];
const COLLECTION_FIELDS: readonly CollectionField[] = ['parents', 'owners', 'writers', 'readers'];

type Tok =
  | { t: 'str'; v: string; at: number }
  | { t: 'word'; v: string; at: number }
  | { t: 'op'; v: CmpOp; at: number }
  | { t: 'punct'; v: '(' | ')' | '{' | '}'; at: number };

function lex(q: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === "'") {
      const at = i;
      let v = '';
      i++;
      for (;;) {
        if (i >= q.length) throw new QueryError(`unterminated string starting at ${at}`);
        const d = q[i]!;
        if (d === '\\') {
          if (i + 1 >= q.length) throw new QueryError(`dangling backslash at ${i}`);
          v += q[i + 1]!;
          i += 2;
          continue;
        }
        if (d === "'") {
          i++;
          break;
        }
        v += d;
        i++;
      }
      out.push({ t: 'str', v, at });
      continue;
    }
    if (c === '(' || c === ')' || c === '{' || c === '}') {
      out.push({ t: 'punct', v: c, at: i });
      i++;
      continue;
    }
    if (c === '=' ) {
      out.push({ t: 'op', v: '=', at: i });
      i++;
      continue;
    }
    if (c === '!' && q[i + 1] === '=') {
      out.push({ t: 'op', v: '!=', at: i });
      i += 2;
      continue;
    }
    if (c === '<' || c === '>') {
      if (q[i + 1] === '=') {
        out.push({ t: 'op', v: (c + '=') as CmpOp, at: i });
        i += 2;
      } else {
        out.push({ t: 'op', v: c, at: i });
        i++;
      }
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const at = i;
      while (i < q.length && /[A-Za-z0-9_.]/.test(q[i]!)) i++;
      out.push({ t: 'word', v: q.slice(at, i), at });
      continue;
    }
    throw new QueryError(`unexpected character '${c}' at ${i}`);
  }
  return out;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'contains', 'in', 'has', 'true', 'false']);

class Parser {
  private i = 0;
  constructor(private readonly toks: Tok[]) {}

  parse(): Node {
    const n = this.or();
    const t = this.toks[this.i];
    if (t) throw new QueryError(`unexpected '${t.v}' at ${t.at}`);
    return n;
  }

  private peekKw(kw: string): boolean {
    const t = this.toks[this.i];
    return t !== undefined && t.t === 'word' && t.v.toLowerCase() === kw;
  }

  private next(what: string): Tok {
    const t = this.toks[this.i++];
    if (!t) throw new QueryError(`expected ${what} at end of query`);
    return t;
  }

  private or(): Node {
    const a = [this.and()];
    while (this.peekKw('or')) {
      this.i++;
      a.push(this.and());
    }
    return a.length === 1 ? a[0]! : { k: 'or', a };
  }

  private and(): Node {
    const a = [this.unary()];
    while (this.peekKw('and')) {
      this.i++;
      a.push(this.unary());
    }
    return a.length === 1 ? a[0]! : { k: 'and', a };
  }

  private unary(): Node {
    if (this.peekKw('not')) {
      this.i++;
      return { k: 'not', a: this.unary() };
    }
    const t = this.toks[this.i];
    if (t?.t === 'punct' && t.v === '(') {
      this.i++;
      const n = this.or();
      const c = this.next("')'");
      if (c.t !== 'punct' || c.v !== ')') throw new QueryError(`expected ')' at ${c.at}`);
      return n;
    }
    return this.term();
  }

  private term(): Node {
    const t = this.next('a query term');
    if (t.t === 'str') {
      // 'value' in collection
      const kw = this.next("'in'");
      if (kw.t !== 'word' || kw.v.toLowerCase() !== 'in') throw new QueryError(`expected 'in' at ${kw.at}`);
      const f = this.next('a collection field');
      if (f.t !== 'word' || !(COLLECTION_FIELDS as readonly string[]).includes(f.v))
        throw new QueryError(`'${f.v}' is not a collection that supports 'in'`);
      return { k: 'in', field: f.v as CollectionField, value: t.v };
    }
    if (t.t !== 'word' || KEYWORDS.has(t.v.toLowerCase())) throw new QueryError(`expected a query term at ${t.at}, got '${t.v}'`);
    const field = t.v;
    if (field === 'properties' || field === 'appProperties') return this.has(field);
    if ((BOOL_FIELDS as readonly string[]).includes(field)) {
      // A bare boolean term means `= true`: Google's search guide uses `sharedWithMe and name contains 'hello'`.
      const after = this.toks[this.i];
      if (after === undefined || (after.t === 'word' && ['and', 'or'].includes(after.v.toLowerCase())) || (after.t === 'punct' && after.v === ')'))
        return { k: 'bool', field: field as BoolField, op: '=', value: true };
    }
    const opTok = this.next('an operator');
    let op: string;
    if (opTok.t === 'op') op = opTok.v;
    else if (opTok.t === 'word' && ['contains', 'in', 'has'].includes(opTok.v.toLowerCase())) op = opTok.v.toLowerCase();
    else throw new QueryError(`expected an operator after '${field}' at ${opTok.at}`);

    if (field in STRING_FIELDS) {
      const f = field as StringField;
      if (!STRING_FIELDS[f].includes(op)) throw new QueryError(`operator '${op}' is not valid for '${f}'`);
      return { k: 'str', field: f, op: op as '=' | '!=' | 'contains', value: this.string() };
    }
    if ((BOOL_FIELDS as readonly string[]).includes(field)) {
      if (op !== '=' && op !== '!=') throw new QueryError(`operator '${op}' is not valid for '${field}'`);
      const v = this.next('true or false');
      if (v.t !== 'word' || !['true', 'false'].includes(v.v.toLowerCase())) throw new QueryError(`'${field}' takes true or false`);
      return { k: 'bool', field: field as BoolField, op, value: v.v.toLowerCase() === 'true' };
    }
    if ((TIME_FIELDS as readonly string[]).includes(field)) {
      if (!['=', '!=', '<', '<=', '>', '>='].includes(op)) throw new QueryError(`operator '${op}' is not valid for '${field}'`);
      const s = this.string();
      return { k: 'time', field: field as TimeField, op: op as CmpOp, value: parseRfc3339(s) };
    }
    throw new QueryError(`unknown query term '${field}'`);
  }

  private has(field: 'properties' | 'appProperties'): Node {
    const kw = this.next("'has'");
    if (kw.t !== 'word' || kw.v.toLowerCase() !== 'has') throw new QueryError(`'${field}' only supports 'has'`);
    const open = this.next("'{'");
    if (open.t !== 'punct' || open.v !== '{') throw new QueryError(`expected '{' at ${open.at}`);
    const got: Record<string, string> = {};
    for (let n = 0; n < 2; n++) {
      if (n === 1) {
        const and = this.next("'and'");
        if (and.t !== 'word' || and.v.toLowerCase() !== 'and') throw new QueryError(`expected 'and' at ${and.at}`);
      }
      const k = this.next('key or value');
      if (k.t !== 'word' || !['key', 'value'].includes(k.v) || got[k.v] !== undefined) throw new QueryError(`expected key= or value= at ${k.at}`);
      const eq = this.next("'='");
      if (eq.t !== 'op' || eq.v !== '=') throw new QueryError(`expected '=' at ${eq.at}`);
      got[k.v] = this.string();
    }
    const close = this.next("'}'");
    if (close.t !== 'punct' || close.v !== '}') throw new QueryError(`expected '}' at ${close.at}`);
    return { k: 'has', field, key: got.key!, value: got.value! };
  }

  private string(): string {
    const v = this.next('a quoted string');
    if (v.t !== 'str') throw new QueryError(`expected a quoted string at ${v.at}`);
    return v.v;
  }
}

/** RFC 3339 date-time (`2012-06-04T12:00:00`, optional fraction and offset; UTC by default) or date. */
export function parseRfc3339(s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?([Zz]|[+-]\d{2}:?\d{2})?$/.exec(s.trim());
  if (!m) throw new QueryError(`'${s}' is not an RFC 3339 date-time`);
  const [, y, mo, d, h = '00', mi = '00', sec = '00', frac = '', tz = 'Z'] = m;
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${sec}${frac.slice(0, 4)}${tz.toUpperCase() === 'Z' ? 'Z' : tz.length === 5 ? tz.slice(0, 3) + ':' + tz.slice(3) : tz}`;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new QueryError(`'${s}' is not a valid date-time`);
  return t;
}

/** Parse a `q` string. An empty or blank query matches everything (returns undefined). */
export function parseQuery(q: string | undefined | null): Node | undefined {
  if (q === undefined || q === null || q.trim() === '') return undefined;
  return new Parser(lex(q)).parse();
}

/**
 * Google's tokenisation for `name contains` / `fullText contains`: every non-alphanumeric character separates
 * tokens, matching is case-insensitive (ref-search-terms says `name contains` "only performs prefix matching";
 * the GAM wiki "Users - Drive - Query" records the observed tokenisation).
 */
export function tokenize(s: string): string[] {
  return s.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((t) => t.length > 0);
}

/**
 * `name contains 'x'` as Google documents it: "The contains operator only performs prefix matching for a name
 * term. For example, suppose you have a name of HelloWorld. A query of name contains 'Hello' returns a result, but
 * a query of name contains 'World' doesn't." (ref-search-terms). Observed detail: both sides are split into
 * alphanumeric tokens and every query token must be a prefix of some name token, case-insensitively. So
 * `name contains 'syft_datasite#'` matches `syft_datasite#0.1#a@x.org#inbox#b@y.org`, and `'#b@y.org#'` matches it
 * too (tokens b, y, org), but neither is a substring test: Drive is "fuzzy" here, which is why syft-client re-filters
 * names exactly. A query without any alphanumeric token (e.g. `'#'`) has no documented behaviour; the emulator
 * falls back to a case-insensitive substring test for it.
 */
export function nameContains(nameTokens: readonly string[], name: string, query: string): boolean {
  return nameMatcher(query)(nameTokens, name);
}

/** {@link nameContains} with the query tokenised once (files.list evaluates it for every candidate). */
export function nameMatcher(query: string): (nameTokens: readonly string[], name: string) => boolean {
  const qt = tokenize(query);
  if (qt.length === 0) {
    const lower = query.toLowerCase();
    return (_t, name) => name.toLowerCase().includes(lower);
  }
  return (nameTokens) => qt.every((q) => nameTokens.some((t) => t.startsWith(q)));
}

/**
 * `fullText contains 'x'`: whole-token matches of every query token ("only performs matching on entire string
 * tokens for the fullText term"), or, when the value is wrapped in double quotes, an exact contiguous phrase
 * (ref-search-terms).
 */
export function fullTextContains(textTokens: readonly string[], query: string): boolean {
  const trimmed = query.trim();
  if (trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')) {
    const phrase = tokenize(trimmed.slice(1, -1));
    if (phrase.length === 0) return false;
    outer: for (let i = 0; i + phrase.length <= textTokens.length; i++) {
      for (let j = 0; j < phrase.length; j++) if (textTokens[i + j] !== phrase[j]) continue outer;
      return true;
    }
    return false;
  }
  const qt = tokenize(trimmed);
  if (qt.length === 0) return false;
  const set = new Set(textTokens);
  return qt.every((q) => set.has(q));
}
