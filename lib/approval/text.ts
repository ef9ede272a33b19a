/** Python-compatible string/set repr (for the reference's reasons) and safe display of untrusted names. Pure. */

function isPrintable(ch: string): boolean {
  // Python's str.isprintable(): everything but categories Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs other than ' '.
  return ch === ' ' || !/[\p{C}\p{Z}]/u.test(ch);
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** `repr(s)` of a Python 3 str. */
export function pyRepr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = q;
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (ch === q || ch === '\\') out += `\\${ch}`;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (!isPrintable(ch)) out += cp < 0x100 ? `\\x${hex(cp, 2)}` : cp < 0x10000 ? `\\u${hex(cp, 4)}` : `\\U${hex(cp, 8)}`;
    else out += ch;
  }
  return out + q;
}

/**
 * `repr(set)` of strings. Python's order is arbitrary (hash-randomised per process); we sort by code point so
 * reasons are stable. An empty set is `set()`.
 */
export function pySetRepr(items: Iterable<string>): string {
  const sorted = [...new Set(items)].sort(compareCodePoints);
  return sorted.length === 0 ? 'set()' : `{${sorted.map(pyRepr).join(', ')}}`;
}

export function compareCodePoints(a: string, b: string): number {
  // Compare by code point, not UTF-16 unit (the two orders differ for astral characters).
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const cx = (x.value as string).codePointAt(0) as number;
    const cy = (y.value as string).codePointAt(0) as number;
    if (cx !== cy) return cx - cy;
  }
}

const UNSAFE_DISPLAY = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Zl}\p{Zp}]/u;

/**
 * A name as printed on one terminal line: unchanged unless it contains control, format (e.g. bidi overrides,
 * zero-width) or line-separator characters, in which case its Python repr is shown, so a hostile file or object
 * name cannot forge extra output lines or reorder what the user reads.
 */
export function display(s: string): string {
  return UNSAFE_DISPLAY.test(s) ? pyRepr(s) : s;
}

/** Width in code points (what Python's `f"{s:<30}"` pads by). */
export function padEndCodePoints(s: string, width: number): string {
  const n = [...s].length;
  return n >= width ? s : s + ' '.repeat(width - n);
}
