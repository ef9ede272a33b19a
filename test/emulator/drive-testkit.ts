/// <reference types="jest" />
/**
 * Helpers for the Drive emulator conformance tests: an in-process emulator with only the Drive module, and real
 * `@googleapis/drive@22` clients (through lib/google/clients.ts) for any number of users.
 */
import type { drive_v3 } from '@googleapis/drive';
import type { OAuth2Client } from 'google-auth-library';
import { startServer, type Emulator } from './core';
import { driveModule } from './drive';
import { makeOAuthClient, makeDrive, callOptions } from '../../lib/google/clients';

export const FOLDER = 'application/vnd.google-apps.folder';

export interface Party {
  email: string;
  token: string;
  auth: OAuth2Client;
  drive: drive_v3.Drive;
}

export interface DriveHarness {
  emu: Emulator;
  env: NodeJS.ProcessEnv;
  /** Per-call options every call must carry (uploads ignore the client-level rootUrl). */
  o: () => { rootUrl?: string };
  party(email: string, scopes?: string[]): Party;
}

export function driveHarness(): DriveHarness {
  const h = {} as DriveHarness;
  beforeAll(async () => {
    h.emu = await startServer([driveModule]);
    h.env = { SYFT_BG_GOOGLE_ROOT_URL: h.emu.url };
  });
  afterAll(() => h.emu.close());
  h.o = () => callOptions(h.env);
  h.party = (email, scopes) => {
    const u = h.emu.world.addUser(email, scopes ? { scopes } : {});
    const auth = makeOAuthClient({ clientId: u.clientId, clientSecret: u.clientSecret }, h.env);
    auth.setCredentials({ access_token: u.accessToken, expiry_date: Date.now() + 3600_000 });
    return { email, token: u.accessToken, auth, drive: makeDrive(auth, h.env) };
  };
  return h;
}

/** The HTTP status and Google error body of a failing call. */
export async function failure(p: Promise<unknown>): Promise<{ status: number; data: any; headers: any }> {
  try {
    await p;
  } catch (e) {
    const r = (e as { response?: { status: number; data: unknown; headers: unknown } }).response;
    if (!r) throw e;
    return { status: r.status, data: r.data, headers: r.headers };
  }
  throw new Error('expected the call to fail');
}

/** `errors[0].reason` of a Google error body. */
export function reason(data: any): string | undefined {
  return data?.error?.errors?.[0]?.reason;
}
