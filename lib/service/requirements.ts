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
