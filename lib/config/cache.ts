import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../fs/atomic';
import type { LoadedConfig } from './types';

/**
 * The resolved-config cache behind `loadConfigCached` (for `status`, which must not pay for loading yaml and zod).
 * `<home>/.cache/config.json` holds the last successful `loadConfig` result with the identity of config.yaml it was
 * made from. No yaml, no zod here.
 */

/** Bump when LoadedConfig's shape or the resolution rules change (the code identity below also guards this). */
export const CACHE_FORMAT = 2;

/**
 * The identity of the code that validated and resolved the cached config (the compiled schema and resolver next to
 * this file): a new version of syft-bg, or any rebuild, never reads a result an older validator made.
 */
function codeIdentity(): string {
  const parts: string[] = [];
  for (const f of ['schema', 'resolve', 'load']) {
    for (const ext of ['.js', '.ts']) {
      try {
        const st = fs.statSync(path.join(__dirname, f + ext));
        parts.push(`${f}${ext}:${st.size}:${st.mtimeMs}`);
        break;
      } catch {
        // the other extension (compiled or run from source)
      }
    }
  }
  return parts.join('|');
}

export interface CacheKey {
  file: string;
  homeDir: string;
  userHome: string;
  exists: boolean;
  /** Identity of config.yaml (bigint stat fields as decimal strings); absent when it does not exist. */
  ino?: string;
  dev?: string;
  size?: string;
  mtimeNs?: string;
  ctimeNs?: string;
}

interface CacheFile {
  format: number;
  /** codeIdentity() of the writer. */
  code?: string;
  key: CacheKey;
  loaded: LoadedConfig;
}

export function cachePath(homeDir: string): string {
  return path.join(homeDir, '.cache', 'config.json');
}

/** (ino, dev, size, mtime, ctime) of config.yaml; ctime also catches edits that restore the old mtime. */
export function statKey(file: string, homeDir: string, userHome: string): CacheKey {
  const key: CacheKey = { file, homeDir, userHome, exists: false };
  try {
    const st = fs.statSync(file, { bigint: true });
    return { ...key, exists: true, ino: String(st.ino), dev: String(st.dev), size: String(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs) };
  } catch {
    return key;
  }
}

function sameKey(a: CacheKey, b: CacheKey): boolean {
  return (
    a.file === b.file &&
    a.homeDir === b.homeDir &&
    a.userHome === b.userHome &&
    a.exists === b.exists &&
    a.ino === b.ino &&
    a.dev === b.dev &&
    a.size === b.size &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs
  );
}

/**
 * The cached result when it was made from this very file. Besides the stat identity, the file's text must equal the
 * cached text (a cheap read), so a same-size rewrite within one timestamp tick cannot serve stale values.
 */
export function readCache(key: CacheKey): LoadedConfig | undefined {
  let c: CacheFile;
  try {
    c = JSON.parse(fs.readFileSync(cachePath(key.homeDir), 'utf8')) as CacheFile;
  } catch {
    return undefined;
  }
  if (!c || c.format !== CACHE_FORMAT || c.code !== codeIdentity() || !c.key || !c.loaded || !c.loaded.config || !sameKey(c.key, key)) return undefined;
  if (key.exists) {
    let text: string;
    try {
      text = fs.readFileSync(key.file, 'utf8');
    } catch {
      return undefined;
    }
    if (text !== c.loaded.text) return undefined;
  }
  return c.loaded;
}

/** Best effort: never fails the load, never creates the home directory. */
export function writeCache(key: CacheKey, loaded: LoadedConfig): void {
  try {
    if (!fs.statSync(key.homeDir).isDirectory()) return;
    const body: CacheFile = { format: CACHE_FORMAT, code: codeIdentity(), key, loaded };
    writeFileAtomic(cachePath(key.homeDir), JSON.stringify(body), { mode: 0o600 });
  } catch {
    // read-only or odd filesystem: just no cache
  }
}
