import { spawn } from 'node:child_process';

/** A command to spawn, and how to show it to the user. */
export interface Command {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Run as this uid/gid (only when we are root and act for another user). */
  uid?: number;
  gid?: number;
  /** The equivalent shell line shown in messages (`env PM2_HOME=… node …/pm2 save --force`). */
  display: string;
}

export interface RunResult {
  /** Exit code; null when the process could not be spawned, was killed by a signal or timed out. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Why it did not run to completion (spawn error, timeout); undefined otherwise. */
  failure?: string;
}

/** Spawn a command, collect its output; never rejects. */
export function run(cmd: Command, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let failure: string | undefined;
    let settled = false;
    const finish = (r: RunResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    let child;
    try {
      child = spawn(cmd.file, cmd.args, {
        env: cmd.env,
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(cmd.uid !== undefined ? { uid: cmd.uid } : {}),
        ...(cmd.gid !== undefined ? { gid: cmd.gid } : {}),
      });
    } catch (e) {
      resolve({ code: null, signal: null, stdout: '', stderr: '', failure: `could not start it: ${(e as Error).message}` });
      return;
    }
    const timer = setTimeout(() => {
      failure = `timed out after ${Math.round(timeoutMs / 1000)} s`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e) => {
      failure = `could not start it: ${e.message}`;
      finish({ code: null, signal: null, stdout, stderr, failure });
    });
    child.on('close', (code, signal) => {
      if (!failure && signal) failure = `killed by ${signal}`;
      finish({ code, signal, stdout, stderr, ...(failure ? { failure } : {}) });
    });
  });
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

export function stripAnsi(s: string): string {
  return s.replace(ANSI, '');
}

/**
 * The lines explaining a failed command: the command, its exit status, its stderr (or the end of its stdout when
 * stderr is empty, since pm2 prints some of its errors on stdout). No stack traces.
 */
export function describeFailure(cmd: Command, r: RunResult, maxLines = 20): string[] {
  const status = r.failure ?? (r.code !== null ? `exit code ${r.code}` : `killed by ${r.signal ?? 'a signal'}`);
  const out = [`Command failed (${status}): ${cmd.display}`];
  const clean = (s: string) =>
    stripAnsi(s)
      .split('\n')
      .map((l) => l.trimEnd())
      .filter((l) => l !== '' && !/^\s+at .+\(.*\)$|^\s+at \S+:\d+:\d+$/.test(l));
  let detail = clean(r.stderr);
  let label = 'stderr';
  if (detail.length === 0) {
    detail = clean(r.stdout);
    label = 'stdout';
  }
  if (detail.length > 0) {
    out.push(`  ${label}:`);
    for (const l of detail.slice(-maxLines)) out.push(`    ${l}`);
  }
  return out;
}
