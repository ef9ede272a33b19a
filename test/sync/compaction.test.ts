/// <reference types="jest" />
/**
 * Full checkpoint compaction (§3.4) and outbox compaction (§3.6 step 3) of the owner sync engine, against the
 * Drive emulator with real files; crashes simulated through the engine's hooks. What a Python DO client restores
 * (full checkpoint → incrementals by sequence → rolling state) and what a DS sync-down gets (our test DS client,
 * which stops at its high-water mark as Python's does) are checked against the DO's datasite.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { driveHarness } from '../emulator/drive-testkit';
import { createDriveApi, type DriveApi } from '../../lib/google/drive';
import { setupPeerJobFolders } from '../../lib/datasite/permissions';
import { createOwnerSync, mergeCheckpoints, mergeOutboxMessages, type OwnerSync, type OwnerSyncOptions, type SyncHooks } from '../../lib/sync';
import { contentHash } from '../../lib/sync/codec/content';
import { makeEventsMessage, fileChangeEvent, deletionEvent, unpackEvents } from '../../lib/sync/codec/events';
import { parseCheckpointFileName, parseEventsFileName, parseIncrementalCheckpointFileName } from '../../lib/sync/codec/names';
import { decodeOwnerFileHashes, unpackCheckpoint, unpackIncrementalCheckpoint, unpackRollingState } from '../../lib/sync/codec/state-files';
import { requestPeer } from '../helpers/ds-client/peer';
import { findDsOwnedFolder } from '../helpers/ds-client/proposal';
import { syncDownDetailed } from '../helpers/ds-client/sync-down';

const h = driveHarness();
const DO = 'do@example.org';
const DS = 'ds@example.com';
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

let tmp: string;
let root: string;
let doApi: DriveApi;
const engines: OwnerSync[] = [];
const apis = new Map<string, DriveApi>();

function api(email: string): DriveApi {
  let a = apis.get(email);
  if (!a) {
    a = createDriveApi(h.party(email).auth, { env: h.env, retry: { baseDelayMs: 1, maxDelayMs: 5, sleep: async () => undefined } });
    apis.set(email, a);
  }
  return a;
}

function engine(opts: Partial<OwnerSyncOptions> = {}, hooks?: SyncHooks): OwnerSync {
  const e = createOwnerSync({ drive: doApi, me: DO, root, homeDir: path.join(tmp, 'home'), log: quiet, options: { lockTimeoutMs: 10_000, ...opts }, ...(hooks ? { hooks } : {}) });
  engines.push(e);
  return e;
}

const doFile = (rel: string) => path.join(root, DO, ...rel.split('/'));
function write(rel: string, content: string | Buffer): void {
  fs.mkdirSync(path.dirname(doFile(rel)), { recursive: true });
  fs.writeFileSync(doFile(rel), content);
}

beforeEach(async () => {
  h.emu.world.reset();
  apis.clear();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'compaction-'));
  root = path.join(tmp, `SyftBox_${DO}`);
  fs.mkdirSync(path.join(root, DO), { recursive: true });
  doApi = api(DO);
  await doApi.createFolder('SyftBox');
  await requestPeer(api(DS), DS, DO);
  const r = setupPeerJobFolders(root, DO, DS);
  if (!r.ok) throw new Error(r.problem.message);
});

afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

// ---- checkpoints ---------------------------------------------------------------------------------------------

async function checkpointFolder(): Promise<string> {
  return (await doApi.searchFolders({ nameContains: [`${DO}-`, '-checkpoints'] }))[0]!.id;
}

async function stateFiles() {
  const folder = await checkpointFolder();
  const fulls = (await doApi.listStateFiles(folder, 'checkpoint')).sort((a, b) => parseCheckpointFileName(a.name)!.timestamp - parseCheckpointFileName(b.name)!.timestamp);
  const incs = (await doApi.listStateFiles(folder, 'incremental_checkpoint')).sort(
    (a, b) => parseIncrementalCheckpointFileName(a.name)!.sequenceNumber - parseIncrementalCheckpointFileName(b.name)!.sequenceNumber,
  );
  return { fulls, incs };
}

/** Python's `pull_initial_state` order: a full checkpoint → incrementals by sequence → the rolling state. */
async function restore(which: 'newest' | 'oldest'): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const { fulls, incs } = await stateFiles();
  const full = which === 'newest' ? fulls[fulls.length - 1] : fulls[0];
  if (full) for (const f of unpackCheckpoint(await doApi.download(full.id)).files) files.set(f.path, Buffer.from(f.content, 'utf8'));
  const apply = (events: ReturnType<typeof unpackRollingState>['events']) => {
    for (const e of events) {
      if (e.is_deleted) files.delete(e.path_in_datasite);
      else files.set(e.path_in_datasite, typeof e.content === 'string' ? Buffer.from(e.content, 'utf8') : e.content!);
    }
  };
  for (const i of incs) apply(unpackIncrementalCheckpoint(await doApi.download(i.id)).events);
  const rsFolder = (await doApi.searchFolders({ nameContains: [`${DO}-`, '-rolling-state'] }))[0];
  if (rsFolder) for (const f of await doApi.listStateFiles(rsFolder.id, 'rolling_state')) apply(unpackRollingState(await doApi.download(f.id)).events);
  return files;
}

/** The published datasite: every path of owner_file_hashes.json with its bytes. */
function published(): Map<string, Buffer> {
  const hashes = decodeOwnerFileHashes(fs.readFileSync(path.join(root, '.cache', 'owner_file_hashes.json'), 'utf8'));
  const out = new Map<string, Buffer>();
  for (const [p, hash] of hashes) {
    if (hash === null) continue;
    const buf = fs.readFileSync(doFile(p));
    expect(contentHash(buf)).toBe(hash);
    out.set(p, buf);
  }
  return out;
}

const sorted = (m: Map<string, Buffer>) => [...m].map(([k, v]) => [k, v.toString('base64')]).sort();

/** Make `n` cycles each publishing `per` changes; returns the cycle results. */
async function churn(e: OwnerSync, tag: string, n: number) {
  const out = [];
  for (let i = 0; i < n; i++) {
    write(`public/${tag}/a${i}.txt`, `${tag} a${i}\n`);
    write('public/shared.txt', `shared after ${tag}${i}\n`);
    write(`public/${tag}/bin${i % 2}.dat`, Buffer.from([0xff, 0xfe, i, 0x00, 0x80]));
    if (i === 1) fs.rmSync(doFile(`public/${tag}/a0.txt`));
    out.push(await e.cycle([DS]));
  }
  return out;
}

test('after 4 incrementals a full checkpoint replaces them (merged with the previous full one); restores match the datasite', async () => {
  const e = engine({ checkpointThreshold: 3 });
  await e.cycle([DS]);
  const first = await churn(e, 'r1', 4);
  for (const r of first) expect(r.errors).toEqual([]);
  expect(first.filter((r) => r.checkpoint).length).toBe(4);
  const full1 = first[3]!.fullCheckpoint;
  expect(full1).toMatch(/^checkpoint_\d+(\.\d+)?\.tar\.gz$/);
  let s = await stateFiles();
  expect(s.fulls.map((f) => f.name)).toEqual([full1]);
  // binary files cannot live in a full checkpoint: carried in one incremental right after it
  expect(s.incs.map((f) => parseIncrementalCheckpointFileName(f.name)!.sequenceNumber)).toEqual([5]);
  const cp = unpackCheckpoint(await doApi.download(s.fulls[0]!.id));
  expect(cp.email).toBe(DO);
  expect(cp.files.map((f) => f.path)).not.toContain('public/r1/a0.txt');
  expect(cp.files.find((f) => f.path === 'public/shared.txt')).toEqual({ path: 'public/shared.txt', hash: contentHash('shared after r13\n'), content: 'shared after r13\n' });
  const carried = unpackIncrementalCheckpoint(await doApi.download(s.incs[0]!.id));
  expect(carried.events.map((x) => x.path_in_datasite).sort()).toEqual(['public/r1/bin0.dat', 'public/r1/bin1.dat']);
  expect(carried.timestamp).toBeGreaterThan(cp.timestamp);
  expect(sorted(await restore('newest'))).toEqual(sorted(published()));

  // a second round merges into the first full checkpoint
  const second = await churn(e, 'r2', 4);
  const full2 = second.find((r) => r.fullCheckpoint)?.fullCheckpoint;
  expect(full2).toBeDefined();
  s = await stateFiles();
  expect(s.fulls.map((f) => f.name)).toEqual([full2]);
  const cp2 = unpackCheckpoint(await doApi.download(s.fulls[0]!.id));
  // the carried-over incremental counts: the 3rd cycle of this round brings the 4th incremental
  expect(second.findIndex((r) => r.fullCheckpoint)).toBe(2);
  expect(cp2.files.map((f) => f.path)).toEqual(expect.arrayContaining(['public/r1/a1.txt', 'public/r2/a2.txt', `app_data/job/inbox/${DS}/syft.pub.yaml`]));
  expect(cp2.last_event_timestamp).toBeGreaterThan(cp.last_event_timestamp!);
  expect(sorted(await restore('newest'))).toEqual(sorted(published()));
});

test('a crash between the full checkpoint upload and the deletes restores correctly and is finished next cycle', async () => {
  let crash = false;
  const e = engine({ checkpointThreshold: 3 }, {
    afterUpload: (name) => {
      if (crash && name.startsWith('checkpoint_')) {
        crash = false;
        throw new Error('simulated crash after the full checkpoint upload');
      }
    },
  });
  await e.cycle([DS]);
  await churn(e, 'r1', 4); // first full checkpoint
  crash = true;
  const rs = await churn(e, 'r2', 3);
  expect(rs.flatMap((r) => r.errors.map((x) => x.stage))).toContain('checkpoint compaction');
  const s = await stateFiles();
  expect(s.fulls).toHaveLength(2);
  expect(s.incs.length).toBeGreaterThanOrEqual(4);
  // whichever full checkpoint a restorer picks, replaying every incremental gives the datasite
  expect(sorted(await restore('newest'))).toEqual(sorted(published()));
  expect(sorted(await restore('oldest'))).toEqual(sorted(published()));
  const next = await e.cycle([DS]);
  expect(next.errors).toEqual([]);
  expect(next.fullCheckpoint).toBeDefined();
  const after = await stateFiles();
  expect(after.fulls.map((f) => f.name)).toEqual([next.fullCheckpoint]);
  expect(after.incs).toHaveLength(1); // the binary carry-over
  expect(sorted(await restore('newest'))).toEqual(sorted(published()));
});

test('mergeCheckpoints: later events win, deletions remove, binary content is set apart', () => {
  const ev = (p: string, c: string | Buffer, t: number) => ({ ...fileChangeEvent({ path: p, datasiteEmail: DO, content: c, oldHash: null, timestamp: t }) });
  const m = mergeCheckpoints(
    { version: 1, timestamp: 1, email: DO, last_event_timestamp: 5, files: [{ path: 'a', hash: contentHash('A'), content: 'A' }, { path: 'b', hash: contentHash('B'), content: 'B' }] },
    [
      { version: 1, timestamp: 9, email: DO, sequence_number: 2, events: [deletionEvent({ path: 'a', datasiteEmail: DO, oldHash: contentHash('A2'), timestamp: 8 }), ev('bin', Buffer.from([0xff]), 8.5)] },
      { version: 1, timestamp: 7, email: DO, sequence_number: 1, events: [ev('a', 'A2', 6), ev('c', 'C', 7)] },
    ],
    { email: DO, timestamp: 10 },
  );
  expect(m.checkpoint.files).toEqual([{ path: 'b', hash: contentHash('B'), content: 'B' }, { path: 'c', hash: contentHash('C'), content: 'C' }]);
  expect(m.binary.map((x) => x.path_in_datasite)).toEqual(['bin']);
  expect(m.checkpoint.last_event_timestamp).toBe(8.5);
  expect(m.checkpoint.timestamp).toBe(10);
});

// ---- outboxes --------------------------------------------------------------------------------------------------

const review = (rel: string) => `app_data/job/review/${DS}/${rel}`;

async function ourOutboxMessages(): Promise<string[]> {
  const folder = (await findDsOwnedFolder(api(DS), DS, DO, 'outbox'))!.file.id;
  return (await api(DS).listFolder(folder)).map((f) => f.name).filter((n) => parseEventsFileName(n) !== undefined).sort();
}

/** What the DS should have: the DO's files under review/<DS>/ (all readable by the DS). */
function dsView(dsRoot: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string, rel: string) => {
    if (!fs.existsSync(dir)) return;
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) walk(path.join(dir, d.name), r);
      else if (d.name !== 'syft.pub.yaml') out.set(r, fs.readFileSync(path.join(dir, d.name), 'utf8'));
    }
  };
  walk(path.join(dsRoot, ...`app_data/job/review/${DS}`.split('/')), '');
  return out;
}
const doView = () => dsView(path.join(root, DO));
const dsDir = (n: string) => path.join(tmp, `ds-${n}`, DO);


test('an outbox of 20 messages becomes one; DSs that synced all, some or none of them end with the same files', async () => {
  const e = engine();
  await e.cycle([DS]);
  const hwm: Record<string, number | null> = { all: null, some: null, none: null };
  const sync = async (who: string) => {
    const r = await syncDownDetailed(api(DS), DS, DO, path.join(tmp, `ds-${who}`), hwm[who]!);
    hwm[who] = r.hwm;
    return r;
  };
  let compacted;
  for (let i = 0; i < 25 && !compacted; i++) {
    write(review(`j${i % 6}/state.yaml`), `status: running\nstep: ${i}\n`);
    if (i === 2) write(review('gone/state.yaml'), 'status: failed\n');
    if (i === 9) fs.rmSync(doFile(review('gone/state.yaml')));
    const batchesBefore = h.emu.world.counters.get('drive.batch') ?? 0;
    const r = await e.cycle([DS]);
    expect(r.errors).toEqual([]);
    if (i === 6) await sync('some');
    if (r.outboxCompactions.length > 0) {
      compacted = { i, c: r.outboxCompactions[0]! };
      // the 20 merged messages went in one batch request (§3.8 #26), not 20 deletes
      expect((h.emu.world.counters.get('drive.batch') ?? 0) - batchesBefore).toBe(1);
    }
    else await sync('all');
  }
  expect(compacted).toBeDefined();
  expect(compacted!.c.merged).toBe(20);
  const left = await ourOutboxMessages();
  expect(left).toEqual([compacted!.c.name]);
  // the merged message carries the newest original's timestamp (the one published in the compaction cycle)
  const mergedTs = parseEventsFileName(compacted!.c.name)!.timestamp;
  expect(mergedTs).toBeGreaterThan(hwm.all!);
  const folderId = (await findDsOwnedFolder(api(DS), DS, DO, 'outbox'))!.file.id;
  const merged = unpackEvents(await api(DS).download((await api(DS).listFolder(folderId))[0]!.id));
  expect(merged.message_filepath.timestamp).toBe(mergedTs);
  expect(new Set(merged.events.map((x) => x.path_in_datasite)).size).toBe(merged.events.length); // one event per path

  // every DS downloads the one merged message (the crash test shows a DS at the newest mark downloads nothing)
  const all = await sync('all');
  expect(all.messages.map((m) => m.fileName)).toEqual([compacted!.c.name]);
  const some = await sync('some');
  expect(some.messages.map((m) => m.fileName)).toEqual([compacted!.c.name]);
  const none = await sync('none');
  expect(none.messages.map((m) => m.fileName)).toEqual([compacted!.c.name]);
  for (const who of ['all', 'some', 'none']) expect([...dsView(dsDir(who))].sort()).toEqual([...doView()].sort());
  expect(doView().has('gone/state.yaml')).toBe(false);
  expect(dsView(dsDir('some')).has('gone/state.yaml')).toBe(false);

  // later messages still come after the merged one
  write(review('j1/state.yaml'), 'status: done\n');
  await e.cycle([DS]);
  for (const who of ['all', 'some', 'none']) {
    const r = await sync(who);
    expect(r.messages).toHaveLength(1);
    expect([...dsView(dsDir(who))].sort()).toEqual([...doView()].sort());
  }
});

test('a crash after writing the merged message leaves a state every DS reads correctly; the next cycle finishes', async () => {
  const seenTs = new Map<number, string>();
  let armed = true;
  const e = engine({}, {
    afterUpload: (name) => {
      const t = parseEventsFileName(name)?.timestamp;
      if (t === undefined) return;
      const prev = seenTs.get(t);
      // the merged message reuses the newest original's timestamp with a new UUID
      if (armed && prev !== undefined && prev !== name) {
        armed = false;
        throw new Error('simulated crash after the merged upload');
      }
      seenTs.set(t, name);
    },
  });
  await e.cycle([DS]);
  let midHwm: number | null = null;
  let crashed = false;
  for (let i = 0; i < 25 && !crashed; i++) {
    write(review(`k${i % 4}/log.txt`), `line ${i}\n`);
    const r = await e.cycle([DS]);
    if (i === 4) midHwm = (await syncDownDetailed(api(DS), DS, DO, path.join(tmp, 'ds-mid'), null)).hwm;
    crashed = r.errors.some((x) => x.stage === 'outbox compaction');
  }
  expect(crashed).toBe(true);
  expect((await ourOutboxMessages()).length).toBe(21);
  const mid = await syncDownDetailed(api(DS), DS, DO, path.join(tmp, 'ds-mid'), midHwm);
  const fresh = await syncDownDetailed(api(DS), DS, DO, path.join(tmp, 'ds-fresh'), null);
  expect(fresh.messages).toHaveLength(21);
  for (const who of ['mid', 'fresh']) expect([...dsView(dsDir(who))].sort()).toEqual([...doView()].sort());
  // next cycle: everything (the first merged message included) becomes one message again
  const r = await e.cycle([DS]);
  expect(r.outboxCompactions.map((c) => c.merged)).toEqual([21]);
  expect(await ourOutboxMessages()).toEqual([r.outboxCompactions[0]!.name]);
  const mid2 = await syncDownDetailed(api(DS), DS, DO, path.join(tmp, 'ds-mid'), mid.hwm);
  expect(mid2.messages).toEqual([]); // same newest timestamp: nothing to download again
  const late = await syncDownDetailed(api(DS), DS, DO, path.join(tmp, 'ds-late'), null);
  expect(late.messages).toHaveLength(1);
  for (const who of ['mid', 'fresh', 'late']) expect([...dsView(dsDir(who))].sort()).toEqual([...doView()].sort());
});

test('mergeOutboxMessages: timestamp order, latest event per path, the newest timestamp', () => {
  const ev = (p: string, c: string, t: number) => fileChangeEvent({ path: p, datasiteEmail: DO, content: c, oldHash: null, timestamp: t });
  const m1 = makeEventsMessage([ev('a', '1', 1), ev('b', '1', 1)], { timestamp: 1.5 });
  const m2 = makeEventsMessage([ev('a', '2', 2)], { timestamp: 2.5 });
  const m3 = makeEventsMessage([deletionEvent({ path: 'b', datasiteEmail: DO, oldHash: contentHash('1'), timestamp: 3 })], { timestamp: 3.5 });
  const r = mergeOutboxMessages([
    { name: 'z', message: m3 },
    { name: 'x', message: m1 },
    { name: 'y', message: m2 },
  ]);
  expect(r.timestamp).toBe(3.5);
  expect(r.events.map((x) => [x.path_in_datasite, x.content, x.is_deleted])).toEqual([
    ['a', '2', false],
    ['b', null, true],
  ]);
});
