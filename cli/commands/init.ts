import * as fs from 'node:fs';
import { currentHome } from '../../lib/home';

export function run(o: { email: string; syftboxRoot?: string; tokenPath?: string }): void {
  const home = currentHome();
  const { runInit } = require('../../lib/init') as typeof import('../../lib/init');
  const r = runInit({ home, email: o.email, syftboxRoot: o.syftboxRoot, tokenPath: o.tokenPath });
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
