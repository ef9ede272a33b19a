import { UserError, EXIT } from '../errors';
import type { ServiceName } from '../services';

export { UserError, EXIT, isUserError } from '../errors';

/** Lines as the CLI prints them: `stdout` (what happened) and `stderr` (problems and notes). */
export interface Output {
  stdout: string[];
  stderr: string[];
}

/**
 * A service did not start or get ready after start/restart/ensureRunning. `result` holds what happened to every
 * service (the others may have started); `message` is the failure lines.
 */
export class ServiceControlError<R extends Output = Output> extends UserError {
  readonly result: R;
  readonly failed: ServiceName[];
  constructor(message: string, result: R, failed: ServiceName[]) {
    super(message, EXIT.failure);
    this.name = 'ServiceControlError';
    this.result = result;
    this.failed = failed;
  }
}

/** install/uninstall did not complete: `result` holds its output (e.g. the `sudo …` line to run as root). */
export class BootError<R extends Output = Output> extends UserError {
  readonly result: R;
  constructor(message: string, exitCode: number, result: R) {
    super(message, exitCode);
    this.name = 'BootError';
    this.result = result;
  }
}
