/// <reference types="jest" />
/**
 * The owner sync engine against the Drive emulator (real googleapis clients over loopback HTTP), with real files
 * in temp dirs and DS clients built from the codecs (test/helpers/ds-client).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { driveHarness } from '../emulator/drive-testkit';
import { createDriveApi, type DriveApi } from '../../lib/google/drive';
import { grantOutputsToOwner, setupPeerJobFolders, shareOutputs } from '../../lib/datasite/permissions';
import { createOwnerSync, type OwnerSync, type SyncHooks, type SyncLog, type OwnerSyncOptions } from '../../lib/sync';
import { contentHash } from '../../lib/sync/codec/content';
import { checkEventsMessageName, decodeEvents, unpackEvents } from '../../lib/sync/codec/events';
import { parseEventsFileName, parseIncrementalCheckpointFileName, proposalFileName } from '../../lib/sync/codec/names';
import { makeProposal, packProposal } from '../../lib/sync/codec/proposal';
import { decodeOwnerFileHashes, decodeRollingState, unpackIncrementalCheckpoint, unpackRollingState } from '../../lib/sync/codec/state-files';
import { packMessage } from '../../lib/sync/codec/tarball';
import { requestPeer } from '../helpers/ds-client/peer';
import { findDsOwnedFolder, jobFilePath, submitJob } from '../helpers/ds-client/proposal';
import { syncDownDetailed } from '../helpers/ds-client/sync-down';

const h = driveHarness();
const DO = 'do@example.org';
const DS = 'ds@example.com';
const DS2 = 'ds2@example.net';

interface Logged {
  level: string;
  msg: string;
}

let tmp: string;
let root: string;
let home: string;
let logs: Logged[];
let doApi: DriveApi;
const apis = new Map<string, DriveApi>();
const engines: OwnerSync[] = [];
const children: ChildProcess[] = [];

const log: SyncLog = {
  debug: (_o, msg) => logs.push({ level: 'debug', msg }),
  info: (_o, msg) => logs.push({ level: 'info', msg }),
  warn: (_o, msg) => logs.push({ level: 'warn', msg }),
  error: (_o, msg) => logs.push({ level: 'error', msg }),
};

function api(email: string): DriveApi {
  let a = apis.get(email);
  if (!a) {
    const p = h.party(email);
    a = createDriveApi(p.auth, { env: h.env, retry: { baseDelayMs: 1, maxDelayMs: 5, sleep: async () => undefined } });
    apis.set(email, a);
  }
  return a;
}

function engine(opts: Partial<OwnerSyncOptions> = {}, hooks?: SyncHooks): OwnerSync {
  const e = createOwnerSync({ drive: doApi, me: DO, root, homeDir: home, log, options: { lockTimeoutMs: 10_000, ...opts }, ...(hooks ? { hooks } : {}) });
  engines.push(e);
  return e;
}

/** A DS that asked for the DO as peer, approved locally (syft.pub.yaml files in the DO datasite). */
async function addPeer(ds: string): Promise<void> {
  await requestPeer(api(ds), ds, DO);
  const r = setupPeerJobFolders(root, DO, ds);
  if (!r.ok) throw new Error(r.problem.message);
}

const dsFolder = async (ds: string, type: 'inbox' | 'outbox') => (await findDsOwnedFolder(api(ds), ds, DO, type))!.file.id;
const names = async (folderId: string) => (await doApi.listFolder(folderId)).map((f) => f.name).sort();
const doFile = (rel: string) => path.join(root, DO, ...rel.split('/'));
const personalFolder = async () => (await doApi.findPersonalFolders(DO, (await doApi.findSyftBoxRoot())!.id))[0]!.file.id;

async function uploadRaw(ds: string, name: string, content: Buffer): Promise<string> {
  return (await api(ds).uploadFile({ name, parentId: await dsFolder(ds, 'inbox'), content, mimeType: 'application/octet-stream' })).id;
}

function driveCalls(): number {
  let n = 0;
  for (const [k, v] of h.emu.world.counters) if (k.startsWith('drive.')) n += v;
  return n;
}

beforeEach(async () => {
  h.emu.world.reset();
  apis.clear();
  logs = [];
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'owner-sync-'));
  root = path.join(tmp, `SyftBox_${DO}`);
  home = path.join(tmp, 'syft-bg');
  fs.mkdirSync(path.join(root, DO), { recursive: true });
  doApi = api(DO);
  await doApi.createFolder('SyftBox');
});

afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
  for (const c of children.splice(0)) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('a submitted job lands in the datasite, is archived, echoed to the DS and logged; state files are coherent', async () => {
  await addPeer(DS);
  const job = await submitJob(api(DS), DS, DO, { name: 'j1', files: { 'config.yaml': 'name: j1\n', 'run.sh': '#!/bin/bash\necho hi\n', 'code/main.py': 'print(1)\n', 'code/data.bin': Buffer.from([0, 255, 1, 2]) } });
  const e = engine();
  const r = await e.cycle([DS]);
  expect(r.errors).toEqual([]);
  expect(r.locked).toBe(true);
  expect(r.reset).toBeDefined();
  expect(r.proposals).toMatchObject({ applied: 1, quarantined: 0 });
  expect(r.pending).toBe(0);
  expect(fs.readFileSync(doFile(jobFilePath(DS, 'j1', 'run.sh')), 'utf8')).toBe('#!/bin/bash\necho hi\n');
  expect(fs.readFileSync(doFile(jobFilePath(DS, 'j1', 'code/data.bin')))).toEqual(Buffer.from([0, 255, 1, 2]));
  // archived: gone from the inbox, in syft_<DS>_to_<DO>_archive
  expect(await names(job.folderId)).toEqual([]);
  const archive = await doApi.findArchiveFolder(DS, DO);
  expect(await names(archive!.id)).toEqual([job.fileName]);
  // echo to the DS: one events message with the 4 files, named after its message_filepath
  const down = await syncDownDetailed(api(DS), DS, DO, path.join(tmp, 'ds-root'), null);
  expect(down.messages).toHaveLength(1);
  expect(down.applied.map((x) => x.path_in_datasite).sort()).toEqual(Object.keys({ 'code/data.bin': 0, 'code/main.py': 0, 'config.yaml': 0, 'run.sh': 0 }).map((f) => jobFilePath(DS, 'j1', f)).sort());
  const proposed = new Map(job.message.proposed_file_changes.map((c) => [c.path_in_datasite, c]));
  for (const ev of down.applied) {
    const c = proposed.get(ev.path_in_datasite)!;
    expect(ev.id).toBe(c.id);
    expect(ev.new_hash).toBe(c.new_hash);
    expect(ev.submitted_timestamp).toBe(c.submitted_timestamp);
  }
  // personal log: the local permission-file events and the accepted message, each once
  const log = await names(await personalFolder());
  expect(log).toHaveLength(2);
  expect(log).toContain(down.messages[0]!.fileName);
  // owner_file_hashes.json and rolling_state.json in the formats Python reads
  const hashes = decodeOwnerFileHashes(fs.readFileSync(path.join(root, '.cache', 'owner_file_hashes.json'), 'utf8'));
  expect(hashes.get(jobFilePath(DS, 'j1', 'run.sh'))).toBe(contentHash('#!/bin/bash\necho hi\n'));
  expect(hashes.get(`app_data/job/inbox/${DS}/syft.pub.yaml`)).toBe(contentHash(fs.readFileSync(doFile(`app_data/job/inbox/${DS}/syft.pub.yaml`))));
  const rolling = decodeRollingState(fs.readFileSync(path.join(root, '.cache', 'rolling_state.json'), 'utf8'));
  expect(rolling.email).toBe(DO);
  expect(rolling.events).toHaveLength(6); // 2 syft.pub.yaml + 4 job files
  // the rolling state on Drive holds the same events
  const rsFolder = (await doApi.searchFolders({ nameContains: [`${DO}-`, '-rolling-state'] }))[0]!;
  const rsFiles = await doApi.listStateFiles(rsFolder.id, 'rolling_state');
  expect(rsFiles).toHaveLength(1);
  expect(unpackRollingState(await doApi.download(rsFiles[0]!.id)).events.map((x) => x.id)).toEqual(rolling.events.map((x) => x.id));
  // Python's DO event-message cache next to the SyftBox folder: the same messages, plain JSON
  const cacheDir = path.join(tmp, `SyftBox_${DO}-events`);
  expect(fs.readdirSync(cacheDir).sort()).toEqual([...log].sort());
  expect(decodeEvents(fs.readFileSync(path.join(cacheDir, down.messages[0]!.fileName), 'utf8')).events.map((x) => x.id).sort()).toEqual(down.applied.map((x) => x.id).sort());
  // a second cycle has nothing to do: written files are not republished
  const r2 = await e.cycle([DS]);
  expect(r2.published.events).toBe(0);
  expect(r2.uploads).toBe(0);
  expect(await names(await personalFolder())).toHaveLength(2);
});

test('changes the DS may not write are dropped; the rest is applied', async () => {
  await addPeer(DS);
  const msg = makeProposal({
    senderEmail: DS,
    datasiteEmail: DO,
    files: [
      { path: jobFilePath(DS, 'j2', 'run.sh'), content: 'ok\n' },
      { path: `app_data/job/review/${DS}/j2/state.yaml`, content: 'status: approved\n' },
      { path: 'public/hello.txt', content: 'hi\n' },
      { path: `app_data/job/inbox/${DS}/syft.pub.yaml`, content: 'rules: []\nterminal: false\n' },
      { path: `private/secret.txt`, content: 'x\n' },
    ],
  });
  const name = proposalFileName(msg.message_filename.submitted_timestamp, msg.message_filename.uid);
  await uploadRaw(DS, name, packProposal(msg));
  const yamlBefore = fs.readFileSync(doFile(`app_data/job/inbox/${DS}/syft.pub.yaml`), 'utf8');
  const r = await engine().cycle([DS]);
  expect(r.errors).toEqual([]);
  expect(r.proposals).toMatchObject({ applied: 1, droppedChanges: 4, quarantined: 0 });
  expect(fs.readFileSync(doFile(jobFilePath(DS, 'j2', 'run.sh')), 'utf8')).toBe('ok\n');
  expect(fs.existsSync(doFile(`app_data/job/review/${DS}/j2/state.yaml`))).toBe(false);
  expect(fs.existsSync(doFile('public/hello.txt'))).toBe(false);
  expect(fs.existsSync(doFile('private/secret.txt'))).toBe(false);
  expect(fs.readFileSync(doFile(`app_data/job/inbox/${DS}/syft.pub.yaml`), 'utf8')).toBe(yamlBefore);
  expect(await names(await dsFolder(DS, 'inbox'))).toEqual([]);
  const down = await syncDownDetailed(api(DS), DS, DO, path.join(tmp, 'ds-root'), null);
  expect(down.applied.map((x) => x.path_in_datasite)).toEqual([jobFilePath(DS, 'j2', 'run.sh')]);
});

test('hostile messages are quarantined with a reason; later messages and other peers still sync', async () => {
  await addPeer(DS);
  await addPeer(DS2);
  let t = 1795632149.1234567;
  const nameAt = () => proposalFileName((t += 1), randomUUID());
  const bad: Record<string, Buffer> = {};
  bad[nameAt()] = Buffer.from('definitely not gzip');
  bad[nameAt()] = packMessage('{"id": "not json');
  const dotdot = makeProposal({ senderEmail: DS, datasiteEmail: DO, files: [{ path: `app_data/job/inbox/${DS}/../../../../escape.txt`, content: 'x' }] });
  bad[nameAt()] = packProposal(dotdot);
  const conflict = makeProposal({ senderEmail: DS, datasiteEmail: DO, files: [{ path: jobFilePath(DS, 'j3', 'run.sh'), content: 'x', oldHash: 'ab'.repeat(32) }] });
  bad[nameAt()] = packProposal(conflict);
  const lying = makeProposal({ senderEmail: DS, datasiteEmail: DO, files: [{ path: jobFilePath(DS, 'j4', 'run.sh'), content: 'x' }] });
  lying.proposed_file_changes[0]!.new_hash = 'cd'.repeat(32);
  bad[nameAt()] = packProposal(lying);
  for (const [n, b] of Object.entries(bad)) await uploadRaw(DS, n, b);
  const good = makeProposal({ senderEmail: DS, datasiteEmail: DO, files: [{ path: jobFilePath(DS, 'j5', 'run.sh'), content: 'good\n' }] });
  await uploadRaw(DS, nameAt(), packProposal(good));
  // not a proposal name at all: ignored, left alone
  await uploadRaw(DS, 'notes.txt', Buffer.from('hello'));
  const job2 = await submitJob(api(DS2), DS2, DO, { name: 'k1', files: { 'run.sh': 'ds2\n' } });

  const r = await engine().cycle([DS, DS2]);
  expect(r.proposals).toMatchObject({ applied: 2, quarantined: 5 });
  expect(fs.readFileSync(doFile(jobFilePath(DS, 'j5', 'run.sh')), 'utf8')).toBe('good\n');
  expect(fs.readFileSync(doFile(jobFilePath(DS2, 'k1', 'run.sh')), 'utf8')).toBe('ds2\n');
  expect(fs.existsSync(path.join(root, 'escape.txt'))).toBe(false);
  expect(fs.existsSync(path.join(tmp, 'escape.txt'))).toBe(false);
  expect(fs.existsSync(doFile(jobFilePath(DS, 'j3', 'run.sh')))).toBe(false);
  expect(fs.existsSync(doFile(jobFilePath(DS, 'j4', 'run.sh')))).toBe(false);
  expect(await names(await dsFolder(DS, 'inbox'))).toEqual(['notes.txt']);
  expect(await names(job2.folderId)).toEqual([]);
  const q = (await doApi.findFoldersByExactName(`syft_${DS}_to_${DO}_quarantine`, { owner: 'me' }))[0]!;
  expect(await names(q.id)).toEqual(Object.keys(bad).sort());
  const records = fs
    .readFileSync(path.join(home, 'sync', `owner-${DO}`, 'quarantine.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { file: string; reason: string; peer: string });
  expect(records.map((x) => x.file)).toEqual(Object.keys(bad));
  expect(records[0]!.reason).toMatch(/gzip/);
  expect(records[1]!.reason).toMatch(/JSON/);
  expect(records[2]!.reason).toMatch(/'\.\.'/);
  expect(records[3]!.reason).toMatch(/conflict/);
  expect(records[4]!.reason).toMatch(/new_hash/);
  expect(logs.filter((l) => l.level === 'warn' && l.msg.startsWith('quarantined proposal'))).toHaveLength(5);
});

test('a stale old_hash is a conflict; the matching one applies (update of an existing file)', async () => {
  await addPeer(DS);
  const e = engine();
  const job = await submitJob(api(DS), DS, DO, { name: 'j', files: { 'run.sh': 'v1\n' } });
  await e.cycle([DS]);
  const v1 = job.message.proposed_file_changes[0]!.new_hash!;
  const stale = await submitJob(api(DS), DS, DO, { name: 'j', files: { 'run.sh': 'v2-stale\n' } }); // old_hash null: conflict
  const fresh = await submitJob(api(DS), DS, DO, { name: 'j', files: { 'run.sh': 'v2\n' }, oldHashes: { 'run.sh': v1 } });
  const r = await e.cycle([DS]);
  expect(r.proposals).toMatchObject({ applied: 1, quarantined: 1 });
  expect(fs.readFileSync(doFile(jobFilePath(DS, 'j', 'run.sh')), 'utf8')).toBe('v2\n');
  const q = (await doApi.findFoldersByExactName(`syft_${DS}_to_${DO}_quarantine`, { owner: 'me' }))[0]!;
  expect(await names(q.id)).toEqual([stale.fileName]);
  expect(await names((await doApi.findArchiveFolder(DS, DO))!.id)).toEqual([job.fileName, fresh.fileName].sort());
});

test('local changes reach only the peers that may read them; a newly shared output is resent', async () => {
  await addPeer(DS);
  await addPeer(DS2);
  const e = engine();
  await e.cycle([DS, DS2]);
  const review = `app_data/job/review/${DS}/j1`;
  fs.mkdirSync(doFile(`${review}/outputs`), { recursive: true });
  grantOutputsToOwner(root, DO, DS, 'j1');
  fs.writeFileSync(doFile(`${review}/state.yaml`), 'status: done\n');
  fs.writeFileSync(doFile(`${review}/stdout.txt`), 'hello\n');
  fs.writeFileSync(doFile(`${review}/outputs/result.csv`), 'a,b\n1,2\n');
  const r = await e.cycle([DS, DS2]);
  expect(r.errors).toEqual([]);
  expect(r.published.events).toBe(4); // state.yaml, stdout.txt, result.csv, the review syft.pub.yaml
  const down = await syncDownDetailed(api(DS), DS, DO, path.join(tmp, 'ds-root'), null);
  expect(down.applied.map((x) => x.path_in_datasite).sort()).toEqual([`${review}/state.yaml`, `${review}/stdout.txt`]);
  for (const m of down.messages) checkEventsMessageName(m.message, m.fileName);
  const outbox2 = await dsFolder(DS2, 'outbox');
  expect(await names(outbox2)).toEqual([]);
  // the personal log has everything, the permission file included
  const logFolder = await personalFolder();
  const logged = await Promise.all((await doApi.listFolder(logFolder)).map(async (f) => unpackEvents(await doApi.download(f.id))));
  expect(logged.flatMap((m) => m.events.map((x) => x.path_in_datasite))).toEqual(expect.arrayContaining([`${review}/outputs/result.csv`, `app_data/job/review/${DS}/syft.pub.yaml`]));
  // share the outputs: the DS gets a full copy of result.csv (old_hash null), DS2 still nothing
  shareOutputs(root, DO, DS, 'j1', [DS]);
  const r2 = await e.cycle([DS, DS2]);
  expect(r2.published.resends).toBe(1);
  const down2 = await syncDownDetailed(api(DS), DS, DO, path.join(tmp, 'ds-root'), down.hwm);
  expect(down2.applied.map((x) => [x.path_in_datasite, x.old_hash])).toEqual([[`${review}/outputs/result.csv`, null]]);
  expect(fs.readFileSync(path.join(tmp, 'ds-root', DO, ...`${review}/outputs/result.csv`.split('/')), 'utf8')).toBe('a,b\n1,2\n');
  expect(await names(outbox2)).toEqual([]);
  // a deletion is published as is_deleted to the reader
  fs.rmSync(doFile(`${review}/stdout.txt`));
  await e.cycle([DS, DS2]);
  const down3 = await syncDownDetailed(api(DS), DS, DO, path.join(tmp, 'ds-root'), down2.hwm);
  expect(down3.applied.map((x) => [x.path_in_datasite, x.is_deleted, x.content])).toEqual([[`${review}/stdout.txt`, true, null]]);
  expect(decodeOwnerFileHashes(fs.readFileSync(path.join(root, '.cache', 'owner_file_hashes.json'), 'utf8')).has(`${review}/stdout.txt`)).toBe(false);
});

test('429/500 faults lose nothing and duplicate nothing', async () => {
  await addPeer(DS);
  const e = engine();
  await e.cycle([DS]);
  const job = await submitJob(api(DS), DS, DO, { name: 'f1', files: { 'run.sh': 'x\n' } });
  fs.mkdirSync(doFile(`app_data/job/review/${DS}/f0`), { recursive: true });
  fs.writeFileSync(doFile(`app_data/job/review/${DS}/f0/state.yaml`), 'status: pending\n');
  h.emu.world.faults.push(
    { route: 'drive.upload.create', status: 500, count: 3 },
    { route: 'drive.upload.create', status: 429, reason: 'rateLimitExceeded', count: 2 },
    { route: 'drive.files.update', status: 503, count: 2 },
    { route: 'drive.files.list', status: 500, count: 2 },
    { route: 'drive.files.get', status: 429, reason: 'userRateLimitExceeded', count: 1 },
  );
  const results = [];
  let pending = 1;
  for (let i = 0; i < 6 && pending > 0; i++) {
    const r = await e.cycle([DS]);
    results.push(r);
    pending = r.pending;
  }
  expect(pending).toBe(0);
  expect(h.emu.world.faults).toEqual([]); // every fault was hit
  expect(results[0]!.errors.length).toBeGreaterThan(0); // and some made the first cycle leave work pending
  expect(results.length).toBeGreaterThan(1);
  await e.cycle([DS]);
  expect(fs.readFileSync(doFile(jobFilePath(DS, 'f1', 'run.sh')), 'utf8')).toBe('x\n');
  expect(await names(job.folderId)).toEqual([]);
  expect(await names((await doApi.findArchiveFolder(DS, DO))!.id)).toEqual([job.fileName]);
  // the DS got exactly one echo and one state.yaml message
  const down = await syncDownDetailed(api(DS), DS, DO, path.join(tmp, 'ds-root'), null);
  expect(down.applied.map((x) => x.path_in_datasite).sort()).toEqual([jobFilePath(DS, 'f1', 'run.sh'), `app_data/job/review/${DS}/f0/state.yaml`]);
  // the log holds each message once: first cycle (2 syft.pub.yaml), the echo, the state.yaml
  const log = await doApi.listFolder(await personalFolder());
  expect(log).toHaveLength(3);
  expect(new Set(log.map((f) => f.name)).size).toBe(3);
});

test('a crash between an upload and its journal mark, or after applying, re-runs without duplicates', async () => {
  await addPeer(DS);
  await engine().cycle([DS]);
  const job = await submitJob(api(DS), DS, DO, { name: 'c1', files: { 'run.sh': 'c\n' } });
  // crash 1: right after the first upload (the log copy of the echo) reached Drive, before the journal says so
  class Crash extends Error {}
  let crashed = 0;
  const crashing = engine({}, {
    afterUpload: () => {
      if (crashed++ === 0) {
        h.emu.world.faults.push({ route: '*', status: 500, count: -1 }); // the process is gone: nothing more happens
        throw new Crash('killed');
      }
    },
  });
  const r1 = await crashing.cycle([DS]);
  expect(r1.errors.length).toBeGreaterThan(0);
  expect(r1.pending).toBe(1);
  h.emu.world.faults = [];
  const logFolder = await personalFolder();
  expect(await names(logFolder)).toHaveLength(2); // the first log + the echo that was uploaded before the crash
  // a fresh process resumes from the journal
  const r2 = await engine().cycle([DS]);
  expect(r2.errors).toEqual([]);
  expect(r2.pending).toBe(0);
  expect(await names(logFolder)).toHaveLength(2);
  const outbox = await dsFolder(DS, 'outbox');
  expect(await names(outbox)).toHaveLength(1);
  expect(await names(job.folderId)).toEqual([]);

  // crash 2: after the files were written, before the archive move
  const job2 = await submitJob(api(DS), DS, DO, { name: 'c2', files: { 'run.sh': 'c2\n' } });
  const crashing2 = engine({}, {
    afterApply: () => {
      h.emu.world.faults.push({ route: '*', status: 500, count: -1 });
      throw new Crash('killed');
    },
  });
  await crashing2.cycle([DS]);
  h.emu.world.faults = [];
  expect(fs.readFileSync(doFile(jobFilePath(DS, 'c2', 'run.sh')), 'utf8')).toBe('c2\n');
  expect(await names(job2.folderId)).toEqual([job2.fileName]); // still in the inbox
  const r3 = await engine().cycle([DS]);
  expect(r3.errors).toEqual([]);
  expect(r3.proposals.applied).toBe(0); // resumed, not processed again
  expect(await names(job2.folderId)).toEqual([]);
  expect(await names(outbox)).toHaveLength(2);
  expect(await names(logFolder)).toHaveLength(3);
  const down = await syncDownDetailed(api(DS), DS, DO, path.join(tmp, 'ds-root'), null);
  expect(down.applied.map((x) => x.path_in_datasite).sort()).toEqual([jobFilePath(DS, 'c1', 'run.sh'), jobFilePath(DS, 'c2', 'run.sh')]);
});

test('an idle cycle is one Drive call whatever the number of peers; a new proposal lists only its inbox', async () => {
  const peers = Array.from({ length: 10 }, (_, i) => `ds${i}@example.com`);
  for (const p of peers) await addPeer(p);
  const e = engine();
  const first = await e.cycle(peers);
  expect(first.inboxesListed).toBe(10);
  await e.cycle(peers); // sees the changes our own uploads made
  h.emu.world.counters.clear();
  const idle = await e.cycle(peers);
  expect(idle.inboxesListed).toBe(0);
  expect(first.feed).toEqual({ reset: true, names: [] });
  expect(idle.feed).toEqual({ reset: false, names: [] });
  const calls = driveCalls();
  expect(calls).toBe(1);
  expect(h.emu.world.counters.get('drive.changes.list')).toBe(1);
  // one DS submits: only that inbox is listed
  await submitJob(api(peers[7]!), peers[7]!, DO, { name: 'n1', files: { 'run.sh': 'n\n' } });
  h.emu.world.counters.clear();
  const busy = await e.cycle(peers);
  expect(busy.inboxesListed).toBe(1);
  expect(busy.proposals.applied).toBe(1);
  expect(busy.feed?.names.some((n) => n.startsWith('msgv2_'))).toBe(true);
  // its archive and outbox folders are known now: the next proposal costs one listing
  await submitJob(api(peers[7]!), peers[7]!, DO, { name: 'n2', files: { 'run.sh': 'n\n' } });
  h.emu.world.counters.clear();
  const busy2 = await e.cycle(peers);
  expect(busy2.inboxesListed).toBe(1);
  expect(busy2.proposals.applied).toBe(1);
  expect(h.emu.world.counters.get('drive.files.list')).toBe(1);
  process.stdout.write(`cycle with one proposal among 10 peers: ${driveCalls()} Drive call(s) ${JSON.stringify(Object.fromEntries(h.emu.world.counters))}\n`);
  // a lost page token falls back to listing every inbox once
  const engineFile = path.join(home, 'sync', `owner-${DO}`, 'engine.json');
  const st = JSON.parse(fs.readFileSync(engineFile, 'utf8'));
  st.pageToken = '999999999';
  fs.writeFileSync(engineFile, JSON.stringify(st));
  const reset = await e.cycle(peers);
  expect(reset.reset).toMatch(/refused/);
  expect(reset.inboxesListed).toBe(10);
  process.stdout.write(`idle cycle with 10 peers: ${calls} Drive call(s)\n`);
});

test('an incremental checkpoint replaces the rolling state at the threshold', async () => {
  await addPeer(DS);
  const e = engine({ checkpointThreshold: 5 });
  await e.cycle([DS]); // 2 events (syft.pub.yaml files)
  fs.mkdirSync(doFile('public'));
  for (let i = 0; i < 3; i++) fs.writeFileSync(doFile(`public/f${i}.txt`), `f${i}\n`);
  const r = await e.cycle([DS]);
  expect(r.checkpoint).toMatch(/^incremental_checkpoint_1_/);
  const cpFolder = (await doApi.searchFolders({ nameContains: [`${DO}-`, '-checkpoints'] }))[0]!;
  const cps = await doApi.listStateFiles(cpFolder.id, 'incremental_checkpoint');
  expect(cps.map((f) => parseIncrementalCheckpointFileName(f.name)?.sequenceNumber)).toEqual([1]);
  const cp = unpackIncrementalCheckpoint(await doApi.download(cps[0]!.id));
  expect(cp.events.map((x) => x.path_in_datasite).sort()).toEqual([`app_data/job/inbox/${DS}/syft.pub.yaml`, `app_data/job/review/${DS}/syft.pub.yaml`, 'public/f0.txt', 'public/f1.txt', 'public/f2.txt']);
  const rsFolder = (await doApi.searchFolders({ nameContains: [`${DO}-`, '-rolling-state'] }))[0]!;
  expect(await doApi.listStateFiles(rsFolder.id, 'rolling_state')).toEqual([]);
  const local = decodeRollingState(fs.readFileSync(path.join(root, '.cache', 'rolling_state.json'), 'utf8'));
  expect(local.events).toEqual([]);
  expect(local.base_checkpoint_timestamp).toBe(Math.max(...cp.events.map((x) => x.timestamp)));
  // the next change starts a new rolling state; the next checkpoint is #2
  fs.writeFileSync(doFile('public/f0.txt'), 'changed\n');
  await e.cycle([DS]);
  const files = await doApi.listStateFiles(rsFolder.id, 'rolling_state');
  expect(files).toHaveLength(1);
  expect(unpackRollingState(await doApi.download(files[0]!.id)).events.map((x) => x.path_in_datasite)).toEqual(['public/f0.txt']);
  for (const f of await doApi.listFolder(await personalFolder())) expect(parseEventsFileName(f.name)).toBeDefined();
});

test('a Python sync holding .sync.lock makes the cycle wait; giving up does nothing', async () => {
  await addPeer(DS);
  const lockFile = path.join(root, '.sync.lock');
  fs.writeFileSync(lockFile, '');
  const holder = spawn('flock', ['-x', lockFile, 'sleep', '30'], { stdio: 'ignore', detached: true });
  children.push(holder);
  await new Promise((r) => setTimeout(r, 200));
  h.emu.world.counters.clear();
  const r = await engine({ lockTimeoutMs: 300 }).cycle([DS]);
  expect(r.locked).toBe(false);
  expect(driveCalls()).toBe(0);
  const waiting = engine({ lockTimeoutMs: 10_000 }).cycle([DS]);
  await new Promise((r2) => setTimeout(r2, 300));
  expect(driveCalls()).toBe(0);
  process.kill(-holder.pid!, 'SIGKILL');
  const r2 = await waiting;
  expect(r2.locked).toBe(true);
  expect(r2.errors).toEqual([]);
});
