/**
 * The programmatic API of syft-bg: what the `syft-bg` commands do, as functions that return data and throw
 * UserError (with the CLI's message and exit code). They never print or exit. Every function takes, in its
 * options, `home` / `env` / `cwd` to act on another syft-bg home than this process's. Heavy modules (pm2, yaml,
 * zod, googleapis, pino-pretty) load on first use.
 */
export type { ApiOptions } from './context';
export { UserError, EXIT, isUserError, ServiceControlError, BootError, type Output } from './errors';
export { start, stop, restart, ensureRunning, type ServicesResult, type ServiceSelection, type EnsureRunningOptions } from './services';
export { status, setupStatus, loadConfigView, configView, type SetupStatus } from './status';
export { logs, followLogs, logRenderer, type LogsOptions, type LogsResult, type FollowLogsOptions } from './logs';
export { init, type InitOptions, type InitResult } from './init';
export {
  autoApprove,
  autoApproveJob,
  listAutoApprovals,
  removeAutoApproval,
  removePeer,
  type AutoApproveOptions,
  type AutoApproveJobOptions,
  type AutoApprovalChange,
  type AutoApprovalInfo,
  type AutoApprovalList,
  type RemoveAutoApprovalOptions,
  type RemoveAutoApprovalResult,
  type RemovePeerOptions,
  type RemovePeerResult,
} from './approvals';
export { explain, renderExplanation, type Explanation, type ObjectExplanation, type ObjectResult } from './explain';
export { install, uninstall, type BootApiOptions, type BootResult } from './boot';
