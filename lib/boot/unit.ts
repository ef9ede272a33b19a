import * as fs from 'node:fs';
import * as path from 'node:path';
import { pm2PackageDir } from './pm2cli';

/** The values pm2 puts into `lib/templates/init-scripts/systemd.tpl`. */
export interface UnitValues {
  /** `%PM2_PATH%`: the pm2 CLI script (pm2 uses `require.main.filename`, i.e. the real path of `bin/pm2`). */
  pm2Bin: string;
  /** `%NODE_PATH%`: see {@link pm2EnvPath}. */
  envPath: string;
  /** `%USER%`: the `-u` value. */
  user: string;
  /** `%HOME_PATH%`: `PM2_HOME` of the pm2 process (when `--hp` is not given). */
  pm2Home: string;
  /** `%SERVICE_NAME%`. */
  serviceName: string;
}

export function readSystemdTemplate(pm2Bin: string): string {
  return fs.readFileSync(path.join(pm2PackageDir(pm2Bin), 'lib', 'templates', 'init-scripts', 'systemd.tpl'), 'utf8');
}

/**
 * The `%NODE_PATH%` pm2 computes (`lib/API/Startup.js`): its PATH, plus the folder of the node binary running it
 * (`process.execPath`, a real path) unless that folder already matches PATH as a regular expression, or when pm2
 * ships its own node.
 */
export function pm2EnvPath(pathEnv: string | undefined, nodeRealPath: string, pm2Bin: string): string {
  const nodeDir = path.dirname(nodeRealPath);
  const embedded = fs.existsSync(path.resolve(pm2PackageDir(pm2Bin), 'node'));
  const p = pathEnv ?? '';
  if (embedded) return `${p}:${nodeDir}`;
  let found: boolean;
  try {
    found = new RegExp(nodeDir).test(p);
  } catch {
    found = p.includes(nodeDir);
  }
  return found ? p : `${p}:${nodeDir}`;
}

/** Render the template exactly as pm2 7 does (same replacements, same order). */
export function renderSystemdUnit(template: string, v: UnitValues): string {
  return template
    .replace(/%PM2_PATH%/g, v.pm2Bin)
    .replace(/%NODE_PATH%/g, v.envPath)
    .replace(/%USER%/g, v.user)
    .replace(/%HOME_PATH%/g, v.pm2Home)
    .replace(/%SERVICE_NAME%/g, v.serviceName);
}

/**
 * Characters that break a value written unquoted into a unit file: whitespace splits `ExecStart=`/`Environment=`,
 * `%` starts a systemd specifier, `$` is expanded in `ExecStart=`, quotes and backslashes are parsed.
 */
export const UNIT_UNSAFE = /[\s%$"'\\;]/;
