import { diffLines, spliceEdit, type Hunk } from '../../lib/config/splice';

/** Apply hunks to a; must give b. */
function apply(a: string[], b: string[], hunks: Hunk[]): string[] {
  const out: string[] = [];
  let i = 0;
  for (const h of hunks) {
    out.push(...a.slice(i, h.aStart), ...b.slice(h.bStart, h.bEnd));
    i = h.aEnd;
  }
  return [...out, ...a.slice(i)];
}

/** Length of the longest common subsequence (reference DP). */
function lcs(a: string[], b: string[]): number {
  const dp = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) dp[i]![j] = a[i - 1] === b[j - 1] ? dp[i - 1]![j - 1]! + 1 : Math.max(dp[i - 1]![j]!, dp[i]![j - 1]!);
  return dp[a.length]![b.length]!;
}

describe('diffLines', () => {
  it('finds a minimal edit on random inputs', () => {
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 400; round++) {
      const a = Array.from({ length: rnd(12) }, () => 'abcd'[rnd(4)] as string);
      const b = Array.from({ length: rnd(12) }, () => 'abcd'[rnd(4)] as string);
      const hunks = diffLines(a, b)!;
      expect(apply(a, b, hunks)).toEqual(b);
      const changedA = hunks.reduce((s, h) => s + h.aEnd - h.aStart, 0);
      expect(a.length - changedA).toBe(lcs(a, b));
    }
  });

  it('gives no hunks for equal inputs and one for a pure insertion', () => {
    expect(diffLines(['a', 'b'], ['a', 'b'])).toEqual([]);
    expect(diffLines(['a', 'b'], ['a', 'x', 'b'])).toEqual([{ aStart: 1, aEnd: 1, bStart: 1, bEnd: 2 }]);
  });

  it('gives up (undefined) instead of using unbounded memory', () => {
    const a = Array.from({ length: 3000 }, (_, i) => `a${i}`);
    const b = Array.from({ length: 3000 }, (_, i) => `b${i}`);
    expect(diffLines(a, b, 1_000_000)).toBeUndefined();
  });
});

describe('spliceEdit', () => {
  it('keeps lines the library normalised when the edit is elsewhere', () => {
    const O = 'a: 1   # one\nb: 2\n\n  # dangling\nc: 3\n';
    const R = 'a: 1 # one\nb: 2\n  # dangling\nc: 3\n';
    const N = 'a: 1 # one\nb: 20\n  # dangling\nc: 3\n';
    expect(spliceEdit(O, R, N)).toBe('a: 1   # one\nb: 20\n\n  # dangling\nc: 3\n');
  });

  it('an edited line keeps its comment column', () => {
    expect(spliceEdit('a: 1      # c\n', 'a: 1 # c\n', 'a: 22 # c\n')).toBe('a: 22     # c\n');
    expect(spliceEdit('a: 1 # c\n', 'a: 1 # c\n', 'a: 22 # c\n')).toBe('a: 22 # c\n');
    expect(spliceEdit('a: 1   # c\n', 'a: 1 # c\n', 'a: 22 # c\n', { keepCommentColumns: false })).toBe('a: 22 # c\n');
  });

  it('inserts before lines only the original has (e.g. a blank line before a comment)', () => {
    const O = 'a:\n  x: 1\n\n  # end of a\nb: 2\n';
    const R = 'a:\n  x: 1\n  # end of a\nb: 2\n';
    const N = 'a:\n  x: 1\n  y: 2\n  # end of a\nb: 2\n';
    expect(spliceEdit(O, R, N)).toBe('a:\n  x: 1\n  y: 2\n\n  # end of a\nb: 2\n');
  });

  it('returns the original when nothing changed, and handles a missing final newline', () => {
    expect(spliceEdit('a: 1', 'a: 1\n', 'a: 1\n')).toBe('a: 1');
    expect(spliceEdit('a: 1\nb: 2', 'a: 1\nb: 2\n', 'a: 1\nb: 3\n')).toBe('a: 1\nb: 3\n');
    expect(spliceEdit('a: 1\nb: 2', 'a: 1\nb: 2\n', 'a: 5\nb: 2\n')).toBe('a: 5\nb: 2');
  });
});
