/**
 * Byte-preserving edits. The `yaml` library re-serialises the whole document, normalising a few things it does not
 * keep (two spaces before an inline `# comment`, blank lines before a trailing comment, …). To leave every line the
 * edit did not touch exactly as it was, we diff three texts:
 *
 *   O = the original file, R = the unedited document re-serialised, N = the edited document serialised.
 *
 * diff(R, N) is the edit; diff(O, R) is the library's normalisation. Each edited region of R is mapped back onto O
 * and only those lines of O are replaced by the corresponding lines of N. Pure functions, no dependencies.
 */

export interface Hunk {
  /** Lines a[aStart, aEnd) are replaced by b[bStart, bEnd). */
  aStart: number;
  aEnd: number;
  bStart: number;
  bEnd: number;
}

/**
 * Line diff (Myers, O((N+M)·D)). Returns undefined when the edit distance makes the trace too large
 * (callers fall back to the plain re-serialised text).
 */
export function diffLines(a: readonly string[], b: readonly string[], maxCells = 8_000_000): Hunk[] | undefined {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const A = a.slice(pre, a.length - suf);
  const B = b.slice(pre, b.length - suf);
  const n = A.length;
  const m = B.length;
  const max = n + m;
  const off = max + 1;
  const width = 2 * max + 3;
  const matches: Array<[number, number]> = [];
  if (n > 0 && m > 0) {
    const trace: Int32Array[] = [];
    let v = new Int32Array(width);
    let found = -1;
    for (let d = 0; d <= max; d++) {
      if ((d + 1) * width > maxCells) return undefined;
      trace.push(v.slice());
      for (let k = -d; k <= d; k += 2) {
        let x: number;
        if (k === -d || (k !== d && (v[k - 1 + off] as number) < (v[k + 1 + off] as number))) x = v[k + 1 + off] as number;
        else x = (v[k - 1 + off] as number) + 1;
        let y = x - k;
        while (x < n && y < m && A[x] === B[y]) {
          x++;
          y++;
        }
        v[k + off] = x;
        if (x >= n && y >= m) {
          found = d;
          break;
        }
      }
      if (found >= 0) break;
    }
    let x = n;
    let y = m;
    for (let d = found; d >= 0; d--) {
      let prevX = 0;
      let prevY = 0;
      if (d > 0) {
        const tv = trace[d] as Int32Array;
        const k = x - y;
        const down = k === -d || (k !== d && (tv[k - 1 + off] as number) < (tv[k + 1 + off] as number));
        const prevK = down ? k + 1 : k - 1;
        prevX = tv[prevK + off] as number;
        prevY = prevX - prevK;
      }
      while (x > prevX && y > prevY) {
        x--;
        y--;
        matches.push([x, y]);
      }
      x = prevX;
      y = prevY;
    }
    matches.reverse();
  }
  const hunks: Hunk[] = [];
  let i = 0;
  let j = 0;
  for (const [mx, my] of [...matches, [n, m] as [number, number]]) {
    if (mx > i || my > j) hunks.push({ aStart: pre + i, aEnd: pre + mx, bStart: pre + j, bEnd: pre + my });
    i = mx + 1;
    j = my + 1;
  }
  return hunks;
}

function splitLines(text: string): { lines: string[]; finalNewline: boolean } {
  if (text === '') return { lines: [], finalNewline: false };
  const finalNewline = text.endsWith('\n');
  const body = finalNewline ? text.slice(0, -1) : text;
  return { lines: body.split('\n'), finalNewline };
}

const INLINE_COMMENT = /^(.*?\S)(\s+)#(.*)$/;

/**
 * An edited line keeps the column of its inline comment (`interval: 5    # seconds` → `interval: 7    # seconds`),
 * which the library would print with a single space.
 */
function keepCommentColumn(o: string, n: string): string {
  const mo = INLINE_COMMENT.exec(o);
  const mn = INLINE_COMMENT.exec(n);
  if (!mo || !mn || mo[3] !== mn[3] || mn[2] !== ' ') return n;
  const col = (mo[1] as string).length + (mo[2] as string).length;
  const head = mn[1] as string;
  return head.length + 1 <= col ? `${head.padEnd(col)}#${mn[3]}` : n;
}

export interface SpliceOptions {
  /** Keep inline-comment columns on edited lines (default true). */
  keepCommentColumns?: boolean;
}

/** Apply the edit R→N to O, keeping O's bytes outside the edited regions. Undefined when it cannot be done. */
export function spliceEdit(original: string, before: string, after: string, opts: SpliceOptions = {}): string | undefined {
  const crlf = original.includes('\r\n');
  const O = splitLines(crlf ? original.replace(/\r\n/g, '\n') : original);
  const R = splitLines(before);
  const N = splitLines(after);
  const edit = diffLines(R.lines, N.lines);
  const norm = diffLines(O.lines, R.lines);
  if (!edit || !norm) return undefined;
  if (edit.length === 0) return original;

  // Regions of R to replace: each edit hunk, grown to cover the normalisation hunks it overlaps.
  const overlaps = (rs: number, re: number, h: Hunk) =>
    rs === re ? h.bStart < rs && rs < h.bEnd : h.bStart < re && rs < h.bEnd && h.bStart !== h.bEnd;
  type Region = { rs: number; re: number; edits: Hunk[] };
  let regions: Region[] = edit.map((h) => ({ rs: h.aStart, re: h.aEnd, edits: [h] }));
  for (let changed = true; changed; ) {
    changed = false;
    for (const r of regions) {
      for (const h of norm) {
        if (overlaps(r.rs, r.re, h) && (h.bStart < r.rs || h.bEnd > r.re)) {
          r.rs = Math.min(r.rs, h.bStart);
          r.re = Math.max(r.re, h.bEnd);
          changed = true;
        }
      }
    }
    regions.sort((p, q) => p.rs - q.rs || p.re - q.re);
    const merged: Region[] = [];
    for (const r of regions) {
      const prev = merged[merged.length - 1];
      if (prev && r.rs < prev.re) {
        prev.re = Math.max(prev.re, r.re);
        prev.edits.push(...r.edits);
        changed = true;
      } else merged.push({ ...r, edits: [...r.edits] });
    }
    regions = merged;
  }

  const delta = (h: Hunk) => h.bEnd - h.bStart - (h.aEnd - h.aStart);
  const out: string[] = [];
  let oPos = 0;
  for (const r of regions) {
    const inside = (h: Hunk) => r.edits.includes(h);
    let ns = r.rs;
    for (const h of edit) if (!inside(h) && h.aEnd <= r.rs) ns += delta(h);
    let ne = ns + (r.re - r.rs);
    for (const h of r.edits) ne += delta(h);
    // R position → O position. Lines that only O has (dropped by the library) stay outside the region.
    let os = r.rs;
    for (const h of norm) if (h.bEnd <= r.rs) os += h.aEnd - h.aStart - (h.bEnd - h.bStart);
    let oe = r.re;
    for (const h of norm) if (h.bEnd <= r.re) oe += h.aEnd - h.aStart - (h.bEnd - h.bStart);
    for (const h of norm) if (h.bStart === h.bEnd && h.bStart === r.re) oe -= h.aEnd - h.aStart;
    if (r.rs === r.re) os = oe;
    if (os < oPos || oe < os) return undefined;
    const replacement = N.lines.slice(ns, ne);
    if (opts.keepCommentColumns !== false && replacement.length === oe - os) {
      for (let i = 0; i < replacement.length; i++) replacement[i] = keepCommentColumn(O.lines[os + i] as string, replacement[i] as string);
    }
    out.push(...O.lines.slice(oPos, os), ...replacement);
    oPos = oe;
  }
  out.push(...O.lines.slice(oPos));
  const touchesEnd = regions.some((r) => r.re >= R.lines.length);
  const finalNewline = O.finalNewline || (touchesEnd && N.finalNewline) || O.lines.length === 0;
  let text = out.join('\n') + (out.length > 0 && finalNewline ? '\n' : '');
  if (crlf) text = text.replace(/\n/g, '\r\n');
  return text;
}
