/**
 * lib/google/drive.ts through the real @googleapis/drive client against the loopback emulator: every §3.8 call,
 * paging, hostile names, two users sharing, and retries with injected faults.
 */
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { startServer, Emulator } from '../emulator/core';
import { driveModule, driveState } from '../emulator/drive';
import { makeOAuthClient } from '../../lib/google/clients';
import { createDriveApi, DriveApi, DriveApiOptions, FOLDER_MIME, p2pFolderName, parseP2pFolderName, archiveFolderName } from '../../lib/google/drive';
import { GoogleApiError } from '../../lib/google/retry';

const DO = 'do@example.com';
const DS = 'ds@example.org';
const VER = '0.1.117';

let emu: Emulator;
let env: NodeJS.ProcessEnv;
let drive: DriveApi;
let dsDrive: DriveApi;
let doRoot: string;
let dsRoot: string;

function apiFor(email: string, opts: Omit<DriveApiOptions, 'env'> = {}): DriveApi {
  const u = emu.world.addUser(email);
  const auth = makeOAuthClient({ clientId: u.clientId, clientSecret: u.clientSecret }, env);
  // With an expiry, google-auth-library does not "refresh and retry once" on 401/403, which would blur counters.
  auth.setCredentials({ access_token: u.accessToken, refresh_token: u.refreshToken, expiry_date: Date.now() + 3_600_000 });
  return createDriveApi(auth, { env, ...opts, retry: { baseDelayMs: 5, maxDelayMs: 20, ...opts.retry } });
}

const count = (route: string) => emu.world.counters.get(route) ?? 0;
const uploadCount = () => count('drive.upload.create') + count('drive.upload.resumable') + count('drive.files.create');

async function fails(p: Promise<unknown>): Promise<GoogleApiError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(GoogleApiError);
  return e as GoogleApiError;
}

beforeAll(async () => {
  emu = await startServer([driveModule]);
  env = { SYFT_BG_GOOGLE_ROOT_URL: emu.url };
  drive = apiFor(DO);
  dsDrive = apiFor(DS);
  doRoot = (await drive.createFolder('SyftBox')).id;
  dsRoot = (await dsDrive.createFolder('SyftBox')).id;
});
afterAll(() => emu.close());
beforeEach(() => {
  emu.world.faults = [];
  emu.world.counters.clear();
  driveState(emu.world).quirks = {};
});

describe('pure helpers', () => {
  it('p2p folder names round-trip and refuse ambiguity', () => {
    const n = { version: VER, datasite: DO, type: 'inbox' as const, peer: DS };
    const name = p2pFolderName(n);
    expect(name).toBe(`syft_datasite#${VER}#${DO}#inbox#${DS}`);
    expect(parseP2pFolderName(name)).toEqual(n);
    expect(parseP2pFolderName(`${name}#x`)).toBeUndefined();
    expect(parseP2pFolderName(`syft_datasite#${VER}#${DO}#sideways#${DS}`)).toBeUndefined();
    expect(parseP2pFolderName(`other#${VER}#${DO}#inbox#${DS}`)).toBeUndefined();
    expect(() => p2pFolderName({ ...n, peer: 'a#b@x' })).toThrow(TypeError);
    expect(archiveFolderName(DS, DO)).toBe(`syft_${DS}_to_${DO}_archive`);
  });
});

describe('drive api (single user)', () => {
  it('#1 whoami', async () => {
    expect(await drive.whoami()).toBe(DO);
    expect(await dsDrive.whoami()).toBe(DS);
    expect(count('drive.about.get')).toBe(2);
  });

  it('#2 finds the caller’s own SyftBox root only', async () => {
    expect((await drive.findSyftBoxRoot())?.id).toBe(doRoot);
    expect((await dsDrive.findSyftBoxRoot())?.id).toBe(dsRoot);
    expect((await drive.findSyftBoxRoots()).map((f) => f.id)).toEqual([doRoot]);
  });

  it('#4 personal folders: exact-name re-filter', async () => {
    const mine = await drive.createFolder(`${VER}#${DO}`, doRoot);
    await drive.createFolder(`${VER}#${DO}.evil`, doRoot);
    await drive.createFolder(`${VER}#${DO}#x`, doRoot);
    const found = await drive.findPersonalFolders(DO, doRoot);
    expect(found.map((f) => [f.version, f.file.id])).toEqual([[VER, mine.id]]);
  });

  it('#7/#12 file id by name, and names with quotes and backslashes', async () => {
    const folder = await drive.createFolder('quotes', doRoot);
    const hostile = ["O'Brien's results.json", 'back\\slash.txt', "it\\'s.txt", "' or name contains '"];
    const ids: Record<string, string> = {};
    for (const name of hostile) ids[name] = (await drive.uploadFile({ name, parentId: folder.id, content: name })).id;
    await drive.uploadFile({ name: 'innocent.txt', parentId: folder.id, content: 'x' });
    for (const name of hostile) {
      expect(await drive.findFileIdByName(name, folder.id)).toBe(ids[name]);
      expect((await drive.download(ids[name]!)).toString()).toBe(name);
    }
    expect(await drive.findFileIdByName("O'Brien", folder.id)).toBeUndefined();
    // An injection attempt must not match everything.
    expect(await drive.findFileIdByName("x' or name contains 'innocent", folder.id)).toBeUndefined();
    const qFolder = await drive.createFolder("DS's \\ folder", doRoot);
    expect((await drive.findFoldersByExactName("DS's \\ folder", { owner: 'me', parentId: doRoot })).map((f) => f.id)).toEqual([qFolder.id]);
    expect(await drive.findFoldersByExactName("DS's", { owner: 'me' })).toEqual([]);
  });

  it('#9 lists 250 files over three pages, name desc, and stops early when asked', async () => {
    const folder = await drive.createFolder('many', doRoot);
    const names = Array.from({ length: 250 }, (_, i) => `msgv2_${String(i).padStart(3, '0')}.tar.gz`);
    for (let i = 0; i < names.length; i += 25) {
      await Promise.all(names.slice(i, i + 25).map((name) => drive.uploadFile({ name, parentId: folder.id, content: Buffer.from(name) })));
    }
    emu.world.counters.clear();
    const listed = await drive.listFolder(folder.id);
    expect(listed.map((f) => f.name)).toEqual([...names].sort().reverse());
    expect(new Set(listed.map((f) => f.id)).size).toBe(250);
    expect(listed[0]!.size).toBe(names[249]!.length);
    expect(count('drive.files.list')).toBe(3);

    emu.world.counters.clear();
    const firstFive: string[] = [];
    for await (const f of drive.iterateFolder(folder.id)) {
      firstFive.push(f.name);
      if (firstFive.length === 5) break;
    }
    expect(firstFive).toEqual(names.slice(-5).reverse());
    expect(count('drive.files.list')).toBe(1);

    // Generic search pages too.
    emu.world.counters.clear();
    const found = await drive.findFiles({ parentId: folder.id, nameContains: ['msgv2'], folder: false });
    expect(found).toHaveLength(250);
    expect(count('drive.files.list')).toBe(3);
  }, 60_000);

  it('#9 kind filter', async () => {
    const folder = await drive.createFolder('mixed', doRoot);
    await drive.createFolder('sub', folder.id);
    await drive.uploadFile({ name: 'a.txt', parentId: folder.id, content: 'a' });
    expect((await drive.listFolder(folder.id, { kind: 'folders' })).map((f) => [f.name, f.mimeType])).toEqual([['sub', FOLDER_MIME]]);
    expect((await drive.listFolder(folder.id, { kind: 'files' })).map((f) => f.name)).toEqual(['a.txt']);
    expect((await drive.listFolder(folder.id, { orderBy: 'name' })).map((f) => f.name)).toEqual(['a.txt', 'sub']);
  });

  it('#13 checkpoint / incremental / rolling-state listing with exact prefixes', async () => {
    const folder = await drive.createFolder(`${DO}-${VER}-checkpoints`, doRoot);
    for (const name of ['checkpoint_1.5.tar.gz', 'checkpoint_2.5.tar.gz', 'incremental_checkpoint_1_3.5.tar.gz', 'rolling_state_4.5.tar.gz', 'notes.txt']) {
      await drive.uploadFile({ name, parentId: folder.id, content: name });
    }
    const names = async (kind: 'checkpoint' | 'incremental_checkpoint' | 'rolling_state') => (await drive.listStateFiles(folder.id, kind)).map((f) => f.name).sort();
    expect(await names('checkpoint')).toEqual(['checkpoint_1.5.tar.gz', 'checkpoint_2.5.tar.gz']);
    expect(await names('incremental_checkpoint')).toEqual(['incremental_checkpoint_1_3.5.tar.gz']);
    expect(await names('rolling_state')).toEqual(['rolling_state_4.5.tar.gz']);
  });

  it('#11 archive folder, #21/#24 archiving a file', async () => {
    const inbox = await drive.createFolder('inbox-for-archive', doRoot);
    const archive = await drive.createFolder(archiveFolderName(DS, DO), doRoot);
    await drive.createFolder(archiveFolderName(DS, `${DO}x`), doRoot);
    expect((await drive.findArchiveFolder(DS, DO))?.id).toBe(archive.id);
    expect(await drive.findArchiveFolder(DO, DS)).toBeUndefined();
    const f = await drive.uploadFile({ name: 'msgv2_1.5_x.tar.gz', parentId: inbox.id, content: Buffer.from([1, 2, 3]) });
    expect(await drive.getParents(f.id)).toEqual([inbox.id]);
    const moved = await drive.archiveFile(f.id, archive.id);
    expect(moved.parents).toEqual([archive.id]);
    expect(await drive.getParents(f.id)).toEqual([archive.id]);
    expect(await drive.listFolder(inbox.id)).toEqual([]);
    // Archiving again is a no-op.
    expect((await drive.archiveFile(f.id, archive.id)).parents).toEqual([archive.id]);
    // Plain add/remove.
    const other = await drive.createFolder('other', doRoot);
    // Drive allows one parent per file: adding a second one is refused (403 cannotAddParent, not retried).
    emu.world.counters.clear();
    const refused = await fails(drive.moveFile(f.id, { addParents: [other.id] }));
    expect([refused.status, refused.reason, refused.attempts]).toEqual([403, 'cannotAddParent', 1]);
    expect((await drive.moveFile(f.id, { addParents: [other.id], removeParents: [archive.id] })).parents).toEqual([other.id]);
    expect((await drive.archiveFile(f.id, archive.id)).parents).toEqual([archive.id]);
    expect(() => drive.moveFile(f.id, {})).toThrow(TypeError);
  });

  it('#14 datasets and #23 tag "any"', async () => {
    const ds = await drive.createFolder('syft_datasetcollection_iris_0123456789ab', doRoot);
    await drive.createFolder('syft_privatecollection_iris_0123456789ab', doRoot);
    const tagged = await drive.tagSharedWithAny(ds.id);
    expect(tagged.appProperties).toEqual({ syft_shared_with_any: 'true' });
    const own = await drive.listOwnDatasetCollections(doRoot);
    expect(own.map((f) => [f.name, f.appProperties])).toEqual([['syft_datasetcollection_iris_0123456789ab', { syft_shared_with_any: 'true' }]]);
  });

  it('#19 small upload (multipart), #20 replace content, #25 download', async () => {
    const folder = await drive.createFolder('uploads', doRoot);
    const text = await drive.uploadFile({ name: 'SYFT_peers.json', parentId: folder.id, content: '{"a":1}' });
    expect(text.parents).toEqual([folder.id]);
    expect((await drive.getFile(text.id)).mimeType).toBe('text/plain');
    expect(count('drive.upload.create')).toBe(1);
    const bin = randomBytes(5000);
    const b = await drive.uploadFile({ name: 'blob.tar.gz', parentId: folder.id, content: bin });
    expect((await drive.getFile(b.id)).mimeType).toBe('application/octet-stream');
    expect(Buffer.compare(await drive.download(b.id), bin)).toBe(0);
    const replaced = await drive.replaceContent(text.id, '{"a":2}');
    expect(replaced.id).toBe(text.id);
    expect((await drive.download(text.id)).toString()).toBe('{"a":2}');
    const j = await drive.uploadFile({ name: 'x.json', parentId: folder.id, content: '{}', mimeType: 'application/json' });
    expect((await drive.getFile(j.id)).mimeType).toBe('application/json');
  });

  it('#19/#20 large uploads use a resumable session, #25 ranged download', async () => {
    const big = apiFor(DO, { resumableThreshold: 1024, uploadChunkSize: 256 * 1024, downloadChunkSize: 100 * 1024 });
    const folder = await big.createFolder('big', doRoot);
    const data = randomBytes(600 * 1024 + 17);
    emu.world.counters.clear();
    const f = await big.uploadFile({ name: 'rolling_state_1.5.tar.gz', parentId: folder.id, content: data });
    expect(f.size).toBe(data.length);
    expect(count('drive.upload.resumable')).toBeGreaterThanOrEqual(3);
    emu.world.counters.clear();
    expect(Buffer.compare(await big.download(f.id), data)).toBe(0);
    expect(count('drive.files.get')).toBe(7); // ceil(614417 / 102400)
    const r = await big.downloadRange(f.id, 10, 19);
    expect(r).toEqual({ data: data.subarray(10, 20), partial: true, total: data.length });
    // Replace with other big content, in place.
    const data2 = randomBytes(300 * 1024);
    expect((await big.replaceContent(f.id, data2)).id).toBe(f.id);
    expect(Buffer.compare(await drive.download(f.id), data2)).toBe(0);
    expect(await big.listFolder(folder.id)).toHaveLength(1);
  });

  it('#25 empty files download as empty', async () => {
    const folder = await drive.createFolder('empty', doRoot);
    const f = await drive.uploadFile({ name: 'empty.txt', parentId: folder.id, content: '' });
    expect((await drive.download(f.id)).length).toBe(0);
  });

  it('#26 delete ignores 404', async () => {
    const f = await drive.createFolder('doomed', doRoot);
    expect(await drive.deleteFile(f.id)).toBe(true);
    expect(await drive.deleteFile(f.id)).toBe(false);
    const e = await fails(drive.getFile(f.id));
    expect(e.status).toBe(404);
  });

  it('changes: start token, paging until newStartPageToken', async () => {
    const start = await drive.getStartPageToken();
    const folder = await drive.createFolder('changes', doRoot);
    const a = await drive.uploadFile({ name: 'a', parentId: folder.id, content: 'a' });
    const b = await drive.uploadFile({ name: 'b', parentId: folder.id, content: 'b' });
    await drive.deleteFile(a.id);
    emu.world.counters.clear();
    const res = await drive.listChanges(start, { pageSize: 1 });
    const ids = new Set(res.changes.map((c) => c.fileId));
    expect(ids).toEqual(new Set([folder.id, a.id, b.id]));
    expect(res.changes.find((c) => c.fileId === a.id && c.removed)).toBeDefined();
    expect(res.changes.find((c) => c.fileId === b.id)?.file?.name).toBe('b');
    expect(count('drive.changes.list')).toBeGreaterThanOrEqual(3);
    expect(res.newStartPageToken).toBeTruthy();
    const none = await drive.listChanges(res.newStartPageToken);
    expect(none.changes).toEqual([]);
  });
});

describe('drive api (two users)', () => {
  it('#5/#6/#27/#28 DS requests a peer, DO sees the request, approves and both can use the folders', async () => {
    // DS: add_peer — inbox and outbox for the DO's datasite, shared writer with the DO.
    const inboxName = p2pFolderName({ version: VER, datasite: DO, type: 'inbox', peer: DS });
    const dsInbox = await dsDrive.createFolder(inboxName, dsRoot);
    const dsOutbox = await dsDrive.createFolder(p2pFolderName({ version: VER, datasite: DO, type: 'outbox', peer: DS }), dsRoot);
    // Decoys: a p2p name for another peer, a name with an extra part, and a folder the DO owns itself.
    const evil = await dsDrive.createFolder(`${inboxName}.evil`, dsRoot);
    const extra = await dsDrive.createFolder(`${inboxName}#extra`, dsRoot);
    for (const f of [dsInbox, dsOutbox, evil, extra]) {
      const r = await dsDrive.ensureShared(f.id, DO, 'writer', { sendNotificationEmail: false });
      expect(r.created).toBe(true);
    }
    await drive.createFolder(p2pFolderName({ version: VER, datasite: DO, type: 'inbox', peer: 'self@example.com' }), doRoot);

    // DO: peer requests (not owned by me), parsed, with owners.
    const requests = await drive.listPeerRequests(DO);
    expect(requests.map((r) => [r.type, r.peer, r.version, r.file.id, r.file.owners])).toEqual(
      expect.arrayContaining([
        ['inbox', DS, VER, dsInbox.id, [DS]],
        ['outbox', DS, VER, dsOutbox.id, [DS]],
        ['inbox', `${DS}.evil`, VER, evil.id, [DS]],
      ]),
    );
    // Only parsed names survive; the owner is reported so callers can check it matches `peer` (§7 #4).
    expect(requests).toHaveLength(3);
    expect(requests.find((r) => r.file.id === extra.id)).toBeUndefined();

    // DO: the DS-owned inbox for its own datasite (#5, owner = DS).
    const own = await drive.findP2pFolders({ datasite: DO, type: 'inbox', peer: DS, owner: DS });
    expect(own.map((f) => f.file.id)).toEqual([dsInbox.id]);
    expect(await drive.findP2pFolders({ datasite: DO, type: 'inbox', peer: DS, owner: DO })).toEqual([]);

    // Permissions: DS sees the DO as writer; sharing again is a no-op.
    const perms = await dsDrive.listPermissions(dsInbox.id);
    expect(perms.find((p) => p.emailAddress === DO)?.role).toBe('writer');
    expect(perms.find((p) => p.emailAddress === DS)?.role).toBe('owner');
    emu.world.counters.clear();
    expect((await dsDrive.ensureShared(dsInbox.id, DO.toUpperCase(), 'reader')).created).toBe(false);
    expect(count('drive.permissions.create')).toBe(0);

    // DS proposes a job into its inbox; the DO lists it and archives it into its own folder.
    const msg = await dsDrive.uploadFile({ name: 'msgv2_1795632149.7272775_e5964b7a.tar.gz', parentId: dsInbox.id, content: randomBytes(64) });
    const listed = await drive.listFolder(dsInbox.id);
    expect(listed.map((f) => f.id)).toEqual([msg.id]);
    const archive = await drive.createFolder(archiveFolderName(DS, DO), doRoot);
    await drive.archiveFile(msg.id, archive.id);
    expect(await drive.listFolder(dsInbox.id)).toEqual([]);

    // DO writes events into the DS-owned outbox.
    const ev = await drive.uploadFile({ name: 'syfteventsmessagev3_1.5_x.tar.gz', parentId: dsOutbox.id, content: 'events' });
    expect((await dsDrive.listFolder(dsOutbox.id)).map((f) => f.id)).toEqual([ev.id]);
    expect((await dsDrive.download(ev.id)).toString()).toBe('events');

    // DO: approve — reciprocal folders shared with the DS (#18, #28).
    const recip = await drive.createFolder(p2pFolderName({ version: VER, datasite: DS, type: 'inbox', peer: DO }), doRoot);
    const shared = await drive.share(recip.id, DS, 'writer', { sendNotificationEmail: true });
    expect(shared).toMatchObject({ role: 'writer', emailAddress: DS, type: 'user' });
    expect((await dsDrive.listPeerRequests(DS)).map((r) => r.file.id)).toEqual([recip.id]);
  });

  it('#15 shared dataset collections seen by the DS', async () => {
    const coll = await drive.createFolder('syft_datasetcollection_mock_aaaaaaaaaaaa', doRoot);
    await drive.share(coll.id, DS, 'reader', { sendNotificationEmail: false });
    const seen = await dsDrive.listSharedDatasetCollections();
    expect(seen.map((f) => [f.id, f.owners])).toEqual(expect.arrayContaining([[coll.id, [DO]]]));
    expect(seen.every((f) => f.name.startsWith('syft_datasetcollection_'))).toBe(true);
  });

  it('a file the DS cannot see is a 404 for the DS', async () => {
    const secret = await drive.createFolder('private', doRoot);
    const e = await fails(dsDrive.getFile(secret.id));
    expect(e.status).toBe(404);
  });
});

describe('real-Drive quirks the reference defends against', () => {
  it('puts back a parent Drive dropped on create (#22)', async () => {
    const folder = await drive.createFolder('dropped-parent', doRoot);
    driveState(emu.world).quirks.dropParentsOnCreate = 1;
    emu.world.counters.clear();
    const f = await drive.uploadFile({ name: 'orphan.tar.gz', parentId: folder.id, content: 'x' });
    expect(f.parents).toEqual([folder.id]);
    expect(count('drive.files.update')).toBe(1);
    expect(await drive.getParents(f.id)).toEqual([folder.id]);
    expect((await drive.listFolder(folder.id)).map((x) => x.id)).toEqual([f.id]);
  });

  it('follows partial pages with a nextPageToken to the end', async () => {
    const folder = await drive.createFolder('partial-pages', doRoot);
    await Promise.all(Array.from({ length: 20 }, (_, i) => drive.uploadFile({ name: `p${String(i).padStart(2, '0')}`, parentId: folder.id, content: 'x' })));
    driveState(emu.world).quirks.maxPageItems = 7;
    emu.world.counters.clear();
    const names = (await drive.listFolder(folder.id)).map((f) => f.name);
    expect(names).toEqual(Array.from({ length: 20 }, (_, i) => `p${String(19 - i).padStart(2, '0')}`));
    expect(count('drive.files.list')).toBe(3);
    expect(await drive.findFiles({ parentId: folder.id, name: 'p03' })).toHaveLength(1);
  });
});

describe('drive retries with injected faults', () => {
  it('files.list: two 503s, then success on the third attempt', async () => {
    emu.world.faults.push({ route: 'drive.files.list', status: 503, count: 2 });
    expect((await drive.findSyftBoxRoot())?.id).toBe(doRoot);
    expect(count('drive.files.list')).toBe(3);
  });

  it('429 with Retry-After: 1 waits at least a second', async () => {
    const api = apiFor(DO, { retry: { random: () => 0 } });
    emu.world.faults.push({ route: 'drive.files.list', status: 429, retryAfter: 1 });
    const t0 = Date.now();
    await api.findSyftBoxRoot();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(count('drive.files.list')).toBe(2);
  });

  it('403 rateLimitExceeded is retried, 403 insufficientFilePermissions is not', async () => {
    emu.world.faults.push({ route: 'drive.files.get', status: 403, reason: 'rateLimitExceeded' });
    expect(await drive.getParents(doRoot)).toBeDefined();
    expect(count('drive.files.get')).toBe(2);
    emu.world.counters.clear();
    emu.world.faults.push({ route: 'drive.files.get', status: 403, reason: 'insufficientFilePermissions' });
    const e = await fails(drive.getParents(doRoot));
    expect([e.status, e.reason, e.route, e.attempts]).toEqual([403, 'insufficientFilePermissions', 'drive.files.get', 1]);
    expect(count('drive.files.get')).toBe(1);
  });

  it('a dropped connection on a GET is retried', async () => {
    emu.world.faults.push({ route: 'drive.about.get', drop: true });
    expect(await drive.whoami()).toBe(DO);
    expect(count('drive.about.get')).toBe(2);
  });

  it('files.create is NOT retried after a 500 (it may have created the folder)', async () => {
    emu.world.faults.push({ route: 'drive.files.create', status: 500, reason: 'backendError' });
    const e = await fails(drive.createFolder('once-500', doRoot));
    expect([e.status, e.attempts, e.route]).toEqual([500, 1, 'drive.files.create']);
    expect(count('drive.files.create')).toBe(1);
  });

  it('files.create IS retried after a 429 and creates exactly one folder', async () => {
    emu.world.faults.push({ route: 'drive.files.create', status: 429, reason: 'rateLimitExceeded' });
    const f = await drive.createFolder('once-429', doRoot);
    expect(count('drive.files.create')).toBe(2);
    expect((await drive.findFoldersByExactName('once-429', { parentId: doRoot })).map((x) => x.id)).toEqual([f.id]);
  });

  it('multipart upload: not retried after a 500 or a drop, retried after a 503', async () => {
    const folder = await drive.createFolder('upload-faults', doRoot);
    emu.world.counters.clear();
    emu.world.faults.push({ route: 'drive.upload.create', status: 500 });
    expect((await fails(drive.uploadFile({ name: 'a', parentId: folder.id, content: 'a' }))).status).toBe(500);
    emu.world.faults.push({ route: 'drive.upload.create', drop: true });
    expect((await fails(drive.uploadFile({ name: 'b', parentId: folder.id, content: 'b' }))).status).toBeUndefined();
    expect(count('drive.upload.create')).toBe(2);
    emu.world.faults.push({ route: 'drive.upload.create', status: 503 });
    await drive.uploadFile({ name: 'c', parentId: folder.id, content: 'c' });
    expect(count('drive.upload.create')).toBe(4);
    expect((await drive.listFolder(folder.id)).map((f) => f.name)).toEqual(['c']);
  });

  it('resumable upload survives a failed chunk without duplicating the file', async () => {
    const big = apiFor(DO, { resumableThreshold: 1024, uploadChunkSize: 256 * 1024 });
    const folder = await big.createFolder('resumable-faults', doRoot);
    const data = randomBytes(700 * 1024);
    emu.world.counters.clear();
    emu.world.faults.push({ route: 'drive.upload.resumable', status: 500, count: 1 }, { route: 'drive.upload.resumable', drop: true, count: 1 });
    const f = await big.uploadFile({ name: 'big.bin', parentId: folder.id, content: data });
    expect(Buffer.compare(await big.download(f.id), data)).toBe(0);
    expect((await big.listFolder(folder.id)).map((x) => x.id)).toEqual([f.id]);
  });

  it('an attempt that times out is retried for reads, not for creates (which the server then completes)', async () => {
    const api = apiFor(DO, { retry: { attemptTimeoutMs: 150 } });
    emu.world.faults.push({ route: 'drive.files.list', latencyMs: 400 });
    expect((await api.findSyftBoxRoot())?.id).toBe(doRoot);
    expect(count('drive.files.list')).toBe(2);

    emu.world.faults.push({ route: 'drive.files.create', latencyMs: 400 });
    const e = await fails(api.createFolder('slow-create', doRoot));
    expect([e.status, e.code, e.attempts]).toEqual([undefined, 'TimeoutError', 1]);
    expect(count('drive.files.create')).toBe(1);
    // The server did the work after the client gave up: a blind retry would have made a duplicate.
    await new Promise((r) => setTimeout(r, 400));
    expect(await drive.findFoldersByExactName('slow-create', { parentId: doRoot })).toHaveLength(1);
  });

  it('resumable upload: a chunk processed after the client timed out is not sent twice', async () => {
    const big = apiFor(DO, { resumableThreshold: 1024, uploadChunkSize: 256 * 1024, retry: { attemptTimeoutMs: 150, baseDelayMs: 400, maxDelayMs: 1000, random: () => 0.99 } });
    const folder = await big.createFolder('resumable-timeout', doRoot);
    const data = randomBytes(600 * 1024);
    emu.world.counters.clear();
    emu.world.faults.push({ route: 'drive.upload.resumable', latencyMs: 300 });
    const f = await big.uploadFile({ name: 'slow.bin', parentId: folder.id, content: data });
    expect(Buffer.compare(await big.download(f.id), data)).toBe(0);
    expect((await big.listFolder(folder.id)).map((x) => x.id)).toEqual([f.id]);
    // The timed-out first chunk (processed by the server ~300 ms later), a status query after the ~400 ms backoff
    // (which reports the chunk as received), then chunks 2 and 3.
    expect(count('drive.upload.resumable')).toBe(4);
  });

  it('idempotent updates and deletes are retried after a 500', async () => {
    const folder = await drive.createFolder('update-faults', doRoot);
    const f = await drive.uploadFile({ name: 'x', parentId: folder.id, content: 'x' });
    emu.world.counters.clear();
    emu.world.faults.push({ route: 'drive.files.update', status: 500 });
    await drive.tagSharedWithAny(f.id);
    expect(count('drive.files.update')).toBe(2);
    emu.world.faults.push({ route: 'drive.files.delete', status: 502 });
    expect(await drive.deleteFile(f.id)).toBe(true);
    expect(count('drive.files.delete')).toBe(2);
  });

  it('permissions.create is not retried after a 500, and share() checks whether it was applied', async () => {
    const folder = await drive.createFolder('share-faults', doRoot);
    emu.world.counters.clear();
    emu.world.faults.push({ route: 'drive.permissions.create', status: 500 });
    const e = await fails(drive.share(folder.id, DS, 'reader', { sendNotificationEmail: false }));
    expect(e.status).toBe(500);
    expect(count('drive.permissions.create')).toBe(1);
    expect(count('drive.permissions.list')).toBe(1);
    // 429: retried.
    emu.world.faults.push({ route: 'drive.permissions.create', status: 429 });
    expect((await drive.share(folder.id, DS, 'reader', { sendNotificationEmail: false })).role).toBe('reader');
    expect(count('drive.permissions.create')).toBe(3);
  });

  it('gives up after maxAttempts and keeps tokens out of the error', async () => {
    const api = apiFor(DO, { retry: { maxAttempts: 3 } });
    emu.world.faults.push({ route: 'drive.files.list', status: 503, count: -1 });
    const e = await fails(api.listFolder(doRoot));
    expect([e.status, e.attempts]).toEqual([503, 3]);
    expect(count('drive.files.list')).toBe(3);
    const dump = inspect(e, { depth: 10, showHidden: true });
    for (const t of emu.world.tokens.keys()) expect(dump).not.toContain(t);
  });

  it('a fault on page 2 retries page 2 only', async () => {
    const folder = await drive.createFolder('page-faults', doRoot);
    for (let i = 0; i < 150; i += 30) {
      await Promise.all(Array.from({ length: 30 }, (_, j) => drive.uploadFile({ name: `f${i + j}`, parentId: folder.id, content: 'x' })));
    }
    emu.world.counters.clear();
    const seen: number[] = [];
    let pages = 0;
    for await (const f of drive.iterateFolder(folder.id)) {
      seen.push(Number(f.name.slice(1)));
      if (seen.length === 100 && pages === 0) {
        pages++;
        emu.world.faults.push({ route: 'drive.files.list', status: 500 });
      }
    }
    expect(seen).toHaveLength(150);
    expect(count('drive.files.list')).toBe(3); // page 1, page 2 failed, page 2 again
  }, 30_000);
});
