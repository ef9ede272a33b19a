import * as fs from 'node:fs';
import { readCache, statKey } from './cache';
import { defaultUserHome, refreshDerivedTransports } from './resolve';
import type { ConfigHome, LoadedConfig } from './types';

/**
 * `loadConfig` for `status`: when `<home>/.cache/config.json` was made from the current config.yaml (same inode,
 * size, mtime, ctime and text), return it without loading `yaml` or `zod`; otherwise do a full `loadConfig`
 * (which refreshes the cache). Transports that were derived from the token files are re-derived, since those files
 * are not part of the cache key. Throws `ConfigError` like `loadConfig` when the file is invalid.
 */
export function loadConfigCached(home: ConfigHome): LoadedConfig {
  const userHome = home.userHome ?? defaultUserHome();
  const hit = readCache(statKey(home.config, home.dir, userHome));
  if (hit) return { ...hit, config: refreshDerivedTransports(hit.config, (p) => fs.existsSync(p)) };
  const { loadConfig } = require('./load') as typeof import('./load');
  return loadConfig(home);
}
