import { currentHome } from '../../lib/home';

export function run(o: { email: string; syftboxRoot?: string; tokenPath?: string }): void {
  const { runInit } = require('../../lib/init') as typeof import('../../lib/init');
  const r = runInit({ home: currentHome(), email: o.email, syftboxRoot: o.syftboxRoot, tokenPath: o.tokenPath });
  for (const m of r.messages) process.stdout.write(m + '\n');
}
