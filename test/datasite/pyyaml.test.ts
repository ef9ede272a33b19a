import { compareCodePoints, PyTimestamp, PyYamlError, pyYamlDump, pyYamlLoad, resolvePlain, type PyLoaded, type PyValue } from '../../lib/datasite/pyyaml';
import { loadGolden } from './helpers';

const golden = loadGolden();

describe('pyYamlDump: byte-identical to PyYAML 6 (golden file frozen from the real PyYAML)', () => {
  it('the golden file was made by PyYAML 6 with the pure-Python emitter', () => {
    expect(String(golden.generator.pyyaml)).toMatch(/^6\./);
    expect(golden.dump.length).toBeGreaterThan(300);
  });

  it.each(golden.dump.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(pyYamlDump(c.value as PyValue, { allowUnicode: c.allow_unicode ?? false })).toBe(c.out);
  });
});

describe('pyYamlDump: behaviours checked by hand against PyYAML', () => {
  const dump = (v: PyValue) => pyYamlDump(v);
  it('sorted keys, nulls, block lists at the key indent, empty collections in flow style', () => {
    expect(dump({ b: [], a: null, c: ['x', 'y'], d: {} })).toBe('a: null\nb: []\nc:\n- x\n- y\nd: {}\n');
  });
  it('quotes strings that would read back as another type', () => {
    for (const s of ['null', '~', 'true', 'yes', 'Off', '123', '0x1F', '1.5', '.inf', '2026-11-25', '2026-11-25T18:46:23.656253Z', '<<', '=', '']) {
      expect(dump({ k: s })).toBe(`k: '${s}'\n`);
    }
    for (const s of ['y', 'n', '1e5', '0o17', 'nan', 'abc']) expect(dump({ k: s })).toBe(`k: ${s}\n`);
  });
  it('folds plain scalars at the first single space past column 80, continuation indented by 2', () => {
    const out = dump({ review_reason: 'word '.repeat(30).trim() });
    const lines = out.split('\n');
    expect(lines[0]!.length).toBeGreaterThan(80);
    expect(lines[1]!.startsWith('  word')).toBe(true);
    expect(pyYamlLoad(out)).toEqual({ review_reason: 'word '.repeat(30).trim() });
  });
  it('escapes non-ASCII in double quotes unless allowUnicode', () => {
    expect(dump({ r: 'café' })).toBe('r: "caf\\xE9"\n');
    expect(pyYamlDump({ r: 'café' }, { allowUnicode: true })).toBe('r: café\n');
    expect(dump({ r: '😀' })).toBe('r: "\\U0001F600"\n');
  });
  it('integers, booleans, bigints', () => {
    expect(dump({ a: 0, b: -1, c: true, d: false, e: 2n ** 70n })).toBe('a: 0\nb: -1\nc: true\nd: false\ne: 1180591620717411303424\n');
  });
  it('rejects floats and unsupported values', () => {
    expect(() => dump({ a: 1.5 })).toThrow(TypeError);
    expect(() => dump({ a: undefined as unknown as PyValue })).toThrow(TypeError);
  });
  it('sorts keys by code point like Python, not by UTF-16 unit', () => {
    expect(compareCodePoints('\uff61', '😀')).toBeLessThan(0);
    expect('\uff61' < '😀').toBe(false); // the JS default order would be wrong
  });
});

function toJsonish(v: PyLoaded): unknown {
  if (v instanceof PyTimestamp) {
    if (!v.time) return { $date: `${String(v.year).padStart(4, '0')}-${String(v.month).padStart(2, '0')}-${String(v.day).padStart(2, '0')}` };
    return { $tsparts: [v.year, v.month, v.day, v.time.hour, v.time.minute, v.time.second, v.time.microsecond, v.time.offsetMinutes ?? null] };
  }
  if (typeof v === 'bigint') return { $int: v.toString() };
  if (Array.isArray(v)) return v.map(toJsonish);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJsonish(x)]));
  return v;
}

/** Python's datetime.isoformat() / repr(float) rendered comparably. */
function fromPython(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromPython);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if ('$ts' in o) {
      const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{6}))?(?:([+-])(\d{2}):(\d{2}))?$/.exec(String(o.$ts));
      if (!m) throw new Error(`unexpected ${String(o.$ts)}`);
      const off = m[8] ? (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10])) : null;
      return { $tsparts: [1, 2, 3, 4, 5, 6].map((i) => Number(m[i])).concat([m[7] ? Number(m[7]) : 0]).concat([off as unknown as number]) };
    }
    if ('$float' in o) {
      const s = String(o.$float);
      // JS numbers do not keep float-ness (1.0 === 1): floats load as plain numbers.
      return s === 'inf' ? Infinity : s === '-inf' ? -Infinity : s === 'nan' ? NaN : Number(s);
    }
    if ('$int' in o || '$date' in o) return o;
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, fromPython(x)]));
  }
  return v;
}

describe('pyYamlLoad: yaml.safe_load semantics (golden)', () => {
  it.each(golden.load.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    if (c.error !== undefined) {
      expect(() => pyYamlLoad(c.text)).toThrow(PyYamlError);
    } else {
      expect(toJsonish(pyYamlLoad(c.text))).toEqual(fromPython(c.out));
    }
  });
});

describe('pyYamlLoad: hostile input', () => {
  it('refuses characters PyYAML refuses, several documents, unknown tags, merge keys', () => {
    expect(() => pyYamlLoad('a: \x00\n')).toThrow(/unacceptable character #x0000/);
    expect(() => pyYamlLoad('a: 1\n---\nb: 2\n')).toThrow(PyYamlError);
    expect(() => pyYamlLoad("a: !!python/object/apply:os.system ['id']\n")).toThrow(/constructor/);
    expect(() => pyYamlLoad('a: !custom x\n')).toThrow(/constructor/);
    expect(() => pyYamlLoad('b: &b {x: 1}\n<<: *b\n')).toThrow(/merge keys/);
    expect(() => pyYamlLoad('a: [1, 2\n')).toThrow(PyYamlError);
  });
  it('caps alias expansion (billion laughs)', () => {
    let text = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 8; i++) text += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
    expect(() => pyYamlLoad(text)).toThrow(/too large/);
  });
  it('keeps __proto__ as data', () => {
    const v = pyYamlLoad('__proto__: {polluted: true}\n') as Record<string, unknown>;
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
  it('non-string keys are refused (syft-job models only take str keys)', () => {
    expect(() => pyYamlLoad('1: x\n')).toThrow(/not a string/);
  });
  it('duplicate keys: last wins, as PyYAML', () => {
    expect(pyYamlLoad('a: 1\na: 2\n')).toEqual({ a: 2 });
  });
  it('resolvePlain follows PyYAML (y/n stay strings, 1e5 is a string, 09 is a string)', () => {
    expect(['y', 'n', '1e5', '09', 'abc'].map(resolvePlain)).toEqual(['str', 'str', 'str', 'str', 'str']);
    expect(['yes', '1.0e+5', '017', '~', '2026-11-25'].map(resolvePlain)).toEqual(['bool', 'float', 'int', 'null', 'timestamp']);
  });
});
