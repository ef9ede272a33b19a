/**
 * The two matchers syft-permissions uses:
 * - `wcmatch.glob.globmatch(path, pattern, flags=GLOBSTAR)` for rule patterns: `/`-separated; `**` as a whole
 *   component matches zero or more components; `*` any run of characters within a component; `?` one character;
 *   `[...]` / `[!...]` / `[^...]` classes; `\` escapes. Without DOTGLOB, a component starting with `.` is matched
 *   only by a pattern component that starts with a literal `.` (so `**` and `*` skip hidden files and folders), and
 *   `.`/`..` are never matched by wildcards. Case-sensitive (wcmatch's default on Linux).
 * - `fnmatch.fnmatch(email, pattern)` for access-list entries with `*`/`?`: `*` matches anything, `?` one
 *   character, `[...]` classes; case-sensitive on POSIX.
 */

type Token = { t: 'lit'; c: string } | { t: 'star' } | { t: 'any' } | { t: 'class'; negate: boolean; items: Array<[string, string]> };

function parseClass(p: string, i: number, negChars: string): { token: Token; next: number } | undefined {
  // p[i] === '['
  let j = i + 1;
  let negate = false;
  if (j < p.length && negChars.includes(p[j]!)) {
    negate = true;
    j++;
  }
  const items: Array<[string, string]> = [];
  let first = true;
  while (j < p.length) {
    let ch = p[j]!;
    if (ch === ']' && !first) return { token: { t: 'class', negate, items }, next: j + 1 };
    first = false;
    if (ch === '\\' && j + 1 < p.length) {
      j++;
      ch = p[j]!;
    }
    if (p[j + 1] === '-' && j + 2 < p.length && p[j + 2] !== ']') {
      let hi = p[j + 2]!;
      let k = j + 3;
      if (hi === '\\' && j + 3 < p.length) {
        hi = p[j + 3]!;
        k = j + 4;
      }
      items.push([ch, hi]);
      j = k;
    } else {
      items.push([ch, ch]);
      j++;
    }
  }
  return undefined; // no closing bracket: the '[' is literal
}

function tokenize(p: string, opts: { escapes: boolean; negChars: string }): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < p.length; ) {
    const ch = p[i]!;
    if (ch === '*') {
      if (out[out.length - 1]?.t !== 'star') out.push({ t: 'star' });
      i++;
    } else if (ch === '?') {
      out.push({ t: 'any' });
      i++;
    } else if (ch === '[') {
      const c = parseClass(p, i, opts.negChars);
      if (c) {
        out.push(c.token);
        i = c.next;
      } else {
        out.push({ t: 'lit', c: '[' });
        i++;
      }
    } else if (ch === '\\' && opts.escapes && i + 1 < p.length) {
      out.push({ t: 'lit', c: p[i + 1]! });
      i += 2;
    } else {
      out.push({ t: 'lit', c: ch });
      i++;
    }
  }
  return out;
}

function classMatches(tok: Extract<Token, { t: 'class' }>, c: string): boolean {
  const inside = tok.items.some(([lo, hi]) => c >= lo && c <= hi);
  return tok.negate ? !inside : inside;
}

/** Match a token list against a string (iterative wildcard matching with backtracking on the last star). */
function matchTokens(toks: readonly Token[], s: string, excluded: string): boolean {
  let ti = 0;
  let si = 0;
  let starTi = -1;
  let starSi = 0;
  while (si < s.length) {
    const tok = toks[ti];
    const c = s[si]!;
    if (tok && tok.t === 'star') {
      starTi = ti++;
      starSi = si;
      continue;
    }
    if (tok && !excluded.includes(c) && (tok.t === 'any' || (tok.t === 'lit' && tok.c === c) || (tok.t === 'class' && classMatches(tok, c)))) {
      ti++;
      si++;
      continue;
    }
    if (tok && tok.t === 'lit' && tok.c === c) {
      ti++;
      si++;
      continue;
    }
    if (starTi >= 0 && !excluded.includes(s[starSi]!)) {
      ti = starTi + 1;
      si = ++starSi;
      continue;
    }
    return false;
  }
  while (toks[ti]?.t === 'star') ti++;
  return ti === toks.length;
}

/** One path component against one pattern component, with wcmatch's hidden-file rule. */
function matchComponent(pattern: string, name: string): boolean {
  const toks = tokenize(pattern, { escapes: true, negChars: '!^' });
  if (name === '.' || name === '..') {
    // only a literal pattern matches the special directories
    return toks.every((t) => t.t === 'lit') && toks.map((t) => (t as { c: string }).c).join('') === name;
  }
  if (name.startsWith('.')) {
    const first = toks[0];
    if (!first || first.t !== 'lit' || first.c !== '.') return false;
  }
  return matchTokens(toks, name, '/');
}

function splitPattern(pattern: string): string[] {
  // split on '/' that is not escaped
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\' && i + 1 < pattern.length) {
      cur += ch + pattern[i + 1]!;
      i++;
    } else if (ch === '/') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** `wcmatch.glob.globmatch(path, pattern, flags=GLOBSTAR)` for relative `/`-separated paths. */
export function globMatch(path: string, pattern: string): boolean {
  const pp = splitPattern(pattern);
  const sp = path.split('/');
  // memoised recursive match over components; `**` consumes zero or more non-hidden components
  const memo = new Map<number, boolean>();
  const go = (pi: number, si: number): boolean => {
    const key = pi * (sp.length + 1) + si;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let r: boolean;
    if (pi === pp.length) r = si === sp.length;
    else if (pp[pi] === '**') {
      r = go(pi + 1, si);
      for (let k = si; !r && k < sp.length; k++) {
        const name = sp[k]!;
        if (name.startsWith('.')) break;
        r = go(pi + 1, k + 1);
      }
    } else r = si < sp.length && matchComponent(pp[pi]!, sp[si]!) && go(pi + 1, si + 1);
    memo.set(key, r);
    return r;
  };
  return go(0, 0);
}

/** `fnmatch.fnmatch(name, pattern)` on POSIX (case-sensitive; `*` also matches `/`; no escapes). */
export function fnmatch(name: string, pattern: string): boolean {
  return matchTokens(tokenize(pattern, { escapes: false, negChars: '!' }), name, '');
}
