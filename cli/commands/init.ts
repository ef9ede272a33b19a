import * as fs from 'node:fs';
import * as path from 'node:path';
import { currentHome, expandTilde } from '../../lib/home';

export interface InitCliOptions {
  email: string;
  syftboxRoot?: string;
  tokenPath?: string;
  /** `--credentials FILE`: the OAuth client for the Google sign-in (default `<home>/credentials.json`). */
  credentials?: string;
  /** `--no-browser` sets false. */
  browser?: boolean;
  /** `--no-google` sets false. */
  google?: boolean;
}

export async function run(o: InitCliOptions): Promise<void> {
  const home = currentHome();
  let tokenPath = o.tokenPath;
  // Google sign-in: only without -t, when no token is stored yet, and when an OAuth client file is there.
  // Without credentials.json init stays on the local transports (no Google account needed).
  if (tokenPath === undefined && o.google !== false && !fs.existsSync(home.token)) {
    const { UserError, EXIT } = require('../../lib/errors') as typeof import('../../lib/errors');
    const credentials = o.credentials !== undefined ? path.resolve(expandTilde(o.credentials, home.userHome)) : home.credentials;
    if (o.credentials !== undefined && !fs.existsSync(credentials)) throw new UserError(`OAuth client file not found: ${credentials}`, EXIT.usage);
    if (fs.existsSync(credentials)) {
      // The checks runInit would make, before anyone is sent to a browser.
      const { isValidEmail } = require('../../lib/config/email') as typeof import('../../lib/config/email');
      if (!isValidEmail(o.email.trim())) throw new UserError(`Invalid email '${o.email}': expected an address like name@example.com`, EXIT.usage);
      if (o.syftboxRoot !== undefined && o.syftboxRoot.trim() === '') throw new UserError('Invalid SyftBox root: the path is empty', EXIT.usage);
      const { runDesktopFlow } = require('../../lib/google/oauth-flow') as typeof import('../../lib/google/oauth-flow');
      await runDesktopFlow({
        credentialsPath: credentials,
        tokenPath: home.token,
        email: o.email.trim(),
        openBrowser: o.browser !== false,
        print: (l) => void process.stdout.write(l + '\n'),
      });
      // As if given with -t: the config (new or merged) points at it and switches to gmail/drive.
      tokenPath = home.token;
    }
  }
  const { runInit } = require('../../lib/init') as typeof import('../../lib/init');
  const r = runInit({ home, email: o.email, syftboxRoot: o.syftboxRoot, tokenPath });
  for (const m of r.messages) process.stdout.write(m + '\n');
  // On the local transport the SyftBox folder is where jobs arrive: make sure it exists. (With Drive, the
  // first sync creates it.)
  const { loadConfig } = require('../../lib/config/load') as typeof import('../../lib/config/load');
  const c = loadConfig(home).config;
  if (c.syftbox_root && c.transports.syftbox === 'local' && !fs.existsSync(c.syftbox_root)) {
    fs.mkdirSync(c.syftbox_root, { recursive: true });
    process.stdout.write(`Created SyftBox folder ${c.syftbox_root}\n`);
  }
}
