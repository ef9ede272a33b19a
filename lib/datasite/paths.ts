/** Where syft-job keeps a datasite's jobs (protocol §1.2). Pure path arithmetic plus name checks. */

import * as path from 'node:path';
import { UserError } from '../errors';

/** `JobSubmissionMetadata.is_valid_email`: the datasite (DO) directory name syft-job accepts. */
export const DATASITE_EMAIL_RE = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+$/;

/** A name that cannot be one path segment (it comes from a person, an e-mail or a config file). */
export class InvalidNameError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidNameError';
  }
}

/** Why `name` cannot be a directory name here, or undefined when it can. Any other character is fine. */
export function segmentProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (name === '.' || name === '..') return `is ${JSON.stringify(name)}`;
  if (name.includes('/')) return 'contains "/"';
  if (name.includes('\0')) return 'contains a NUL character';
  if (Buffer.byteLength(name, 'utf8') > 255) return 'is longer than 255 bytes';
  return undefined;
}

export function assertSegment(name: string, what: string): void {
  const p = segmentProblem(name);
  if (p !== undefined) throw new InvalidNameError(`${what} name ${JSON.stringify(name)} ${p}`);
}

export function datasiteDir(root: string, datasite: string): string {
  assertSegment(datasite, 'datasite');
  return path.join(root, datasite);
}

/** `<root>/<datasite>/app_data/job` */
export function jobRootDir(root: string, datasite: string): string {
  return path.join(datasiteDir(root, datasite), 'app_data', 'job');
}

export interface JobPaths {
  /** `inbox/<ds>/<job>/`: the submission (DS-writable). */
  inboxDir: string;
  codeDir: string;
  runSh: string;
  config: string;
  /** `review/<ds>/<job>/`: state and results (DO-written, DS-readable). */
  reviewDir: string;
  state: string;
  stdout: string;
  stderr: string;
  returncode: string;
  outputsDir: string;
}

export function jobPaths(root: string, datasite: string, submitter: string, job: string): JobPaths {
  assertSegment(submitter, 'submitter');
  assertSegment(job, 'job');
  const base = jobRootDir(root, datasite);
  const inboxDir = path.join(base, 'inbox', submitter, job);
  const reviewDir = path.join(base, 'review', submitter, job);
  return {
    inboxDir,
    codeDir: path.join(inboxDir, 'code'),
    runSh: path.join(inboxDir, 'run.sh'),
    config: path.join(inboxDir, 'config.yaml'),
    reviewDir,
    state: path.join(reviewDir, 'state.yaml'),
    stdout: path.join(reviewDir, 'stdout.txt'),
    stderr: path.join(reviewDir, 'stderr.txt'),
    returncode: path.join(reviewDir, 'returncode.txt'),
    outputsDir: path.join(reviewDir, 'outputs'),
  };
}
