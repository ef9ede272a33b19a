import { startServer, Emulator, World } from './core';
import { driveModule } from './drive';
import { gmailModule } from './gmail';
import { oauthModule } from './oauth';

export * from './core';

/** Start the full emulator (OAuth + Drive v3 + Gmail v1) on 127.0.0.1. */
export function startEmulator(opts: { port?: number; host?: string; world?: World } = {}): Promise<Emulator> {
  return startServer([oauthModule, driveModule, gmailModule], opts);
}
