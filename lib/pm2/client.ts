import type { AppDefinition } from './apps';
import type { Pm2Process } from './daemon-reader';

/** The part of the PM2 programmatic API syft-bg uses, as promises. */
export interface Pm2Api {
  list(): Promise<Pm2Process[]>;
  start(app: AppDefinition): Promise<void>;
  stop(name: string): Promise<void>;
  restart(name: string): Promise<void>;
  delete(name: string): Promise<void>;
  /** The daemon's pm2 version (may differ from ours after an upgrade). */
  version(): Promise<string | undefined>;
}

// The implementation (one connection per call, to any PM2 home) is lib/api/pm2.ts `withPm2Home`.
