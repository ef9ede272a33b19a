/**
 * What the dashboard's keys do, through the programmatic API the commands use (lib/api): `s`/`t`/`r` are
 * `start|stop|restart(service)` (configuration check, PM2 start, wait until ready), `e` is `explain` of the selected
 * job. Results come back as text for the dashboard's message line or panel; nothing is printed (the screen belongs
 * to the dashboard).
 */
import * as path from 'node:path';
import type { ServiceName } from '../../lib/services';
import type { Report } from '../../lib/control';
import type { FeedRow, Tone } from './model';
import { safeText } from './text';

export interface ActionResult {
  text: string;
  tone: Tone;
}

export type ControlVerb = 'start' | 'stop' | 'restart';

/** The message for a command's report: its lines joined, problems and notes first. */
export function reportMessage(r: Report): ActionResult {
  const lines = [...r.err, ...r.out].map((l) => safeText(l.trim())).filter(Boolean);
  return { text: lines.join('  ') || (r.exitCode === 0 ? 'Done.' : 'Failed.'), tone: r.exitCode === 0 ? 'good' : 'bad' };
}

export async function runControl(verb: ControlVerb, service: ServiceName): Promise<ActionResult> {
  const api = require('../../lib/api/services') as typeof import('../../lib/api/services');
  const { isUserError } = require('../../lib/errors') as typeof import('../../lib/errors');
  try {
    const r = await api[verb](service);
    return reportMessage({ out: r.stdout, err: r.stderr, exitCode: 0 });
  } catch (e) {
    const msg = isUserError(e) ? (e as Error).message : `${verb} ${service} failed: ${(e as Error)?.message ?? String(e)}`;
    return { text: safeText(msg.replace(/\s*\n\s*/g, ' ')), tone: 'bad' };
  }
}

/** A path component from a peer (submitter, job name): refuse anything that could leave its folder. */
export function safeComponent(s: string): boolean {
  return s !== '' && s !== '.' && s !== '..' && !/[/\\\0]/.test(s);
}

/**
 * The argument `explain` gets for a feed row: the job's inbox folder under the SyftBox folder when that is known,
 * else `<submitter>/<job>` (the data owner's own datasite). Undefined when the row's names are not plain names.
 */
export function explainArg(row: FeedRow, syftboxRoot: string | null): string | undefined {
  const j = row.job;
  if (!j || !safeComponent(j.submitter) || !safeComponent(j.name)) return undefined;
  if (syftboxRoot && safeComponent(j.datasite)) return path.join(syftboxRoot, j.datasite, 'app_data', 'job', 'inbox', j.submitter, j.name);
  return `${j.submitter}/${j.name}`;
}

export function explainRow(row: FeedRow, syftboxRoot: string | null): { title: string; lines: string[] } {
  const title = `Explain: ${row.subject}`;
  const arg = explainArg(row, syftboxRoot);
  if (!arg) return { title, lines: [`Cannot explain ${row.subject}: the job name is not a plain folder name.`] };
  const { explain, renderExplanation } = require('../../lib/api/explain') as typeof import('../../lib/api/explain');
  try {
    const x = explain(arg);
    return { title: `${title}  (${x.approved ? 'would be approved' : 'would not be approved'})`, lines: renderExplanation(x).map(safeText) };
  } catch (e) {
    return { title, lines: String((e as Error)?.message ?? e).split('\n').map(safeText) };
  }
}

/**
 * While the dashboard runs, what libraries print (pm2 writes `[PM2] …` with console.log, the config loader warns on
 * stderr) goes to `sink` instead of over the screen. Returns the function that puts everything back.
 */
export function captureOutput(sink: (line: string) => void): () => void {
  const util = require('node:util') as typeof import('node:util');
  const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const saved = methods.map((m) => console[m]);
  const savedWrite = process.stderr.write;
  const put = (text: string) => {
    for (const l of text.split('\n')) if (l.trim()) sink(safeText(l.replace(/\x1b\[[0-9;]*m/g, '')));
  };
  for (const m of methods) console[m] = (...args: unknown[]) => put(util.format(...args));
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    put(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const cb = rest.find((x) => typeof x === 'function') as (() => void) | undefined;
    if (cb) cb();
    return true;
  }) as typeof process.stderr.write;
  return () => {
    methods.forEach((m, i) => (console[m] = saved[i]!));
    process.stderr.write = savedWrite;
  };
}
