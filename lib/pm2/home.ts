import * as os from 'node:os';
import * as path from 'node:path';

/** The PM2 home pm2 itself would use: `PM2_HOME`, else `~/.pm2` (see pm2/paths.js). */
export function pm2Home(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PM2_HOME) return env.PM2_HOME;
  const home = env.HOME && env.HOME !== '' ? env.HOME : os.homedir();
  return path.resolve(home, '.pm2');
}

/** Absolute path of the pm2 CLI script shipped with our pinned pm2. */
export function pm2Bin(): string {
  return require.resolve('pm2/bin/pm2');
}
