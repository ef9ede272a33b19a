import type { PrettyOptions } from 'pino-pretty';

export interface RenderOptions {
  /** Print the raw JSON lines. */
  json: boolean;
  /** ANSI colours (pretty mode only). */
  color: boolean;
}

/** pino-pretty options for one service's lines: `[2026-11-25 18:39:50.794] INFO: [notify] message` + extra fields. */
export const PRETTY_OPTIONS: Readonly<PrettyOptions> = {
  translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
  ignore: 'pid,hostname,service',
  messageFormat: '{if service}[{service}] {end}{msg}',
};

/**
 * A line renderer for `syft-bg logs`: with `json`, the line as it is; otherwise pino-pretty's `prettyFactory`, per
 * line (lines that are not JSON, e.g. a stray `console.log`, come back unchanged). The result has no trailing newline
 * (extra fields and error stacks make it span several lines). pino-pretty is only loaded for pretty output.
 */
export function createRenderer(opts: RenderOptions): (line: string) => string {
  if (opts.json) return (line) => line;
  // Lazy: `--json` and the services never pay for pino-pretty (~9 MB RSS and ~20 ms in a process without pino).
  const { prettyFactory } = require('pino-pretty') as typeof import('pino-pretty');
  const pretty = prettyFactory({ ...PRETTY_OPTIONS, colorize: opts.color });
  return (line) => {
    if (!line.startsWith('{')) return line;
    let out: string;
    try {
      out = pretty(line);
    } catch {
      return line;
    }
    return out.endsWith('\n') ? out.slice(0, -1) : out;
  };
}
