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
 * Transports this build can run: Maildir and Gmail for e-mail, the local datasite for SyftBox. The Drive transport
 * arrives with the Drive sync; until then a configuration asking for it is refused up front with what to change,
 * rather than silently working somewhere else.
 */
export function requireSupportedTransports(loaded: LoadedConfig): void {
  const t = loaded.config.transports;
  const problems: string[] = [];
  if (t.syftbox !== 'local') {
    problems.push(
      `transports.syftbox is '${t.syftbox}', but this build of syft-bg has no Google Drive sync yet: set transports.syftbox: local`,
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
