/// <reference types="jest" />
/**
 * Test kit for the peer tests: the loopback emulator (Drive only), a `DriveApi` per user through the real
 * googleapis clients, a temp local SyftBox root, the real audit log and approve state store.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startServer, type Emulator } from '../emulator/core';
import { driveModule, driveState } from '../emulator/drive';
import { makeOAuthClient } from '../../lib/google/clients';
import { createDriveApi, type DriveApi, type DriveFile } from '../../lib/google/drive';
import { AuditLog, readDecisions, type DecisionRecord } from '../../lib/approve/audit';
import { ApproveStateStore } from '../../lib/approve/state';
import { PeerPass, type PeerPassConfig, type PeerPassDeps } from '../../lib/peers/peer-pass';
import { steppingClock } from '../../lib/datasite/time';

export interface Kit {
  emu: Emulator;
  env: NodeJS.ProcessEnv;
  api(email: string): DriveApi;
  /** Temp dir of the current test. */
  dir: string;
}

export function peerKit(): Kit {
  const k = {} as Kit;
  beforeAll(async () => {
    k.emu = await startServer([driveModule]);
    k.env = { SYFT_BG_GOOGLE_ROOT_URL: k.emu.url };
  });
  afterAll(() => k.emu.close());
  beforeEach(() => {
    k.emu.world.reset();
    k.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peers-'));
  });
  afterEach(() => fs.rmSync(k.dir, { recursive: true, force: true }));
  k.api = (email) => {
    const u = k.emu.world.addUser(email);
    const auth = makeOAuthClient({ clientId: u.clientId, clientSecret: u.clientSecret }, k.env);
    auth.setCredentials({ access_token: u.accessToken, refresh_token: u.refreshToken, expiry_date: Date.now() + 3_600_000 });
    return createDriveApi(auth, { env: k.env, retry: { baseDelayMs: 2, maxDelayMs: 10 } });
  };
  return k;
}

export interface DoSide {
  drive: DriveApi;
  root: string;
  auditFile: string;
  stateFile: string;
  audit: AuditLog;
  state: ApproveStateStore;
  pass: PeerPass;
  decisions(): DecisionRecord[];
  peerDecisions(): DecisionRecord[];
  stateJson(): any;
}

export const DEFAULT_CFG: PeerPassConfig = { peers: { enabled: true, approved_domains: ['uni.edu'], auto_share_datasets: [] }, skip_peer_on_patch_version_diff: null, force_ignore_peer_version: false };

export function doSide(k: Kit, me: string, o: Partial<PeerPassDeps> & { drive?: DriveApi } = {}): DoSide {
  const drive = o.drive ?? k.api(me);
  const root = path.join(k.dir, 'SyftBox');
  fs.mkdirSync(root, { recursive: true });
  const auditFile = path.join(k.dir, 'approve', 'decisions.jsonl');
  const stateFile = path.join(k.dir, 'approve', 'state.json');
  const audit = new AuditLog(auditFile);
  const state = new ApproveStateStore(stateFile, me);
  const pass = new PeerPass({ drive, me, root, config: DEFAULT_CFG, audit, state, clock: steppingClock('2026-11-25T18:42:29.704218Z', 1000), ...o });
  return {
    drive,
    root,
    auditFile,
    stateFile,
    audit,
    state,
    pass,
    decisions: () => readDecisions(auditFile),
    peerDecisions: () => readDecisions(auditFile).filter((r) => r.kind === 'peer'),
    stateJson: () => JSON.parse(fs.readFileSync(stateFile, 'utf8')),
  };
}

/** Every Drive request counted by the emulator since the last clear. */
export function driveCalls(k: Kit): Record<string, number> {
  return Object.fromEntries([...k.emu.world.counters.entries()].filter(([r]) => r.startsWith('drive.')));
}
export const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);

/** p2p folders owned by the caller, with owners. */
export async function ownedP2p(drive: DriveApi): Promise<DriveFile[]> {
  return (await drive.findFiles({ nameContains: ['syft_datasite#'], owner: 'me', folder: true, fields: ['id', 'name', 'owners(emailAddress)', 'parents'] })).sort((a, b) => a.name.localeCompare(b.name));
}

/** `[role, email]` of a file's permissions, sorted. */
export async function perms(drive: DriveApi, id: string): Promise<string[][]> {
  return (await drive.listPermissions(id)).map((p) => [p.role ?? '', (p.emailAddress ?? '').toLowerCase()]).sort();
}

export async function fileText(drive: DriveApi, rootId: string, name: string): Promise<{ id: string; text: string; mimeType?: string } | undefined> {
  const f = (await drive.findFiles({ name, parentId: rootId, fields: ['id', 'name', 'mimeType'] }))[0];
  if (!f) return undefined;
  return { id: f.id, text: (await drive.download(f.id)).toString('utf8'), ...(f.mimeType ? { mimeType: f.mimeType } : {}) };
}

export { driveState };
