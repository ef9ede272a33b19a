/**
 * The terminal layer of the dashboard, on terminal-kit: the alternate screen, raw key input, resize events, and a
 * double-buffered screen (ScreenBuffer) so that a refresh writes only the cells that changed. It paints the lines
 * screen.ts lays out and knows nothing else about the dashboard.
 */
import type { Line, Style } from './screen';
import { textWidth } from './text';

export interface Screen {
  readonly width: number;
  readonly height: number;
  /** Paint a full frame (exactly height lines); only the changed cells reach the terminal. */
  paint(lines: Line[]): void;
  onKey(fn: (name: string) => void): void;
  /** After a resize the next paint redraws every cell. */
  onResize(fn: (width: number, height: number) => void): void;
  /** Leave the alternate screen, show the cursor, give the keyboard back. Idempotent. */
  close(): void;
}

const STYLES: Record<Style, Record<string, unknown>> = {
  plain: {},
  title: { color: 'white', bgColor: 'blue', bold: true },
  dim: { dim: true },
  heading: { bold: true },
  selected: { inverse: true },
  border: {},
  borderSelected: { color: 'cyan', bold: true },
  good: { color: 'green' },
  warn: { color: 'yellow' },
  bad: { color: 'red', bold: true },
  neutral: {},
};

/* terminal-kit ships no type declarations: the few members used here. */
interface TkTerminal {
  width: number;
  height: number;
  fullscreen(on: boolean | object): void;
  hideCursor(hide?: boolean): void;
  grabInput(opts: boolean | object): void;
  styleReset(): void;
  clear(): void;
  on(ev: string, fn: (...a: any[]) => void): void;
  off(ev: string, fn: (...a: any[]) => void): void;
}
interface TkScreenBuffer {
  fill(o?: object): void;
  put(o: object, s: string): void;
  draw(o?: object): void;
}
interface TerminalKit {
  terminal: TkTerminal;
  ScreenBuffer: { new (o: object): TkScreenBuffer; object2attr(o: object): number };
}

export function openScreen(): Screen {
  const tk = require('terminal-kit') as TerminalKit;
  const term = tk.terminal;
  const attrs = {} as Record<Style, number>;
  for (const [k, v] of Object.entries(STYLES)) attrs[k as Style] = tk.ScreenBuffer.object2attr({ ...v });
  const make = () => new tk.ScreenBuffer({ dst: term, width: term.width, height: term.height });
  let buf = make();
  let closed = false;
  const keyFns: Array<(name: string) => void> = [];
  const resizeFns: Array<(w: number, h: number) => void> = [];
  const onKey = (name: string) => keyFns.forEach((f) => f(name));
  const onResize = (w: number, h: number) => {
    if (closed) return;
    buf = make();
    term.clear();
    resizeFns.forEach((f) => f(w, h));
  };

  term.fullscreen(true);
  term.hideCursor(true);
  term.grabInput(true);
  term.on('key', onKey);
  term.on('resize', onResize);

  const close = () => {
    if (closed) return;
    closed = true;
    term.off('key', onKey);
    term.off('resize', onResize);
    term.grabInput(false);
    term.styleReset();
    term.hideCursor(false);
    term.fullscreen(false);
  };
  // Whatever happens, do not leave the user's terminal in raw mode on the alternate screen.
  process.once('exit', close);

  return {
    get width() {
      return term.width;
    },
    get height() {
      return term.height;
    },
    paint(lines) {
      if (closed) return;
      buf.fill({ attr: attrs.plain });
      lines.forEach((line, y) => {
        let x = 0;
        for (const s of line) {
          if (!s.text) continue;
          buf.put({ x, y, attr: attrs[s.style], wrap: false }, s.text);
          x += textWidth(s.text);
        }
      });
      buf.draw({ delta: true });
    },
    onKey: (fn) => void keyFns.push(fn),
    onResize: (fn) => void resizeFns.push(fn),
    close,
  };
}
