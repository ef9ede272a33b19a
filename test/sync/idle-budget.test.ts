/// <reference types="jest" />
/**
 * The idle Drive-call budget (issue 5): with 10 approved peers and every safety check firing (periods scaled down,
 * a simulated clock), every idle Drive cycle makes exactly one Drive call, counted by the emulator; every kind of
 * check completes several rounds; change-driven work (a proposal) is still handled within a cycle or two.
 * Real parts: the approve service's DriveSide, a real PeerPass and owner sync engine, the emulator over loopback.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { driveHarness } from '../emulator/drive-testkit';
import { createDriveApi, type DriveApi } from '../../lib/google/drive';
import { PeerPass } from '../../lib/peers/peer-pass';
import { createOwnerSync, INBOX_RESCAN, SafetyRota, type OwnerSync } from '../../lib/sync';
import { COMPAT_CHECK, DriveSide, PEER_CHECK, type DriveCycleInfo } from '../../apps/approve/drive-side';
import { requestPeer } from '../helpers/ds-client/peer';
import { submitJob } from '../helpers/ds-client/proposal';

const h = driveHarness();
const DO = 'owner@example.org';
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

let tmp: string | undefined;
let engine: OwnerSync | undefined;

afterEach(async () => {
  await engine?.close();
  engine = undefined;
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

const api = (email: string): DriveApi => createDriveApi(h.party(email).auth, { env: h.env, retry: { baseDelayMs: 1, maxDelayMs: 5, sleep: async () => undefined } });

function driveCalls(): number {
  let n = 0;
  for (const [k, v] of h.emu.world.counters) if (k.startsWith('drive.')) n += v;
  return n;
}

test('every idle cycle is exactly one Drive call while peer, compatibility and inbox checks all fire', async () => {
  h.emu.world.reset();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idle-budget-'));
  tmp = dir;
  const root = path.join(dir, 'SyftBox');
  fs.mkdirSync(path.join(root, DO), { recursive: true });
  const doApi = api(DO);
  await doApi.createFolder('SyftBox');
  const peers = Array.from({ length: 10 }, (_, i) => `ds${i}@uni.edu`);
  const dsApis = new Map(peers.map((p) => [p, api(p)]));
  for (const p of peers) await requestPeer(dsApis.get(p)!, p, DO);

  let t = Date.UTC(2026, 10, 25, 12);
  const now = () => t;
  const INTERVAL = 10_000;
  const rota = new SafetyRota();
  engine = createOwnerSync({ drive: doApi, me: DO, root, homeDir: path.join(dir, 'home'), log: quiet, now, rota, options: { fullRescanMs: 150_000, lockTimeoutMs: 10_000 } });
  const pass = new PeerPass({
    drive: doApi,
    me: DO,
    root,
    config: { peers: { enabled: true, approved_domains: ['uni.edu'] } },
    audit: { append: () => undefined },
    state: { update: () => undefined },
    logger: quiet,
  });
  const side = new DriveSide({
    drive: doApi,
    me: DO,
    peers: pass,
    sync: engine,
    rota,
    policy: {},
    intervalMs: INTERVAL,
    peerFallbackMs: 40_000,
    compatFallbackMs: 200_000,
    logger: quiet,
    signal: new AbortController().signal,
    now,
    onFatal: (e) => {
      throw e;
    },
  });
  const cycle = async (): Promise<{ calls: number; info: DriveCycleInfo }> => {
    const before = driveCalls();
    const info = await side.cycle();
    t += INTERVAL;
    return { calls: driveCalls() - before, info };
  };

  // Start-up (not idle): approvals, full reads, the first listing of every inbox, our own writes in the feed.
  let settled = 0;
  for (let i = 0; i < 30 && settled < 3; i++) settled = (await cycle()).calls === 1 ? settled + 1 : 0;
  expect(settled).toBe(3);
  expect(side.syncedPeers.sort()).toEqual([...peers].sort());

  const start = Object.fromEntries(rota.info().map((c) => [c.id, c]));
  const perCycle: number[] = [];
  const turns = new Map<string, number>();
  const N = 160;
  for (let i = 0; i < N; i++) {
    const { calls, info } = await cycle();
    expect(info.error).toBeUndefined();
    perCycle.push(calls);
    turns.set(info.turn!, (turns.get(info.turn!) ?? 0) + 1);
  }
  const over = perCycle.map((c, i) => [i, c]).filter(([, c]) => c !== 1);
  expect(over).toEqual([]);
  const end = Object.fromEntries(rota.info().map((c) => [c.id, c]));
  const rounds = (id: string) => end[id]!.rounds - start[id]!.rounds;
  // 1600 s of simulated time: peer pass every 40 s (1 step), inbox rescan every 150 s (10 steps), compatibility
  // every 200 s (11 steps); never two steps in a row, so polls are at least half of the cycles.
  expect(rounds(PEER_CHECK)).toBeGreaterThanOrEqual(3);
  expect(rounds(INBOX_RESCAN)).toBeGreaterThanOrEqual(3);
  expect(rounds(COMPAT_CHECK)).toBeGreaterThanOrEqual(3);
  expect(turns.get('poll')!).toBeGreaterThanOrEqual(N / 2);
  for (let i = 1; i < N; i++) expect(perCycle[i]! + perCycle[i - 1]!).toBe(2);
  process.stdout.write(
    `idle budget: ${N} cycles, ${perCycle.reduce((a, b) => a + b, 0)} Drive calls; turns ${JSON.stringify(Object.fromEntries(turns))}; ` +
      `rounds peer ${rounds(PEER_CHECK)}, compat ${rounds(COMPAT_CHECK)}, inbox ${rounds(INBOX_RESCAN)}\n`,
  );

  // Change-driven work is not budget-limited: a proposal is applied within two cycles even while checks run.
  await submitJob(dsApis.get(peers[3]!)!, peers[3]!, DO, { name: 'b1', files: { 'run.sh': 'echo b1\n' } });
  let applied = 0;
  for (let i = 0; i < 2 && applied === 0; i++) applied = (await cycle()).info.sync?.proposals.applied ?? 0;
  expect(applied).toBe(1);
  expect(fs.existsSync(path.join(root, DO, 'app_data', 'job', 'inbox', peers[3]!, 'b1', 'run.sh'))).toBe(true);
});

test('SafetyRota: never two steps in a row, a round under way first, then the most overdue; covered and unused', () => {
  const r = new SafetyRota();
  r.register('a', 100, 0);
  r.register('b', 50, 0);
  expect(r.turn(10)).toBe('poll'); // nothing due
  expect(r.turn(60)).toBe('b'); // b due at 50
  expect(r.turn(61)).toBe('poll'); // never two in a row
  r.stepped('b', false);
  expect(r.turn(62)).toBe('b'); // its round goes on before a (due at 100) even later
  r.stepped('b', true);
  expect(r.turn(150)).toBe('poll');
  expect(r.turn(151)).toBe('a'); // a due at 100, b at 112: the most overdue first
  r.stepped('a', true);
  expect(r.turn(152)).toBe('poll');
  r.covered('b', 152); // change-driven work did b's job: next due at 202
  expect(r.turn(153)).toBe('poll');
  expect(r.turn(203)).toBe('b');
  r.unused('b'); // nothing to do after all: the next cycle may take a step again
  r.stepped('b', true);
  expect(r.turn(260)).toBe('a'); // due at 251, b at 253
  expect(r.info().find((c) => c.id === 'b')!.rounds).toBe(2);
  expect(() => r.register('poll', 1, 0)).toThrow();
});
