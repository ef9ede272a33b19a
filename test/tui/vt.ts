/**
 * A small virtual terminal for tests: feeds the bytes a program writes to its pty and keeps the grid of characters a
 * terminal would show (cursor moves, erases, autowrap, scrolling, the alternate screen). Colours and modes are
 * parsed and ignored. Escape sequences it does not know are recorded in `unknown`, so a test can tell.
 */
export class VirtualTerminal {
  private grid: string[][] = [];
  private saved: string[][] | undefined;
  private x = 0;
  private y = 0;
  private pendingWrap = false;
  private savedCursor = { x: 0, y: 0 };
  private rest = '';
  readonly unknown = new Set<string>();

  constructor(
    public cols: number,
    public rows: number,
  ) {
    this.grid = this.blank(rows, cols);
  }

  private blank(rows: number, cols: number): string[][] {
    return Array.from({ length: rows }, () => Array<string>(cols).fill(' '));
  }

  /** The visible screen, one string per row, trailing spaces removed. */
  lines(): string[] {
    return this.grid.map((r) => r.filter((c) => c !== '').join('').replace(/\s+$/, ''));
  }

  text(): string {
    return this.lines().join('\n');
  }

  /** Like a terminal window being resized: the content is kept where it fits, the cursor clamped. */
  resize(cols: number, rows: number): void {
    const g = this.blank(rows, cols);
    // (this.grid may be a saved screen of another size: leaving the alternate screen after a resize)
    for (let r = 0; r < Math.min(rows, this.grid.length); r++) {
      const row = this.grid[r]!;
      for (let c = 0; c < Math.min(cols, row.length); c++) g[r]![c] = row[c]!;
    }
    this.grid = g;
    this.cols = cols;
    this.rows = rows;
    this.x = Math.min(this.x, cols - 1);
    this.y = Math.min(this.y, rows - 1);
    this.pendingWrap = false;
  }

  write(data: string): void {
    let s = this.rest + data;
    this.rest = '';
    let i = 0;
    while (i < s.length) {
      const ch = s[i]!;
      if (ch === '\x1b') {
        const n = this.escape(s, i);
        if (n === 0) {
          this.rest = s.slice(i); // incomplete sequence: wait for more bytes
          return;
        }
        i += n;
        continue;
      }
      const cp = s.codePointAt(i)!;
      const len = cp > 0xffff ? 2 : 1;
      i += len;
      if (cp < 0x20 || cp === 0x7f) {
        this.control(ch);
        continue;
      }
      this.print(String.fromCodePoint(cp), wide(cp) ? 2 : 1);
    }
    s = '';
  }

  private control(ch: string): void {
    switch (ch) {
      case '\r':
        this.x = 0;
        this.pendingWrap = false;
        break;
      case '\n':
        this.lineFeed();
        break;
      case '\b':
        this.x = Math.max(0, this.x - 1);
        this.pendingWrap = false;
        break;
      case '\t':
        this.x = Math.min(this.cols - 1, (Math.floor(this.x / 8) + 1) * 8);
        break;
      default:
        break; // BEL, SI, SO, …
    }
  }

  private lineFeed(): void {
    this.pendingWrap = false;
    if (this.y === this.rows - 1) {
      this.grid.shift();
      this.grid.push(Array<string>(this.cols).fill(' '));
    } else this.y++;
  }

  private print(c: string, w: number): void {
    if (this.pendingWrap) {
      this.x = 0;
      this.lineFeed();
    }
    if (w === 2 && this.x === this.cols - 1) {
      this.grid[this.y]![this.x] = ' ';
      this.x = 0;
      this.lineFeed();
    }
    const row = this.grid[this.y]!;
    row[this.x] = c;
    if (w === 2) row[this.x + 1] = '';
    if (this.x + w >= this.cols) {
      this.x = this.cols - 1;
      this.pendingWrap = true;
    } else this.x += w;
  }

  /** Handle the escape sequence at s[i]; returns its length, 0 when incomplete. */
  private escape(s: string, i: number): number {
    const next = s[i + 1];
    if (next === undefined) return 0;
    if (next === '[') {
      let j = i + 2;
      while (j < s.length && !/[@-~]/.test(s[j]!)) j++;
      if (j >= s.length) return 0;
      this.csi(s.slice(i + 2, j), s[j]!);
      return j - i + 1;
    }
    if (next === ']' || next === 'P' || next === '_' || next === '^') {
      // OSC / DCS …: up to BEL or ST
      for (let j = i + 2; j < s.length; j++) {
        if (s[j] === '\x07') return j - i + 1;
        if (s[j] === '\x1b' && s[j + 1] === '\\') return j - i + 2;
      }
      return 0;
    }
    if (next === '(' || next === ')' || next === '*' || next === '+' || next === '#') return s.length > i + 2 ? 3 : 0;
    switch (next) {
      case '7':
        this.savedCursor = { x: this.x, y: this.y };
        break;
      case '8':
        this.x = this.savedCursor.x;
        this.y = this.savedCursor.y;
        break;
      case 'M':
        if (this.y > 0) this.y--;
        break;
      case 'D':
        this.lineFeed();
        break;
      case 'E':
        this.x = 0;
        this.lineFeed();
        break;
      case '=':
      case '>':
      case 'c':
        break;
      default:
        this.unknown.add(`ESC ${next}`);
    }
    return 2;
  }

  private csi(params: string, final: string): void {
    const priv = params.startsWith('?') || params.startsWith('>') || params.startsWith('=');
    const nums = (priv ? params.slice(1) : params).split(';').map((p) => (p === '' ? NaN : Number(p)));
    const n = (k: number, d: number) => (Number.isFinite(nums[k]) && (nums[k] as number) > 0 ? (nums[k] as number) : d);
    const clampX = (v: number) => Math.max(0, Math.min(this.cols - 1, v));
    const clampY = (v: number) => Math.max(0, Math.min(this.rows - 1, v));
    this.pendingWrap = false;
    if (priv) {
      if ((final === 'h' || final === 'l') && nums.includes(1049)) {
        if (final === 'h' && !this.saved) {
          this.saved = this.grid;
          this.grid = this.blank(this.rows, this.cols);
        } else if (final === 'l' && this.saved) {
          this.grid = this.saved;
          this.saved = undefined;
          this.resize(this.cols, this.rows);
        }
      }
      return; // other private modes (cursor, mouse, …): nothing on screen
    }
    switch (final) {
      case 'H':
      case 'f':
        this.y = clampY(n(0, 1) - 1);
        this.x = clampX(n(1, 1) - 1);
        break;
      case 'A':
        this.y = clampY(this.y - n(0, 1));
        break;
      case 'B':
        this.y = clampY(this.y + n(0, 1));
        break;
      case 'C':
        this.x = clampX(this.x + n(0, 1));
        break;
      case 'D':
        this.x = clampX(this.x - n(0, 1));
        break;
      case 'E':
        this.y = clampY(this.y + n(0, 1));
        this.x = 0;
        break;
      case 'F':
        this.y = clampY(this.y - n(0, 1));
        this.x = 0;
        break;
      case 'G':
        this.x = clampX(n(0, 1) - 1);
        break;
      case 'd':
        this.y = clampY(n(0, 1) - 1);
        break;
      case 'J': {
        const m = Number.isFinite(nums[0]) ? nums[0] : 0;
        if (m === 2 || m === 3) this.grid = this.blank(this.rows, this.cols);
        else if (m === 0) {
          this.eraseLine(this.y, this.x, this.cols);
          for (let r = this.y + 1; r < this.rows; r++) this.eraseLine(r, 0, this.cols);
        } else if (m === 1) {
          for (let r = 0; r < this.y; r++) this.eraseLine(r, 0, this.cols);
          this.eraseLine(this.y, 0, this.x + 1);
        }
        break;
      }
      case 'K': {
        const m = Number.isFinite(nums[0]) ? nums[0] : 0;
        if (m === 0) this.eraseLine(this.y, this.x, this.cols);
        else if (m === 1) this.eraseLine(this.y, 0, this.x + 1);
        else this.eraseLine(this.y, 0, this.cols);
        break;
      }
      case 'X':
        this.eraseLine(this.y, this.x, Math.min(this.cols, this.x + n(0, 1)));
        break;
      case 'm':
      case 'r':
      case 'l':
      case 'h':
      case 'q':
      case 't':
      case 'n':
      case 'c':
        break;
      default:
        this.unknown.add(`CSI ${params}${final}`);
    }
  }

  private eraseLine(r: number, from: number, to: number): void {
    const row = this.grid[r];
    if (!row) return;
    for (let c = Math.max(0, from); c < Math.min(this.cols, to); c++) row[c] = ' ';
  }
}

function wide(cp: number): boolean {
  return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0x1f300 && cp <= 0x1f64f) || (cp >= 0x1f900 && cp <= 0x1f9ff);
}
