/**
 * Run a program on a real pseudo-terminal for tests, with what every Debian machine has: util-linux `script` makes
 * the pty, `stty` inside it sets the window size, and `stty -F <pty>` from outside resizes it (the kernel then sends
 * SIGWINCH to the program, as a terminal window would). What the program writes goes through a VirtualTerminal, so a
 * test asserts on the screen a user would see.
 */
import { spawn, execFileSync, ChildProcess } from 'node:child_process';
import { VirtualTerminal } from './vt';

export const KEYS = { up: '\x1b[A', down: '\x1b[B', right: '\x1b[C', left: '\x1b[D', escape: '\x1b' } as const;

export class PtyApp {
  readonly vt: VirtualTerminal;
  /** Everything the program wrote, raw. */
  raw = '';
  private child: ChildProcess;
  private ptyPath: string | undefined;
  private preamble = '';
  readonly exited: Promise<number | null>;

  constructor(argv: string[], opts: { env: NodeJS.ProcessEnv; cwd: string; cols: number; rows: number }) {
    this.vt = new VirtualTerminal(opts.cols, opts.rows);
    const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const inner = `stty cols ${opts.cols} rows ${opts.rows} && echo "PTY=$(tty)" && exec ${quoted}`;
    this.child = spawn('script', ['-qfec', inner, '/dev/null'], { env: { ...opts.env, TERM: 'xterm-256color' }, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (d: string) => this.data(d));
    this.child.stderr!.on('data', (d: Buffer) => (this.raw += `[stderr] ${d}`));
    this.exited = new Promise((resolve, reject) => {
      this.child.on('error', reject);
      this.child.on('exit', (code) => resolve(code));
    });
  }

  private data(d: string): void {
    this.raw += d;
    if (this.ptyPath === undefined) {
      this.preamble += d;
      const m = /PTY=(\/dev\/\S+)\r?\n/.exec(this.preamble);
      if (!m) return;
      this.ptyPath = m[1];
      d = this.preamble.slice(m.index + m[0].length);
    }
    this.vt.write(d);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  screen(): string {
    return this.vt.text();
  }

  lines(): string[] {
    return this.vt.lines();
  }

  send(keys: string): void {
    this.child.stdin!.write(keys);
  }

  /** Resize the terminal window: the pty (SIGWINCH to the program) and the virtual screen. */
  resize(cols: number, rows: number): void {
    if (!this.ptyPath) throw new Error('the pty is not known yet');
    execFileSync('stty', ['-F', this.ptyPath, 'cols', String(cols), 'rows', String(rows)]);
    this.vt.resize(cols, rows);
  }

  /** Wait until the screen satisfies `pred`; the error shows the last screen. */
  async waitFor(what: string, pred: (screen: string, lines: string[]) => boolean, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = this.screen();
      if (pred(s, this.lines())) return s;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the screen shows:\n${s}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
