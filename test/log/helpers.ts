import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { transformFileSync } from '@swc/core';

export const ROOT = path.resolve(__dirname, '..', '..');
const LIB_LOG = path.join(ROOT, 'lib', 'log');

const made: string[] = [];

/** A fresh temp dir, removed by `cleanupTmp()` (call it in afterAll). */
export function tmpDir(prefix = 'syft-bg-log-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}

export function cleanupTmp(): void {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

let compiled: string | undefined;

/**
 * lib/log compiled to plain CommonJS in a temp dir, for child processes that must run on plain `node` (no Jest
 * module registry, no TS loader skewing RSS). Returns the folder holding `logger.js`, `files.js`, …
 */
export function compiledLogLib(): string {
  if (compiled) return compiled;
  const base = tmpDir('syft-bg-loglib-');
  const out = path.join(base, 'log');
  fs.mkdirSync(out, { recursive: true });
  const compile = (src: string, dest: string) => {
    const { code } = transformFileSync(src, {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'commonjs' },
      sourceMaps: false,
      swcrc: false,
    });
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, code);
  };
  for (const name of fs.readdirSync(LIB_LOG)) {
    if (!name.endsWith('.ts') || name.endsWith('.d.ts')) continue;
    compile(path.join(LIB_LOG, name), path.join(out, name.replace(/\.ts$/, '.js')));
  }
  // What lib/log requires from the rest of lib/ (plain node and path modules only).
  for (const dep of ['fs/folders']) compile(path.join(LIB_LOG, '..', `${dep}.ts`), path.join(base, `${dep}.js`));
  compiled = out;
  return out;
}

/** `node -e <script>` with the compiled lib in `LOGLIB` and the project's node_modules on NODE_PATH. */
export function nodeChild(script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, ['-e', script, '--', ...args], {
    env: { ...process.env, ...env, LOGLIB: compiledLogLib(), NODE_PATH: path.join(ROOT, 'node_modules') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function collect(child: ChildProcess): Promise<ChildResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export function runNode(script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ChildResult> {
  return collect(nodeChild(script, args, env));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `cond` until true or the timeout passes (then throw with `what`). */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export function readLines(file: string): string[] {
  const s = fs.readFileSync(file, 'utf8');
  return s === '' ? [] : s.replace(/\n$/, '').split('\n');
}

export function parseJsonLines(lines: readonly string[]): Array<Record<string, unknown>> {
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}
