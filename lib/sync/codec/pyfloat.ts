/**
 * Float text as syft-client's two writers produce it:
 * - Python `repr(float)` (file names: `f"msgv2_{ts}_…"`): shortest round-trip digits, scientific when the decimal
 *   point position is <= -4 or > 16, exponent with a sign and at least two digits (`1e-05`, `1e+16`), `.0` on integers;
 * - pydantic-core's JSON (`model_dump_json`): the same digits, scientific when the point position is <= -5 or > 16,
 *   exponent always signed but not zero-padded (`1e+16`, `1e-7`), `.0` on integers.
 * JS's shortest round-trip digits (`toExponential()` without an argument) are the same digits Python's repr picks.
 */

interface Decomposed {
  negative: boolean;
  /** significant digits, no leading/trailing zeros (except "0" for zero) */
  digits: string;
  /** position of the decimal point relative to the digits: value = 0.<digits> * 10^point */
  point: number;
}

function decompose(x: number): Decomposed {
  const negative = x < 0 || Object.is(x, -0);
  if (x === 0) return { negative, digits: '0', point: 1 };
  const [mant, exp] = Math.abs(x).toExponential().split('e') as [string, string];
  const digits = mant.replace('.', '');
  return { negative, digits, point: Number(exp) + 1 };
}

function fixed(d: Decomposed): string {
  const { digits, point } = d;
  let s: string;
  if (point <= 0) s = '0.' + '0'.repeat(-point) + digits;
  else if (point >= digits.length) s = digits + '0'.repeat(point - digits.length) + '.0';
  else s = digits.slice(0, point) + '.' + digits.slice(point);
  return (d.negative ? '-' : '') + s;
}

function scientific(d: Decomposed, padExponent: boolean): string {
  const { digits } = d;
  const e = d.point - 1;
  const mant = digits.length === 1 ? digits : digits[0] + '.' + digits.slice(1);
  const abs = Math.abs(e).toString();
  const expText = (e < 0 ? '-' : '+') + (padExponent ? abs.padStart(2, '0') : abs);
  return (d.negative ? '-' : '') + mant + 'e' + expText;
}

/** Python `repr(x)` for a finite float; `inf`, `-inf`, `nan` otherwise. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const d = decompose(x);
  return d.point <= -4 || d.point > 16 ? scientific(d, true) : fixed(d);
}

/** How pydantic-core writes a `float` field into JSON (non-finite floats become `null`, its default). */
export function pydanticFloatJson(x: number): string {
  if (!Number.isFinite(x)) return 'null';
  const d = decompose(x);
  return d.point <= -5 || d.point > 16 ? scientific(d, false) : fixed(d);
}

const DECIMAL_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Parse float text from a file name. Python's `float()` also takes `inf`, `nan`, `1_000` and surrounding spaces;
 * syft-client never writes those, and a non-finite timestamp would poison ordering, so they are refused (undefined).
 */
export function parseFloatStrict(text: string): number | undefined {
  if (!DECIMAL_RE.test(text)) return undefined;
  const v = Number(text);
  return Number.isFinite(v) ? v : undefined;
}
