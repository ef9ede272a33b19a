import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError, EXIT } from '../errors';
import type { LoadedConfig } from '../config/load';

/** The data owner's e-mail and SyftBox folder, which every service needs. */
export function requireIdentity(loaded: LoadedConfig): { email: string; root: string; datasite: string; jobInbox: string } {
  const c = loaded.config;
  if (!c.do_email) {
    throw new UserError(`${loaded.path}: do_email is not set. Run 'syft-bg init -e EMAIL' first.`, EXIT.config);
  }
  if (!c.syftbox_root) {
    throw new UserError(`${loaded.path}: syftbox_root is not set. Run 'syft-bg init -e EMAIL -r FOLDER'.`, EXIT.config);
  }
  const datasite = path.join(c.syftbox_root, c.do_email);
  return { email: c.do_email, root: c.syftbox_root, datasite, jobInbox: path.join(datasite, 'app_data', 'job', 'inbox') };
}

/**
 * Transports this build can run: Maildir and Gmail for e-mail; the local datasite or Google Drive for SyftBox.
 * `drive` needs the Drive token file (the approve service checks it with Google when it starts); a configuration
 * asking for it without one is refused up front with what to change, rather than failing later in a service.
 */
export function requireSupportedTransports(loaded: LoadedConfig): void {
  const t = loaded.config.transports;
  const problems: string[] = [];
  if (t.syftbox !== 'local' && t.syftbox !== 'drive') {
    problems.push(`transports.syftbox is '${String(t.syftbox)}': expected drive or local`);
  }
  if (t.syftbox === 'drive' && !fs.existsSync(loaded.config.drive_token_path)) {
    problems.push(
      `transports.syftbox is 'drive', but there is no Drive token at ${loaded.config.drive_token_path}: sign in with 'syft-bg init -e EMAIL' (or -t TOKEN), or set transports.syftbox: local`,
    );
  }
  if (problems.length) {
    const origin = t.origin.syftbox === 'derived' ? ' (derived from the token files; add a transports: block to choose)' : '';
    throw new UserError(`${loaded.path}: ${problems.join('; ')}${origin}.`, EXIT.config);
  }
}

/** Everything a service checks before it starts; the CLI runs the same checks before `start`. */
export function requireStartable(loaded: LoadedConfig): void {
  requireIdentity(loaded);
  requireSupportedTransports(loaded);
}
