import * as path from 'node:path';
import { currentHome, expandTilde, type HomeLayout, type HomeSource } from '../home';
import { pm2Home } from '../pm2/home';

/**
 * Where an API call acts. Every function of the API takes these in its options object; by default it acts like the
 * `syft-bg` command run by this process (SYFT_BG_HOME / ~/.syft-bg, PM2_HOME / ~/.pm2, the current directory).
 */
export interface ApiOptions {
  /** The syft-bg home (config.yaml, token.json, logs/…), as SYFT_BG_HOME would set it. */
  home?: string;
  /** Environment to read HOME, SYFT_BG_HOME and PM2_HOME from and to pass to the services (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** For relative paths given to the call (default: process.cwd()). */
  cwd?: string;
}

export interface ApiContext {
  env: NodeJS.ProcessEnv;
  home: HomeLayout & { source: HomeSource; userHome: string };
  cwd: string;
  /** The PM2 daemon the call talks to. */
  pm2Home: string;
}

/** The home, PM2 home, environment and directory of one call. */
export function resolveContext(o: ApiOptions = {}): ApiContext {
  const cwd = o.cwd ?? process.cwd();
  const base = o.env ?? process.env;
  let env = base;
  if (o.home !== undefined) {
    const userHome = base.HOME && base.HOME !== '' ? base.HOME : require('node:os').homedir();
    env = { ...base, SYFT_BG_HOME: path.resolve(cwd, expandTilde(o.home, userHome)) };
  }
  return { env, home: currentHome(env), cwd, pm2Home: pm2Home(env) };
}
