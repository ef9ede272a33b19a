/**
 * The test DS client (test/helpers/ds-client) against the loopback Drive emulator with real googleapis clients:
 * the DS submits a job as one msgv2 proposal; a minimal DO, written with the codecs, reads it, checks write access
 * and answers with events messages in the DS-owned outbox; the DS syncs them down into its local tree.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startServer, type Emulator } from '../../emulator/core';
import { driveModule, driveState } from '../../emulator/drive';
import { makeOAuthClient } from '../../../lib/google/clients';
import { createDriveApi, p2pFolderName, type DriveApi, type P2pFolderType } from '../../../lib/google/drive';
import { SYFT_CLIENT_VERSION } from '../../../lib/peers/version';
import type { RuleSet } from '../../../lib/datasite/permissions';
import { accessFor } from '../../../lib/sync/codec/access';
import { contentHash } from '../../../lib/sync/codec/content';
import {
  deletionEvent,
  eventFromProposedChange,
  eventsMessageFileName,
  fileChangeEvent,
  makeEventsMessage,
  packEvents,
  type FileChangeEvent,
} from '../../../lib/sync/codec/events';
import { MessageFormatError } from '../../../lib/sync/codec/errors';
import { newTimestamp, parseProposalFileName } from '../../../lib/sync/codec/names';
import { unpackProposal } from '../../../lib/sync/codec/proposal';
import { packMessage } from '../../../lib/sync/codec/tarball';
import { submitJob } from '../../helpers/ds-client/proposal';
import { syncDown, syncDownDetailed } from '../../helpers/ds-client/sync-down';

const DO = 'do@example.com';
const DS = 'ds@example.org';

let emu: Emulator;
let env: NodeJS.ProcessEnv;
let dir: string;
let ds: DriveApi;
let dO: DriveApi;

function apiFor(email: string): DriveApi {
  const u = emu.world.addUser(email);
  const auth = makeOAuthClient({ clientId: u.clientId, clientSecret: u.clientSecret }, env);
  auth.setCredentials({ access_token: u.accessToken, refresh_token: u.refreshToken, expiry_date: Date.now() + 3_600_000 });
  return createDriveApi(auth, { env, retry: { baseDelayMs: 2, maxDelayMs: 10 } });
}

/** What the DS does when it adds the DO as a peer: the two DS-owned folders, shared writer with the DO. */
async function dsFolders(types: P2pFolderType[] = ['inbox', 'outbox']): Promise<Record<string, string>> {
  const root = await ds.createFolder('SyftBox');
  const ids: Record<string, string> = {};
  for (const type of types) {
    const f = await ds.createFolder(p2pFolderName({ version: SYFT_CLIENT_VERSION, datasite: DO, type, peer: DS }), root.id);
    await ds.share(f.id, DO, 'writer');
    ids[type] = f.id;
  }
  return ids;
}

const JOB_FILES = {
  'config.yaml': 'name: j1\ntype: python\n',
  'run.sh': '#!/bin/bash\nset -euo pipefail\ncd code\npython main.py\n',
  'code/main.py': 'print("héllo")\n',
  'code/data.bin': Buffer.from([0, 1, 2, 253, 254, 255]),
};

const INBOX_RULES = new Map<string, RuleSet>([[`app_data/job/inbox/${DS}`, { rules: [{ pattern: '**', access: { admin: [], read: [], write: [DS] } }], terminal: false }]]);

/** The DO side: read every proposal in its view of the inbox, keep what the DS may write, answer in the outbox. */
async function doProcessInbox(outboxId: string): Promise<{ accepted: FileChangeEvent[]; fileName: string }> {
  const [inbox] = await dO.findP2pFolders({ datasite: DO, type: 'inbox', peer: DS, owner: DS });
  const files = await dO.listFolder(inbox!.file.id, { kind: 'files' });
  const proposals = files
    .map((f) => ({ f, n: parseProposalFileName(f.name) }))
    .filter((x) => x.n)
    .sort((a, b) => a.n!.submittedTimestamp - b.n!.submittedTimestamp);
  const accepted: FileChangeEvent[] = [];
  for (const { f } of proposals) {
    const msg = unpackProposal(await dO.download(f.id));
    for (const c of msg.proposed_file_changes) {
      if (accessFor(INBOX_RULES, c.path_in_datasite, msg.sender_email, DO).write) accepted.push(eventFromProposedChange(c, newTimestamp()));
    }
  }
  const out = makeEventsMessage(accepted);
  const fileName = eventsMessageFileName(out);
  await dO.uploadFile({ name: fileName, parentId: outboxId, content: packEvents(out) });
  return { accepted, fileName };
}

async function putEvents(outboxId: string, events: FileChangeEvent[], ts?: number): Promise<number> {
  const m = makeEventsMessage(events, ts === undefined ? {} : { timestamp: ts });
  await dO.uploadFile({ name: eventsMessageFileName(m), parentId: outboxId, content: packEvents(m) });
  return m.message_filepath.timestamp;
}

const local = (...p: string[]) => path.join(dir, 'ds-root', DO, ...p);

beforeAll(async () => {
  emu = await startServer([driveModule]);
  env = { SYFT_BG_GOOGLE_ROOT_URL: emu.url };
});
afterAll(() => emu.close());
beforeEach(() => {
  emu.world.reset();
  ds = apiFor(DS);
  dO = apiFor(DO);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-client-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('submitJob', () => {
  it('uploads every job file as one msgv2 proposal into the DS-owned inbox, readable by the DO', async () => {
    const { inbox } = await dsFolders();
    const sub = await submitJob(ds, DS, DO, { name: 'j1', files: JOB_FILES });
    expect(sub.folderId).toBe(inbox);
    expect(sub.fileName).toMatch(/^msgv2_\d+\.\d{7}_[0-9a-f-]{36}\.tar\.gz$/);
    const listed = await ds.listFolder(inbox!);
    expect(listed.map((f) => f.name)).toEqual([sub.fileName]);
    expect((await ds.getFile(sub.fileId)).owners).toEqual([DS]);

    const msg = unpackProposal(await dO.download(sub.fileId));
    expect(msg).toEqual(sub.message);
    expect(msg.sender_email).toBe(DS);
    expect(msg.proposed_file_changes.map((c) => c.path_in_datasite)).toEqual(Object.keys(JOB_FILES).map((k) => `app_data/job/inbox/${DS}/j1/${k}`));
    for (const c of msg.proposed_file_changes) {
      expect(c.datasite_email).toBe(DO);
      expect(c.old_hash).toBeNull();
      expect(c.new_hash).toBe(contentHash(c.content as string | Buffer));
    }
    expect(Buffer.isBuffer(msg.proposed_file_changes[3]!.content)).toBe(true);
  });

  it('puts the proposal back in the inbox when Drive drops the parent on create', async () => {
    const { inbox } = await dsFolders();
    driveState(emu.world).quirks.dropParentsOnCreate = 1;
    const sub = await submitJob(ds, DS, DO, { name: 'j2', files: { 'run.sh': 'echo\n' } });
    expect(await ds.getParents(sub.fileId)).toEqual([inbox]);
    expect((await ds.listFolder(inbox!)).map((f) => f.id)).toEqual([sub.fileId]);
  });

  it('fails without an inbox folder, and refuses hostile job paths before uploading', async () => {
    await expect(submitJob(ds, DS, DO, { name: 'j', files: { 'run.sh': 'x' } })).rejects.toThrow(/no inbox folder/);
    await dsFolders();
    await expect(submitJob(ds, DS, DO, { name: 'j', files: { '../../../escape': 'x' } })).rejects.toThrow(/'\.\.'/);
    await expect(submitJob(ds, DS, DO, { name: 'j', files: {} })).rejects.toThrow(/no files/);
  });
});

describe('syncDown', () => {
  it('round trip: proposal -> DO events -> DS local tree, with a high-water mark', async () => {
    const { outbox } = await dsFolders();
    await submitJob(ds, DS, DO, { name: 'j1', files: JOB_FILES });
    const { accepted, fileName } = await doProcessInbox(outbox!);
    expect(accepted).toHaveLength(4);

    const root = path.join(dir, 'ds-root');
    const r1 = await syncDownDetailed(ds, DS, DO, root, null);
    expect(r1.messages.map((m) => m.fileName)).toEqual([fileName]);
    expect(r1.hwm).toBe(r1.messages[0]!.message.message_filepath.timestamp);
    expect(fs.readFileSync(local('app_data/job/inbox', DS, 'j1/run.sh'), 'utf8')).toBe(JOB_FILES['run.sh']);
    expect(fs.readFileSync(local('app_data/job/inbox', DS, 'j1/code/main.py'), 'utf8')).toBe(JOB_FILES['code/main.py']);
    expect(fs.readFileSync(local('app_data/job/inbox', DS, 'j1/code/data.bin')).equals(JOB_FILES['code/data.bin'])).toBe(true);

    // nothing new: no download, same mark
    emu.world.counters.clear();
    expect(await syncDown(ds, DS, DO, root, r1.hwm)).toBe(r1.hwm);
    expect(emu.world.counters.get('drive.files.get') ?? 0).toBe(0);

    // the DO publishes a state file and deletes a file
    const state = `app_data/job/review/${DS}/j1/state.yaml`;
    const t2 = await putEvents(outbox!, [
      fileChangeEvent({ path: state, datasiteEmail: DO, content: 'status: pending\n', oldHash: null }),
      deletionEvent({ path: `app_data/job/inbox/${DS}/j1/code/data.bin`, datasiteEmail: DO, oldHash: contentHash(JOB_FILES['code/data.bin']) }),
    ]);
    const r2 = await syncDownDetailed(ds, DS, DO, root, r1.hwm);
    expect(r2.hwm).toBe(t2);
    expect(r2.messages).toHaveLength(1);
    expect(fs.readFileSync(local(state), 'utf8')).toBe('status: pending\n');
    expect(fs.existsSync(local('app_data/job/inbox', DS, 'j1/code/data.bin'))).toBe(false);
  });

  it('applies messages in timestamp order whatever the upload order', async () => {
    const { outbox } = await dsFolders();
    const p = `app_data/job/review/${DS}/j1/state.yaml`;
    const t0 = newTimestamp();
    const later = await putEvents(outbox!, [fileChangeEvent({ path: p, datasiteEmail: DO, content: 'status: done\n', oldHash: 'h1' })], t0 + 2);
    await putEvents(outbox!, [fileChangeEvent({ path: p, datasiteEmail: DO, content: 'status: running\n', oldHash: null })], t0 + 1);
    const r = await syncDownDetailed(ds, DS, DO, path.join(dir, 'ds-root'), null);
    expect(r.applied.map((e) => e.content)).toEqual(['status: running\n', 'status: done\n']);
    expect(fs.readFileSync(local(p), 'utf8')).toBe('status: done\n');
    expect(r.hwm).toBe(later);
    // a mark between the two only fetches the later one
    const r2 = await syncDownDetailed(ds, DS, DO, path.join(dir, 'ds-root'), t0 + 1.5);
    expect(r2.messages.map((m) => m.message.message_filepath.timestamp)).toEqual([later]);
  });

  it('missing outbox: nothing to do; foreign files in the outbox are ignored', async () => {
    expect(await syncDown(ds, DS, DO, path.join(dir, 'ds-root'), 12.5)).toBe(12.5);
    const { outbox } = await dsFolders();
    await dO.uploadFile({ name: 'notes.txt', parentId: outbox!, content: 'hello' });
    expect(await syncDown(ds, DS, DO, path.join(dir, 'ds-root'), null)).toBeNull();
  });

  it('hostile messages are refused before anything is written', async () => {
    const { outbox } = await dsFolders();
    const root = path.join(dir, 'ds-root');
    await putEvents(outbox!, [fileChangeEvent({ path: '../../escape.txt', datasiteEmail: DO, content: 'x', oldHash: null })]);
    await expect(syncDown(ds, DS, DO, root, null)).rejects.toThrow(/'\.\.'/);
    expect(fs.existsSync(path.join(dir, 'escape.txt'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'ds-root', 'escape.txt'))).toBe(false);

    emu.world.reset();
    ds = apiFor(DS);
    dO = apiFor(DO);
    const { outbox: o2 } = await dsFolders();
    // a message renamed to look newer than it says it is
    const m = makeEventsMessage([fileChangeEvent({ path: 'public/a.txt', datasiteEmail: DO, content: 'x', oldHash: null })], { timestamp: 100.5 });
    await dO.uploadFile({ name: `syfteventsmessagev3_999.5_${m.message_filepath.id}.tar.gz`, parentId: o2!, content: packEvents(m) });
    await expect(syncDown(ds, DS, DO, root, null)).rejects.toThrow(MessageFormatError);

    emu.world.reset();
    ds = apiFor(DS);
    dO = apiFor(DO);
    const { outbox: o3 } = await dsFolders();
    await dO.uploadFile({ name: 'syfteventsmessagev3_5.5_00000000-0000-4000-8000-000000000001.tar.gz', parentId: o3!, content: packMessage('{"events": 5}') });
    await expect(syncDown(ds, DS, DO, root, null)).rejects.toThrow(/events message: events/);
    // an event about another datasite
    await dO.deleteFile((await dO.listFolder(o3!))[0]!.id);
    await putEvents(o3!, [fileChangeEvent({ path: 'public/a.txt', datasiteEmail: 'other@x.com', content: 'x', oldHash: null })]);
    await expect(syncDown(ds, DS, DO, root, null)).rejects.toThrow(/is about other@x.com/);
  });

  it('never writes through a symlink in the local tree', async () => {
    const { outbox } = await dsFolders();
    const root = path.join(dir, 'ds-root');
    fs.mkdirSync(path.join(root, DO), { recursive: true });
    fs.mkdirSync(path.join(dir, 'elsewhere'));
    fs.symlinkSync(path.join(dir, 'elsewhere'), path.join(root, DO, 'public'));
    await putEvents(outbox!, [fileChangeEvent({ path: 'public/a.txt', datasiteEmail: DO, content: 'x', oldHash: null })]);
    await expect(syncDown(ds, DS, DO, root, null)).rejects.toThrow(/symbolic link/);
    expect(fs.readdirSync(path.join(dir, 'elsewhere'))).toEqual([]);
  });
});
