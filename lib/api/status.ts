import * as path from 'node:path';
import type { ConfigView, StatusReport } from '../status';
import type { Check } from '../setup-check';
import type { LoadedConfig } from '../config/types';
import { resolveContext, type ApiOptions } from './context';

/** What `status` shows of a loaded configuration (`loaded` undefined when it cannot be loaded: `error` says why). */
export function configView(configPath: string, loaded: LoadedConfig | undefined, error: string | null): ConfigView {
  const c = loaded?.config;
  const homeDir = path.dirname(configPath);
  return {
    path: configPath,
    exists: loaded ? loaded.exists : true,
    error,
    email: c?.do_email ?? null,
    syftboxRoot: c?.syftbox_root ?? null,
    transports: {
      email: c?.transports.email ?? 'maildir',
      emailChosenBy: c?.transports.origin.email === 'configured' ? 'config' : 'derived',
      maildirPath: c?.transports.maildir_path ?? `${homeDir}/mail`,
      syftbox: c?.transports.syftbox ?? 'local',
      syftboxChosenBy: c?.transports.origin.syftbox === 'configured' ? 'config' : 'derived',
    },
    gmailTokenPath: c?.gmail_token_path ?? `${homeDir}/token.json`,
    driveTokenPath: c?.drive_token_path ?? `${homeDir}/token.json`,
    objects: Object.entries(c?.approve.auto_approvals.objects ?? {}).map(([name, o]) => ({
      name,
      contents: o.file_contents.map((f) => f.relative_path),
      files: o.file_paths,
      peers: o.peers,
    })),
    approvedDomains: c?.approve.peers.approved_domains ?? [],
  };
}

/**
 * The configuration for display: never throws for a bad file (it is shown, not fatal). `cached` uses the
 * `.cache/config.json` of `status` (no yaml/zod load when config.yaml did not change).
 */
export function loadConfigView(opts: ApiOptions & { cached?: boolean } = {}): { view: ConfigView; loaded?: LoadedConfig } {
  const { home } = resolveContext(opts);
  const { isUserError } = require('../errors') as typeof import('../errors');
  try {
    const loaded =
      opts.cached === false
        ? (require('../config/load') as typeof import('../config/load')).loadConfig(home)
        : (require('../config/cached') as typeof import('../config/cached')).loadConfigCached(home);
    return { view: configView(home.config, loaded, null), loaded };
  } catch (e) {
    if (!isUserError(e)) throw e;
    return { view: configView(home.config, undefined, e.message) };
  }
}

/** `syft-bg status --json`: services (from the PM2 daemon, never started by this), configuration, transports, tokens, objects. */
export async function status(opts: ApiOptions = {}): Promise<StatusReport> {
  const ctx = resolveContext(opts);
  const { readDaemon } = require('../pm2/daemon-reader') as typeof import('../pm2/daemon-reader');
  const daemonP = readDaemon({ home: ctx.pm2Home });
  const { view } = loadConfigView(opts);
  const { buildStatus, parseNotifyHealth } = require('../status') as typeof import('../status');
  const { readFileIfExists } = require('../fs/atomic') as typeof import('../fs/atomic');
  const notify = parseNotifyHealth(readFileIfExists(path.join(ctx.home.dir, 'notify', 'status.json')));
  return buildStatus({ home: ctx.home.dir, colab: ctx.home.source === 'colab', config: view, daemon: await daemonP, now: Date.now(), notify });
}

export interface SetupStatus {
  checks: Check[];
  /** No ✗ check: `syft-bg setup-status` exits 0. */
  ready: boolean;
}

/** `syft-bg setup-status`: credentials, tokens, configuration, SyftBox folder, PM2. */
export async function setupStatus(opts: ApiOptions = {}): Promise<SetupStatus> {
  const ctx = resolveContext(opts);
  const { home } = ctx;
  const { readDaemon } = require('../pm2/daemon-reader') as typeof import('../pm2/daemon-reader');
  const daemonP = readDaemon({ home: ctx.pm2Home });
  const { view } = loadConfigView({ ...opts, cached: false });
  const { setupChecks, realFs } = require('../setup-check') as typeof import('../setup-check');
  const checks = setupChecks({
    home: home.dir,
    credentialsPath: home.credentials,
    legacyGmailToken: home.legacyGmailToken,
    legacyDriveToken: home.legacyDriveToken,
    config: view,
    daemon: await daemonP,
    ...realFs,
  });
  return { checks, ready: !checks.some((c) => c.mark === '✗') };
}
