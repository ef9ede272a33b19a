import type { Report } from '../../lib/control';
import type { ServicesResult } from '../../lib/api/services';

/**
 * `start`, `stop`, `restart`, `ensure-running` over lib/api/services: the API's lines and exit code as a Report
 * (a service that did not come online is a ServiceControlError carrying the same lines).
 */
type Api = typeof import('../../lib/api/services');
const api = (): Api => require('../../lib/api/services') as Api;

async function report(call: Promise<ServicesResult>): Promise<Report> {
  try {
    const r = await call;
    return { out: r.stdout, err: r.stderr, exitCode: 0 };
  } catch (e) {
    const { ServiceControlError } = require('../../lib/api/errors') as typeof import('../../lib/api/errors');
    if (!(e instanceof ServiceControlError)) throw e;
    return { out: e.result.stdout, err: e.result.stderr, exitCode: e.exitCode };
  }
}

export function start(names: string[]): Promise<Report> {
  return report(api().start(names));
}

export function stop(names: string[]): Promise<Report> {
  return report(api().stop(names));
}

export function restart(names: string[]): Promise<Report> {
  return report(api().restart(names));
}

export function ensure(names: string[], restartRunning: boolean): Promise<Report> {
  return report(api().ensureRunning(names, { restart: restartRunning }));
}
