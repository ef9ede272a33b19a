import * as fs from 'node:fs';
import * as path from 'node:path';
import { readFileIfExists } from '../fs/atomic';
import { statKey, writeCache } from './cache';
import { ConfigError, describeFound, issuesToProblems, yamlErrorsToProblems } from './errors';
import { convertLegacyJobs, legacyLoadMessage } from './legacy';
import { defaultUserHome, resolveConfig, type ResolveEnv } from './resolve';
import { validateConfig, type ConfigFile } from './schema';
import type { ConfigHome, LegacyInfo, LoadedConfig } from './types';
import { parseYaml } from './yamldoc';

export type {
  ApproveConfig,
  AutoApprovalObject,
  AutoApprovalsConfig,
  ConfigHome,
  EmailApproveConfig,
  EmailTransport,
  FileEntry,
  LegacyInfo,
  LoadedConfig,
  NotifyConfig,
  PeerApprovalConfig,
  SyftBgConfig,
  SyftboxTransport,
  SyncConfig,
  TransportOrigin,
  TransportsConfig,
} from './types';

export interface ParseOptions {
  /** For `~` and the default SyftBox root (default: $HOME). */
  userHome?: string;
  /** Token-file existence, for derived transports. Default: nothing exists (keeps parsing pure). */
  exists?: (p: string) => boolean;
}

function envOf(opts: ParseOptions): ResolveEnv {
  return { userHome: opts.userHome ?? defaultUserHome(), exists: opts.exists ?? (() => false) };
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof Map) && !(v instanceof Set);
}

function resolveValidated(file: string, homeDir: string, data: ConfigFile, env: ResolveEnv): { config: LoadedConfig['config']; legacy?: LegacyInfo } {
  const jobs = data.approve.jobs;
  let legacy: LegacyInfo | undefined;
  if (jobs !== undefined) {
    const c = convertLegacyJobs(jobs ?? { enabled: true, peers: {} }, data.approve.auto_approvals.objects, path.join(homeDir, 'auto_approvals'));
    type Objects = typeof data.approve.auto_approvals.objects;
    data.approve.auto_approvals.objects = { ...data.approve.auto_approvals.objects, ...(c.objects as Objects) };
    const config = resolveConfig(data, homeDir, env);
    const objects = Object.fromEntries(Object.keys(c.objects).map((n) => [n, config.approve.auto_approvals.objects[n]!]));
    legacy = { objects, message: legacyLoadMessage(c, file) };
    return { config, legacy };
  }
  return { config: resolveConfig(data, homeDir, env) };
}

/** Defaults for a config.yaml that does not exist. */
export function defaultLoadedConfig(file: string, homeDir: string, opts: ParseOptions = {}): LoadedConfig {
  const v = validateConfig({});
  if (!v.ok) throw new Error('default configuration does not validate');
  return { path: file, exists: false, empty: false, config: resolveConfig(v.value, homeDir, envOf(opts)), raw: {} };
}

/**
 * Pure: config.yaml's text → the resolved configuration. Throws `ConfigError` (file:line:col, key path, expected,
 * found) for YAML syntax errors and invalid values. Empty or whitespace-only text gives the defaults with `empty: true`.
 */
export function parseConfigText(text: string, file: string, homeDir: string, opts: ParseOptions = {}): LoadedConfig {
  const env = envOf(opts);
  if (text.trim() === '') return { ...defaultLoadedConfig(file, homeDir, env), exists: true, empty: true, text };
  const { doc, lineCounter } = parseYaml(text);
  if (doc.errors.length > 0) throw new ConfigError(file, yamlErrorsToProblems(doc.errors, doc));
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    throw new ConfigError(file, [{ path: [], message: `YAML error: ${(e as Error).message}` }]);
  }
  if (data === null || data === undefined) data = {}; // only comments
  if (!isMapping(data)) {
    const pos = doc.contents?.range ? lineCounter.linePos(doc.contents.range[0]) : undefined;
    throw new ConfigError(file, [
      { path: [], message: `expected a mapping (key: value pairs) at the top level, found ${describeFound(data)}`, ...(pos ?? {}) },
    ]);
  }
  const v = validateConfig(data);
  if (!v.ok) throw new ConfigError(file, issuesToProblems(v.issues, doc, lineCounter));
  const { config, legacy } = resolveValidated(file, homeDir, v.value, env);
  return { path: file, exists: true, empty: false, text, config, raw: data, ...(legacy ? { legacy } : {}) };
}

/**
 * Read and resolve `<home>/config.yaml`: missing → defaults (`exists: false`); transports derived from the token
 * files when not configured. A successful load refreshes `<home>/.cache/config.json` for `loadConfigCached`.
 */
export function loadConfig(home: ConfigHome): LoadedConfig {
  const userHome = home.userHome ?? defaultUserHome();
  const key = statKey(home.config, home.dir, userHome);
  let text: string | undefined;
  try {
    text = readFileIfExists(home.config);
  } catch (e) {
    throw new ConfigError(home.config, [{ path: [], message: `cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` }]);
  }
  const opts: ParseOptions = { userHome, exists: (p) => fs.existsSync(p) };
  const loaded = text === undefined ? defaultLoadedConfig(home.config, home.dir, opts) : parseConfigText(text, home.config, home.dir, opts);
  if (key.exists === (text !== undefined)) writeCache(key, loaded);
  return loaded;
}
