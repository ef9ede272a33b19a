/**
 * `require('syft-bg')`: the programmatic API (lib/api), the status/setup renderers, and the service names.
 * Loading this is cheap: everything heavy is required by the function that needs it.
 */
export * from './api';
export { SERVICES, DESCRIPTIONS, pm2Name, type ServiceName } from './services';
export { renderStatus, type StatusReport, type ServiceStatus, type ConfigView, type TokenStatus } from './status';
export { renderChecks, type Check } from './setup-check';
export type { ServiceRuntime, ServiceState } from './pm2/state';
