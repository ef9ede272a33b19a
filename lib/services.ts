import { UserError, EXIT } from './errors';

/** The services syft-bg runs, in the order commands act on them. */
export const SERVICES = ['notify', 'approve'] as const;
export type ServiceName = (typeof SERVICES)[number];

export const PM2_NAMESPACE = 'syft-bg';

export const DESCRIPTIONS: Record<ServiceName, string> = {
  notify: 'E-mail notifications for job and peer events',
  approve: 'Auto-approve jobs and peer requests',
};

export function pm2Name(service: ServiceName): string {
  return `syft-bg-${service}`;
}

export function serviceFromPm2Name(name: string): ServiceName | undefined {
  return SERVICES.find((s) => pm2Name(s) === name);
}

export function isServiceName(s: string): s is ServiceName {
  return (SERVICES as readonly string[]).includes(s);
}

/** Validate service names given on the command line; an empty list means all services. Unknown → exit 2. */
export function parseServices(names: readonly string[] | undefined): ServiceName[] {
  if (!names || names.length === 0) return [...SERVICES];
  const out: ServiceName[] = [];
  for (const raw of names) {
    const n = raw.startsWith('syft-bg-') ? raw.slice('syft-bg-'.length) : raw;
    if (!isServiceName(n)) {
      throw new UserError(`Unknown service '${raw}'. Valid services: ${SERVICES.join(', ')}.`, EXIT.usage);
    }
    if (!out.includes(n)) out.push(n);
  }
  return out;
}
