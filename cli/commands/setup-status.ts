import { currentHome } from '../../lib/home';

export async function run(): Promise<void> {
  const home = currentHome();
  const { readDaemon } = await import('../../lib/pm2/daemon-reader');
  const daemonP = readDaemon();
  const { loadConfig } = await import('../../lib/config/load');
  const { configView } = await import('./status');
  const { isUserError } = await import('../../lib/errors');
  let view;
  try {
    view = configView(home.config, loadConfig(home), null);
  } catch (e) {
    if (!isUserError(e)) throw e;
    view = configView(home.config, undefined, e.message);
  }
  const { setupChecks, renderChecks, realFs } = await import('../../lib/setup-check');
  const checks = setupChecks({
    home: home.dir,
    credentialsPath: home.credentials,
    legacyGmailToken: home.legacyGmailToken,
    legacyDriveToken: home.legacyDriveToken,
    config: view,
    daemon: await daemonP,
    ...realFs,
  });
  const r = renderChecks(checks);
  process.stdout.write(r.text);
  process.exitCode = r.ready ? 0 : 1;
}
