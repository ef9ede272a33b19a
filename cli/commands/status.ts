import { currentHome } from '../../lib/home';
import type { ConfigView } from '../../lib/status';
import type { LoadedConfig } from '../../lib/config/types';

export function configView(path: string, loaded: LoadedConfig | undefined, error: string | null): ConfigView {
  const c = loaded?.config;
  const homeDir = require('node:path').dirname(path) as string;
  return {
    path,
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

/** Load the configuration for display: never throws; a bad file is shown, not fatal. */
export function loadForStatus(): { view: ConfigView; loaded?: LoadedConfig } {
  const home = currentHome();
  const { loadConfigCached } = require('../../lib/config/cached') as typeof import('../../lib/config/cached');
  const { isUserError } = require('../../lib/errors') as typeof import('../../lib/errors');
  try {
    const loaded = loadConfigCached(home);
    return { view: configView(home.config, loaded, null), loaded };
  } catch (e) {
    if (!isUserError(e)) throw e;
    return { view: configView(home.config, undefined, e.message) };
  }
}

export async function run(o: { json: boolean }): Promise<void> {
  const home = currentHome();
  const { readDaemon } = require('../../lib/pm2/daemon-reader') as typeof import('../../lib/pm2/daemon-reader');
  const daemonP = readDaemon();
  const { view } = loadForStatus();
  const { buildStatus, renderStatus } = require('../../lib/status') as typeof import('../../lib/status');
  const report = buildStatus({ home: home.dir, colab: home.source === 'colab', config: view, daemon: await daemonP, now: Date.now() });
  process.stdout.write(o.json ? JSON.stringify(report, null, 2) + '\n' : renderStatus(report));
}
