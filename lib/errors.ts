/**
 * Errors a user can act on. The CLI prints `message` (no stack trace) and exits with `exitCode`.
 * Anything that is not a UserError is a bug and is reported with its stack.
 */
export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}

/** Exit codes shared by the CLI and the services. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** `explain`: the job would not be approved. */
  notApproved: 3,
  /** sysexits EX_CONFIG: a service could not start because config.yaml is invalid. */
  config: 78,
} as const;

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}
