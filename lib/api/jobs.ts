import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError, EXIT } from '../errors';
import { expandTilde } from '../home';
import type { ConfigHome } from '../config/types';
import type { Job } from '../datasite';

/** What `autoApproveJob(JOB)` and `explain(JOB)` share: finding the job a user names. */

export interface ResolvedJob {
  /** The SyftBox folder (parent of the datasite). */
  root: string;
  /** The data owner's datasite (`<root>/<datasite>`). */
  datasite: string;
  submitter: string;
  name: string;
  job: Job;
}

const LAYOUT = '<SyftBox>/<your e-mail>/app_data/job/inbox/<submitter>/<job>';
const SHORT_FORM = /^[^/\\]+\/[^/\\]+\/?$/;

function lexists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * `…/app_data/job/{inbox,review}/<submitter>/<job>` (or its `code/` folder) split into its parts, without
 * following symlinks (the datasite library reports a symlinked folder as a problem).
 */
export function parseJobFolder(abs: string): Omit<ResolvedJob, 'job'> | undefined {
  let parts = path.resolve(abs).split(path.sep);
  if (parts[parts.length - 1] === 'code' && parts[parts.length - 4] === 'inbox') parts = parts.slice(0, -1);
  const n = parts.length;
  if (n < 7) return undefined;
  const [area, job, appData] = [parts[n - 3], parts[n - 4], parts[n - 5]];
  if ((area !== 'inbox' && area !== 'review') || job !== 'job' || appData !== 'app_data') return undefined;
  const root = parts.slice(0, n - 6).join(path.sep) || path.sep;
  return { root, datasite: parts[n - 6] as string, submitter: parts[n - 2] as string, name: parts[n - 1] as string };
}

/**
 * The job named on the command line: a path to the job folder (`…/app_data/job/inbox/<submitter>/<job>`, relative
 * to `cwd`; an existing path always wins), else `<submitter>/<job>` in the data owner's own datasite
 * (`<syftbox_root>/<do_email>/app_data/job/inbox/<submitter>/<job>`, from config.yaml).
 */
export function resolveJob(arg: string, home: ConfigHome, cwd: string): ResolvedJob {
  if (arg.trim() === '') throw new UserError(`Invalid job '': expected the job folder (${LAYOUT}) or <submitter>/<job>`, EXIT.usage);
  const { readJob } = require('../datasite') as typeof import('../datasite');
  const abs = path.resolve(cwd, expandTilde(arg, home.userHome ?? require('node:os').homedir()));
  let where: Omit<ResolvedJob, 'job'>;
  if (lexists(abs)) {
    const parsed = parseJobFolder(abs);
    if (parsed === undefined) throw new UserError(`${abs} is not a job folder: expected ${LAYOUT}`, 1);
    where = parsed;
  } else if (SHORT_FORM.test(arg) && !arg.startsWith('.') && !arg.startsWith('~')) {
    const { loadConfig } = require('../config/load') as typeof import('../config/load');
    const c = loadConfig(home).config;
    if (!c.do_email || !c.syftbox_root) {
      const missing = [!c.do_email ? 'do_email' : undefined, !c.syftbox_root ? 'syftbox_root' : undefined].filter(Boolean).join(' and ');
      throw new UserError(`Cannot find job '${arg}': ${missing} not set in ${home.config}. Run 'syft-bg init -e EMAIL -r SYFTBOX_FOLDER', or give the job folder's path.`, 1);
    }
    const [submitter, name] = arg.replace(/\/$/, '').split('/') as [string, string];
    where = { root: c.syftbox_root, datasite: c.do_email, submitter, name };
  } else {
    throw new UserError(`Job not found: ${abs} does not exist (give the job folder, ${LAYOUT}, or <submitter>/<job>)`, 1);
  }
  const job = readJob(where.root, where.datasite, where.submitter, where.name);
  if (!job.hasInbox) {
    const p = job.problems.find((x) => x.path === job.paths.inboxDir);
    if (p !== undefined) throw new UserError(`Job '${where.submitter}/${where.name}': ${p.message}`, 1);
    throw new UserError(`Job '${where.submitter}/${where.name}' not found: ${job.paths.inboxDir} does not exist`, 1);
  }
  return { ...where, job };
}
