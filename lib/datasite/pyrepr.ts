/**
 * Python `repr()` of str and of a set of str, for the reason text syft-job writes when it rejects a submission
 * (`f"Expected {VALID_SUBMISSION_ENTRIES}, got {entries}"`).
 */

/** Categories `str.isprintable()` treats as non-printable (ASCII space excepted). */
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/**
 * `repr(s)` of a Python str. Non-ASCII characters are kept when printable, else escaped (`\xNN`, `\uNNNN`,
 * `\UNNNNNNNN`, lower-case hex). Printability uses Node's Unicode tables, which may be one version newer than the
 * DO's Python: characters assigned in between are escaped by Python only.
 */
export function pyRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === '\\') out += '\\' + ch;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp < 0x7f) out += ch;
    else if (!NON_PRINTABLE.test(ch)) out += ch;
    else if (cp <= 0xff) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp <= 0xffff) out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += '\\U' + cp.toString(16).padStart(8, '0');
  }
  return out + quote;
}

/**
 * `repr(set(items))` with the elements in the given order. Python's own order depends on string hashing, which is
 * randomised per process (PYTHONHASHSEED), so no order is "the" Python order; callers pick a stable one.
 */
export function pySetRepr(items: readonly string[]): string {
  if (items.length === 0) return 'set()';
  return '{' + items.map(pyRepr).join(', ') + '}';
}
