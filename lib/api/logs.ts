import { parseServices, type ServiceName } from '../services';
import { UserError, EXIT } from '../errors';
import { resolveContext, type ApiOptions } from './context';

export interface LogsOptions extends ApiOptions {
  /** How many of the last lines (default 50). */
  lines?: number;
}

export interface LogsResult {
  service: ServiceName;
  /** The logs folder of the home (`<home>/logs`); the service's files are in `<logsDir>/<service>`. */
  logsDir: string;
  /** The service's log files, oldest first (none: the service never ran). */
  files: string[];
  /** The last lines, oldest first, as written (JSON, one object per line); render them with `logRenderer()`. */
  lines: string[];
}

function service(name: string): ServiceName {
  const [s] = parseServices([name]);
  if (!s) throw new UserError(`Unknown service '${name}'.`, EXIT.usage);
  return s;
}

function count(n: number | undefined): number {
  const v = n ?? 50;
  if (!Number.isInteger(v) || v < 0) throw new UserError(`lines must be a whole number ≥ 0, got ${v}.`, EXIT.usage);
  return v;
}

/** `syft-bg logs SERVICE -n LINES --json`: the last lines of a service's log. */
export function logs(serviceName: string, opts: LogsOptions = {}): LogsResult {
  const s = service(serviceName);
  const n = count(opts.lines);
  const { home } = resolveContext(opts);
  const { tailLines, logFiles } = require('../log/files') as typeof import('../log/files');
  const files = logFiles(home.logs, s);
  return { service: s, logsDir: home.logs, files, lines: files.length === 0 ? [] : tailLines(home.logs, s, n) };
}

export interface FollowLogsOptions extends LogsOptions {
  /** Each line as written (JSON), from the last `lines` on. */
  onLine: (line: string) => void;
  /** Stop following (the promise then resolves). */
  signal: AbortSignal;
}

/** `syft-bg logs SERVICE -f`: the last lines, then every new one until `signal` aborts (log rotation followed). */
export async function followLogs(serviceName: string, opts: FollowLogsOptions): Promise<void> {
  const s = service(serviceName);
  const n = count(opts.lines);
  const { home } = resolveContext(opts);
  const { followLog } = require('../log/follow') as typeof import('../log/follow');
  await followLog({ logsDir: home.logs, service: s, fromLines: n, onLine: opts.onLine, signal: opts.signal });
}

/** A renderer of log lines for people (pino-pretty, as `syft-bg logs` shows them), or the identity with `json`. */
export function logRenderer(opts: { json?: boolean; color?: boolean } = {}): (line: string) => string {
  const { createRenderer } = require('../log/render') as typeof import('../log/render');
  return createRenderer({ json: !!opts.json, color: !opts.json && !!opts.color });
}
