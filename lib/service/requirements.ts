import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError, EXIT } from '../errors';
import type { LoadedConfig } from '../config/load';
import { SERVICES, type ServiceName } from '../services';

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
 * `drive` needs the Drive token file (both services use Drive; approve checks the token with Google when it starts);
 * `gmail` needs the Gmail token file (`gmail_token_path`), which only notify uses, so it is checked when `services`
 * names notify (the CLI passes the services it is about to start; a service passes its own name, or nothing).
 * A configuration asking for a transport without its token is refused up front with what to change, rather than
 * failing later in a service that PM2 restarts until it is marked errored.
 */
export function requireSupportedTransports(loaded: LoadedConfig, services: readonly ServiceName[] = []): void {
  const c = loaded.config;
  const t = c.transports;
  const problems: string[] = [];
  if (t.syftbox !== 'local' && t.syftbox !== 'drive') {
    problems.push(`transports.syftbox is '${String(t.syftbox)}': expected drive or local`);
  }
  if (t.syftbox === 'drive' && !fs.existsSync(c.drive_token_path)) {
    const origin = t.origin.syftbox === 'derived' ? ' (derived from the token files; add a transports: block to choose)' : '';
    problems.push(
      `transports.syftbox is 'drive', but there is no Drive token at ${c.drive_token_path}: sign in with 'syft-bg init -e EMAIL' (or -t TOKEN), or set transports.syftbox: local${origin}`,
    );
  }
  if (services.includes('notify') && t.email === 'gmail' && !fs.existsSync(c.gmail_token_path)) {
    // Only a configured `transports.email: gmail` gets here: a derived one is gmail only when the token exists.
    problems.push(
      `transports.email is 'gmail', but there is no Gmail token at ${c.gmail_token_path}: sign in with 'syft-bg init -e EMAIL' (or -t TOKEN), or set transports.email: maildir`,
    );
  }
  if (problems.length) {
    throw new UserError(`${loaded.path}: ${problems.join('; ')}.`, EXIT.config);
  }
}

/** Everything the named services check before they start (all of them by default); the CLI runs it before `start`. */
export function requireStartable(loaded: LoadedConfig, services: readonly ServiceName[] = SERVICES): void {
  requireIdentity(loaded);
  requireSupportedTransports(loaded, services);
}
