import { compareCodePoints, display, padEndCodePoints, pyRepr, pySetRepr } from '../../lib/approval/text';

describe('pyRepr = Python 3 repr(str)', () => {
  // Right-hand sides are CPython's output.
  it.each([
    ['a.py', "'a.py'"],
    ["it's.py", `"it's.py"`],
    ['a"b', `'a"b'`],
    [`a'b"c`, `'a\\'b"c'`],
    ['x\ny', "'x\\ny'"],
    ['\t\r', "'\\t\\r'"],
    ['\\', "'\\\\'"],
    ['\x00', "'\\x00'"],
    ['\x7f', "'\\x7f'"],
    ['\xa0', "'\\xa0'"],
    ['é', "'é'"],
    ['\u200b', "'\\u200b'"],
    ['\u2028', "'\\u2028'"],
    ['\u202e', "'\\u202e'"],
    ['😀', "'😀'"],
    ['\u{e0001}', "'\\U000e0001'"],
    ['', "''"],
  ])('%j', (s, r) => {
    expect(pyRepr(s)).toBe(r);
  });
});

describe('pySetRepr', () => {
  it('sorted, deduplicated, Python element repr', () => {
    expect(pySetRepr(['b.py', 'a.py', 'b.py'])).toBe("{'a.py', 'b.py'}");
    expect(pySetRepr(["it's"])).toBe(`{"it's"}`);
    expect(pySetRepr([])).toBe('set()');
  });

  it('code-point order (astral characters after U+FFFF)', () => {
    expect(pySetRepr(['\uffff', '😀'])).toBe("{'\uffff', '😀'}".replace('\uffff', '\\uffff'));
    expect(compareCodePoints('😀', '\uffff')).toBeGreaterThan(0);
    expect(compareCodePoints('a', 'ab')).toBeLessThan(0);
    expect(compareCodePoints('ab', 'ab')).toBe(0);
  });
});

describe('display', () => {
  it('plain names unchanged (unicode, quotes, spaces)', () => {
    for (const s of ['main.py', 'Job - 1a2b3c4d', 'café.py', `it's "x".py`, '数据.py']) expect(display(s)).toBe(s);
  });

  it('names that could forge output lines or reorder text are shown as a repr', () => {
    expect(display('a\nApproved: evil')).toBe("'a\\nApproved: evil'");
    expect(display('x\u202etxt.py')).toBe("'x\\u202etxt.py'");
    expect(display('\x1b[31mred')).toBe("'\\x1b[31mred'");
  });

  it('padEndCodePoints pads like Python f"{s:<30}"', () => {
    expect(padEndCodePoints('😀', 3)).toBe('😀  ');
    expect(padEndCodePoints('abcd', 3)).toBe('abcd');
  });
});
