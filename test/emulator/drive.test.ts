/// <reference types="jest" />
/**
 * Conformance of the emulator's Drive v3 module through the real @googleapis/drive@22 client
 * (google-auth-library + gaxios on Node's fetch), with several users sharing one Drive world.
 */
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import { Readable } from 'node:stream';
import { driveHarness, failure, reason, FOLDER, type Party } from './drive-testkit';
import { driveState } from './drive';

const h = driveHarness();
const DO = 'do@example.org';
const DS = 'ds@example.com';
const EVE = 'eve@example.net';
let doP: Party;
let dsP: Party;
let eve: Party;

beforeEach(() => {
  h.emu.world.reset();
  doP = h.party(DO);
  dsP = h.party(DS);
  eve = h.party(EVE);
});

async function folder(p: Party, name: string, parent?: string): Promise<string> {
  const r = await p.drive.files.create({ requestBody: { name, mimeType: FOLDER, ...(parent ? { parents: [parent] } : {}) }, fields: 'id' }, h.o());
  return r.data.id!;
}

async function file(p: Party, name: string, parent: string | undefined, content: string | Buffer = 'x', mimeType?: string): Promise<string> {
  const r = await p.drive.files.create(
    {
      requestBody: { name, ...(parent ? { parents: [parent] } : {}) },
      media: { ...(mimeType ? { mimeType } : {}), body: typeof content === 'string' ? content : Readable.from([content]) },
      fields: 'id',
    },
    h.o(),
  );
  return r.data.id!;
}

async function names(p: Party, q: string, extra: Record<string, unknown> = {}): Promise<string[]> {
  const r = await p.drive.files.list({ q, fields: 'files(name),nextPageToken', pageSize: 1000, ...extra }, h.o());
  return (r.data.files ?? []).map((f) => f.name!);
}

async function share(owner: Party, fileId: string, email: string, role: string) {
  return owner.drive.permissions.create({ fileId, requestBody: { type: 'user', role, emailAddress: email }, sendNotificationEmail: false }, h.o());
}

describe('about.get', () => {
  test('returns the caller with the requested fields only', async () => {
    const r = await doP.drive.about.get({ fields: 'user(emailAddress)' }, h.o());
    expect(r.data).toEqual({ user: { emailAddress: DO } });
    const r2 = await dsP.drive.about.get({ fields: 'user(displayName,emailAddress,me),kind' }, h.o());
    expect(r2.data).toEqual({ kind: 'drive#about', user: { displayName: 'ds', emailAddress: DS, me: true } });
  });
  test("'fields' is required, unknown fields are rejected", async () => {
    const e = await failure(doP.drive.about.get({}, h.o()));
    expect(e.status).toBe(400);
    expect(e.data.error.errors[0]).toMatchObject({ reason: 'required', location: 'fields' });
    const e2 = await failure(doP.drive.about.get({ fields: 'user(favouriteColour)' }, h.o()));
    expect(e2.status).toBe(400);
    expect(e2.data.error.errors[0]).toMatchObject({ reason: 'invalidParameter', message: 'Invalid field selection user/favouriteColour' });
  });
  test('storage quota counts owned bytes', async () => {
    await file(doP, 'a.bin', undefined, Buffer.alloc(1000));
    const r = await doP.drive.about.get({ fields: 'storageQuota(usage)' }, h.o());
    expect(r.data.storageQuota).toEqual({ usage: '1000' });
  });
});

describe('files.create / files.get metadata', () => {
  test('folder create: default fields, My Drive root parent, root alias', async () => {
    const r = await doP.drive.files.create({ requestBody: { name: 'SyftBox', mimeType: FOLDER } }, h.o());
    expect(r.status).toBe(200);
    expect(Object.keys(r.data).sort()).toEqual(['id', 'kind', 'mimeType', 'name']);
    expect(r.data).toMatchObject({ kind: 'drive#file', name: 'SyftBox', mimeType: FOLDER });
    const root = await doP.drive.files.get({ fileId: 'root', fields: 'id,name,mimeType,parents' }, h.o());
    expect(root.data).toMatchObject({ name: 'My Drive', mimeType: FOLDER });
    expect(root.data.parents).toBeUndefined();
    const g = await doP.drive.files.get({ fileId: r.data.id!, fields: 'parents' }, h.o());
    expect(g.data).toEqual({ parents: [root.data.id] });
    expect(await names(doP, "'root' in parents")).toEqual(['SyftBox']);
  });

  test('metadata of a blob: owners, times, size, md5Checksum, version, appProperties', async () => {
    const before = Date.now();
    const r = await doP.drive.files.create(
      {
        requestBody: { name: 'SYFT_peers.json', appProperties: { k: 'v' } },
        media: { mimeType: 'text/plain', body: '{"peers": []}' },
        fields: 'kind,id,name,mimeType,parents,owners(emailAddress,kind,me,displayName),appProperties,trashed,createdTime,modifiedTime,size,md5Checksum,version',
      },
      h.o(),
    );
    const d = r.data;
    expect(d).toMatchObject({
      kind: 'drive#file',
      name: 'SYFT_peers.json',
      mimeType: 'text/plain',
      owners: [{ emailAddress: DO, kind: 'drive#user', me: true, displayName: 'do' }],
      appProperties: { k: 'v' },
      trashed: false,
      size: '13',
      md5Checksum: crypto.createHash('md5').update('{"peers": []}').digest('hex'),
      version: '1',
    });
    expect(d.createdTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(d.modifiedTime!)).toBeGreaterThanOrEqual(before - 5);
    // another user sees the same owner with me=false
    await share(doP, d.id!, DS, 'reader');
    const seen = await dsP.drive.files.get({ fileId: d.id!, fields: 'owners(me,emailAddress)' }, h.o());
    expect(seen.data.owners).toEqual([{ me: false, emailAddress: DO }]);
  });

  test('mimeType: metadata first, else the media type, else application/octet-stream', async () => {
    const a = await doP.drive.files.create({ requestBody: { name: 'a', mimeType: 'application/json' }, media: { mimeType: 'text/plain', body: '{}' }, fields: 'mimeType' }, h.o());
    expect(a.data.mimeType).toBe('application/json');
    const b = await doP.drive.files.create({ requestBody: { name: 'b' }, media: { mimeType: 'text/plain', body: 'hi' }, fields: 'mimeType' }, h.o());
    expect(b.data.mimeType).toBe('text/plain');
    const c = await doP.drive.files.create({ requestBody: { name: 'c' }, media: { body: Readable.from([Buffer.from([1, 2])]) }, fields: 'mimeType,size' }, h.o());
    expect(c.data).toEqual({ mimeType: 'application/octet-stream', size: '2' });
    const d = await doP.drive.files.create({ requestBody: { name: 'd' }, fields: 'mimeType,size' }, h.o());
    expect(d.data).toEqual({ mimeType: 'application/octet-stream', size: '0' });
    const f = await doP.drive.files.create({ requestBody: { name: 'f', mimeType: FOLDER }, fields: 'mimeType,size,md5Checksum' }, h.o());
    expect(f.data).toEqual({ mimeType: FOLDER });
  });

  test('uploadType=media without metadata is "Untitled"', async () => {
    const r = await doP.drive.files.create({ media: { mimeType: 'text/csv', body: 'a,b\n' }, fields: 'name,mimeType,size' }, h.o());
    expect(r.data).toEqual({ name: 'Untitled', mimeType: 'text/csv', size: '4' });
  });

  test('errors: unknown id, bad parent, several parents, invalid JSON', async () => {
    const e = await failure(doP.drive.files.get({ fileId: 'nope' }, { ...h.o(), retry: false }));
    expect(e.status).toBe(404);
    expect(e.data.error).toMatchObject({ code: 404, message: 'File not found: nope.' });
    expect(e.data.error.errors[0]).toMatchObject({ reason: 'notFound', location: 'fileId', locationType: 'parameter' });
    const e2 = await failure(doP.drive.files.create({ requestBody: { name: 'x', parents: ['missing'] } }, h.o()));
    expect(e2.status).toBe(404);
    expect(e2.data.error.message).toBe('File not found: missing.');
    const a = await folder(doP, 'a');
    const b = await folder(doP, 'b');
    const e3 = await failure(doP.drive.files.create({ requestBody: { name: 'x', parents: [a, b] } }, h.o()));
    expect(e3.status).toBe(403);
    expect(reason(e3.data)).toBe('cannotAddParent');
    const blob = await file(doP, 'blob', undefined);
    const e4 = await failure(doP.drive.files.create({ requestBody: { name: 'x', parents: [blob] } }, h.o()));
    expect(e4.status).toBe(400);
    const raw = await fetch(h.emu.url + 'drive/v3/files', { method: 'POST', headers: { authorization: `Bearer ${doP.token}`, 'content-type': 'application/json' }, body: '{nope' });
    expect(raw.status).toBe(400);
    expect(reason(await raw.json())).toBe('parseError');
  });

  test('uploads to the metadata URL are refused with wrongUrlForUpload', async () => {
    const raw = await fetch(h.emu.url + 'drive/v3/files?uploadType=multipart', { method: 'POST', headers: { authorization: `Bearer ${doP.token}` }, body: '' });
    expect(raw.status).toBe(400);
    const body = (await raw.json()) as any;
    expect(reason(body)).toBe('wrongUrlForUpload');
    expect(body.error.message).toMatch(/^Uploads must be sent to the upload URL/);
  });

  test('fields projection on get: nested, star, invalid', async () => {
    const id = await file(doP, 'x.txt', undefined, 'hello', 'text/plain');
    const r = await doP.drive.files.get({ fileId: id, fields: 'id,owners(emailAddress),capabilities(canEdit)' }, h.o());
    expect(r.data).toEqual({ id, owners: [{ emailAddress: DO }], capabilities: { canEdit: true } });
    const all = await doP.drive.files.get({ fileId: id, fields: '*' }, h.o());
    expect(all.data).toMatchObject({ id, name: 'x.txt', size: '5', fileExtension: 'txt', ownedByMe: true, spaces: ['drive'] });
    const e = await failure(doP.drive.files.get({ fileId: id, fields: 'id,nmae' }, { ...h.o(), retry: false }));
    expect(e.status).toBe(400);
    expect(e.data.error.errors[0]).toMatchObject({ reason: 'invalidParameter', location: 'fields', message: 'Invalid field selection nmae' });
  });

  test('generateIds can be used as file ids once', async () => {
    const g = await doP.drive.files.generateIds({ count: 2 }, h.o());
    expect(g.data.kind).toBe('drive#generatedIds');
    const [id] = g.data.ids!;
    const c = await doP.drive.files.create({ requestBody: { id, name: 'pre' }, fields: 'id' }, h.o());
    expect(c.data.id).toBe(id);
    const e = await failure(doP.drive.files.create({ requestBody: { id: 'made-up-id-123', name: 'x' } }, h.o()));
    expect(e.status).toBe(400);
    expect(reason(e.data)).toBe('fileIdNotUsable');
  });
});

describe('files.list', () => {
  test('paging 250 files with pageSize 100, opaque tokens bound to the query', async () => {
    const dir = await folder(doP, 'many');
    for (let i = 0; i < 250; i++) await doP.drive.files.create({ requestBody: { name: `f${String(i).padStart(3, '0')}`, parents: [dir] }, fields: 'id' }, h.o());
    const q = `'${dir}' in parents and trashed=false`;
    const seen: string[] = [];
    const sizes: number[] = [];
    let pageToken: string | undefined;
    do {
      const r = await doP.drive.files.list({ q, pageSize: 100, pageToken, orderBy: 'name', fields: 'nextPageToken, files(id, name)' }, h.o());
      sizes.push(r.data.files!.length);
      seen.push(...r.data.files!.map((f) => f.name!));
      pageToken = r.data.nextPageToken ?? undefined;
    } while (pageToken);
    expect(sizes).toEqual([100, 100, 50]);
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(250);
    // a token only works with the query that produced it
    const first = await doP.drive.files.list({ q, pageSize: 100, fields: 'nextPageToken' }, h.o());
    const e = await failure(doP.drive.files.list({ q: 'trashed=false', pageToken: first.data.nextPageToken! }, { ...h.o(), retry: false }));
    expect(e.status).toBe(400);
    expect(e.data.error.errors[0]).toMatchObject({ reason: 'invalid', location: 'pageToken' });
    // default page size is 100; without nextPageToken in fields there is none in the answer
    const d = await doP.drive.files.list({ q, fields: 'files(id)' }, h.o());
    expect(d.data.files).toHaveLength(100);
    expect(d.data.nextPageToken).toBeUndefined();
    const big = await doP.drive.files.list({ q, pageSize: 1000, fields: 'files(id),nextPageToken' }, h.o());
    expect(big.data.files).toHaveLength(250);
    expect(big.data.nextPageToken).toBeUndefined();
  });

  test('results reflect every mutation immediately', async () => {
    const dir = await folder(doP, 'dir');
    const q = `'${dir}' in parents and trashed = false`;
    expect(await names(doP, q)).toEqual([]);
    const a = await file(doP, 'a', dir);
    expect(await names(doP, q)).toEqual(['a']);
    await doP.drive.files.update({ fileId: a, requestBody: { name: 'b' } }, h.o());
    expect(await names(doP, q)).toEqual(['b']);
    expect(await names(dsP, q)).toEqual([]);
    await share(doP, dir, DS, 'reader');
    expect(await names(dsP, q)).toEqual(['b']);
    await doP.drive.files.update({ fileId: a, requestBody: { trashed: true } }, h.o());
    expect(await names(doP, q)).toEqual([]);
  });

  test('default response shape and pageSize limits; all-drives parameters accepted', async () => {
    await folder(doP, 'x');
    const all = await doP.drive.files.list(
      { supportsAllDrives: true, includeItemsFromAllDrives: true, spaces: 'drive', corpora: 'user', fields: '', q: "name = 'x'" },
      h.o(),
    );
    expect(all.data.files).toHaveLength(1);
    const r = await doP.drive.files.list({}, h.o());
    expect(r.data).toEqual({ kind: 'drive#fileList', incompleteSearch: false, files: [{ kind: 'drive#file', id: expect.any(String), name: 'x', mimeType: FOLDER }] });
    for (const pageSize of [0, 1001]) {
      const e = await failure(doP.drive.files.list({ pageSize }, { ...h.o(), retry: false }));
      expect(e.status).toBe(400);
      expect(e.data.error.errors[0]).toMatchObject({ reason: 'invalid', location: 'pageSize', message: `Invalid value '${pageSize}'. Values must be within the range: [1, 1000]` });
    }
  });

  test('orderBy: name desc, name, folder, modifiedTime, createdTime, lists; invalid keys rejected', async () => {
    let t = Date.UTC(2026, 0, 1);
    const world = h.emu.world as { now: () => number };
    const realNow = world.now;
    (world as { now: () => number }).now = () => t;
    try {
      const dir = await folder(doP, 'dir');
      t += 1000;
      await file(doP, 'b.txt', dir);
      t += 1000;
      await folder(doP, 'c', dir);
      t += 1000;
      await file(doP, 'A.txt', dir);
      t += 1000;
      const a2 = await file(doP, 'a2.txt', dir);
      t += 1000;
      await doP.drive.files.update({ fileId: a2, requestBody: { description: 'touched' } }, h.o()); // oldest → newest modified
      const q = `'${dir}' in parents`;
      expect(await names(doP, q, { orderBy: 'name desc' })).toEqual(['c', 'b.txt', 'a2.txt', 'A.txt']);
      expect(await names(doP, q, { orderBy: 'name' })).toEqual(['A.txt', 'a2.txt', 'b.txt', 'c']);
      expect(await names(doP, q, { orderBy: 'folder,name' })).toEqual(['c', 'A.txt', 'a2.txt', 'b.txt']);
      expect(await names(doP, q, { orderBy: 'folder desc, name desc' })).toEqual(['b.txt', 'a2.txt', 'A.txt', 'c']);
      expect(await names(doP, q, { orderBy: 'createdTime' })).toEqual(['b.txt', 'c', 'A.txt', 'a2.txt']);
      expect(await names(doP, q, { orderBy: 'modifiedTime desc' })).toEqual(['a2.txt', 'A.txt', 'c', 'b.txt']);
      const e = await failure(doP.drive.files.list({ q, orderBy: 'size' }, { ...h.o(), retry: false }));
      expect(e.status).toBe(400);
      expect(e.data.error.errors[0]).toMatchObject({ reason: 'invalid', location: 'orderBy' });
    } finally {
      world.now = realNow;
    }
  });

  test('invalid queries are 400 "Invalid Value", never silently ignored', async () => {
    for (const q of ["nmae = 'x'", "name = 'x", "name contains 'a' andd trashed = false", 'trashed = maybe', "name = 'a' and (trashed = false"]) {
      const e = await failure(doP.drive.files.list({ q }, { ...h.o(), retry: false }));
      expect(e.status).toBe(400);
      expect(e.data.error).toMatchObject({ code: 400, message: 'Invalid Value' });
      expect(e.data.error.errors[0]).toMatchObject({ reason: 'invalid', location: 'q', locationType: 'parameter' });
    }
  });

  test('or, not, parentheses, escapes, dates, appProperties has, mimeType contains', async () => {
    const dir = await folder(doP, 'dir');
    await file(doP, "it's.txt", dir, 'x', 'text/plain');
    await file(doP, 'back\\slash.bin', dir);
    const tagged = await folder(doP, 'syft_datasetcollection_census_0123456789ab', dir);
    await doP.drive.files.update({ fileId: tagged, requestBody: { appProperties: { syft_shared_with_any: 'true' } } }, h.o());
    const q = `'${dir}' in parents`;
    expect(await names(doP, `${q} and name = 'it\\'s.txt'`)).toEqual(["it's.txt"]);
    expect(await names(doP, `${q} and name = 'back\\\\slash.bin'`)).toEqual(['back\\slash.bin']);
    expect((await names(doP, `${q} and (name = 'it\\'s.txt' or mimeType = '${FOLDER}')`)).sort()).toEqual(["it's.txt", 'syft_datasetcollection_census_0123456789ab']);
    expect(await names(doP, `${q} and not mimeType contains 'vnd.google-apps' and not name contains 'back'`)).toEqual(["it's.txt"]);
    expect(await names(doP, `${q} and appProperties has { key='syft_shared_with_any' and value='true' }`)).toEqual(['syft_datasetcollection_census_0123456789ab']);
    expect(await names(doP, `${q} and appProperties has { key='syft_shared_with_any' and value='false' }`)).toEqual([]);
    expect((await names(doP, `${q} and modifiedTime > '2000-01-01T00:00:00'`)).length).toBe(3);
    expect(await names(doP, `${q} and modifiedTime > '2999-01-01T00:00:00Z'`)).toEqual([]);
    expect(await names(doP, `${q} and createdTime <= '2000-01-01'`)).toEqual([]);
  });

  test('trashed: excluded with trashed=false, listed with trashed=true; trash cascades to descendants', async () => {
    const dir = await folder(doP, 'dir');
    const sub = await folder(doP, 'sub', dir);
    await file(doP, 'deep.txt', sub);
    await share(doP, dir, DS, 'writer');
    await doP.drive.files.update({ fileId: sub, requestBody: { trashed: true } }, h.o());
    expect(await names(doP, 'trashed=false')).toEqual(['dir']);
    expect((await names(doP, 'trashed=true')).sort()).toEqual(['deep.txt', 'sub']);
    const deep = await doP.drive.files.list({ q: "name='deep.txt'", fields: 'files(trashed,explicitlyTrashed)' }, h.o());
    expect(deep.data.files).toEqual([{ trashed: true, explicitlyTrashed: false }]);
    // "other users cannot see files in the owner's trash"
    expect(await names(dsP, 'trashed=true')).toEqual([]);
    expect((await failure(dsP.drive.files.get({ fileId: sub }, { ...h.o(), retry: false }))).status).toBe(404);
    // only the owner may trash
    const x = await file(dsP, 'ds.txt', dir);
    const e = await failure(doP.drive.files.update({ fileId: x, requestBody: { trashed: true } }, h.o()));
    expect(e.status).toBe(403);
    expect(reason(e.data)).toBe('insufficientFilePermissions');
    // untrash restores the subtree
    await doP.drive.files.update({ fileId: sub, requestBody: { trashed: false } }, h.o());
    expect((await names(doP, 'trashed=false')).sort()).toEqual(['deep.txt', 'dir', 'ds.txt', 'sub']);
    // emptyTrash permanently deletes
    await doP.drive.files.update({ fileId: sub, requestBody: { trashed: true } }, h.o());
    await doP.drive.files.emptyTrash({}, h.o());
    expect((await failure(doP.drive.files.get({ fileId: sub }, { ...h.o(), retry: false }))).status).toBe(404);
  });
});

describe('multi-user visibility and roles', () => {
  test("DO shares a folder writer with DS: DS finds it with not 'me' in owners, a third user sees nothing", async () => {
    const box = await folder(doP, 'SyftBox');
    const shared = await folder(doP, 'syft_datasite#0.1.0#ds@example.com#outbox#do@example.org', box);
    const inside = await file(doP, 'msg.tar.gz', shared, 'payload');
    await folder(doP, 'private', box);
    await share(doP, shared, DS, 'writer');

    const q = "name contains 'syft_datasite#' and name contains '#do@example.org' and trashed=false and mimeType = 'application/vnd.google-apps.folder' and not 'me' in owners";
    const r = await dsP.drive.files.list({ q, fields: 'files(id,name,owners(emailAddress))' }, h.o());
    expect(r.data.files).toEqual([{ id: shared, name: 'syft_datasite#0.1.0#ds@example.com#outbox#do@example.org', owners: [{ emailAddress: DO }] }]);
    // inherited access reaches the children; the folder's siblings stay private
    expect(await names(dsP, '')).toEqual(['syft_datasite#0.1.0#ds@example.com#outbox#do@example.org', 'msg.tar.gz']);
    const dl = await dsP.drive.files.get({ fileId: inside, alt: 'media' }, { ...h.o(), responseType: 'text' });
    expect(dl.data).toBe('payload');
    // Eve sees nothing and gets 404 by id
    expect(await names(eve, '')).toEqual([]);
    expect(await names(eve, q)).toEqual([]);
    for (const id of [box, shared, inside]) expect((await failure(eve.drive.files.get({ fileId: id }, { ...h.o(), retry: false }))).status).toBe(404);
    // DO does not find DS-visible items as "not me in owners"
    expect(await names(doP, q)).toEqual([]);
  });

  test('writer may add children and edit, reader may not; only the owner deletes', async () => {
    const dir = await folder(doP, 'dir');
    const doc = await file(doP, 'doc.txt', dir, 'v1');
    await share(doP, dir, DS, 'writer');
    await share(doP, dir, EVE, 'reader');

    // writer: create inside, update metadata and content of DO's file
    const dsFile = await file(dsP, 'from-ds.txt', dir, 'hello');
    await dsP.drive.files.update({ fileId: doc, requestBody: { name: 'doc2.txt' }, media: { mimeType: 'text/plain', body: 'v2' } }, h.o());
    const g = await doP.drive.files.get({ fileId: doc, fields: 'name,version,lastModifyingUser(emailAddress),size' }, h.o());
    expect(g.data).toEqual({ name: 'doc2.txt', version: '2', lastModifyingUser: { emailAddress: DS }, size: '2' });
    // DS owns what DS created; DO (folder owner) sees and can edit it
    const own = await doP.drive.files.get({ fileId: dsFile, fields: 'owners(emailAddress),capabilities(canEdit,canDelete)' }, h.o());
    expect(own.data).toEqual({ owners: [{ emailAddress: DS }], capabilities: { canEdit: true, canDelete: false } });

    // reader: read yes, write no
    expect(await names(eve, `'${dir}' in parents`)).toHaveLength(2);
    for (const call of [
      eve.drive.files.update({ fileId: doc, requestBody: { name: 'hacked' } }, h.o()),
      eve.drive.files.create({ requestBody: { name: 'x', parents: [dir] } }, h.o()),
      eve.drive.files.delete({ fileId: doc }, { ...h.o(), retry: false }),
      eve.drive.permissions.create({ fileId: doc, requestBody: { type: 'user', role: 'reader', emailAddress: DS } }, h.o()),
    ]) {
      const e = await failure(call);
      expect(e.status).toBe(403);
      expect(reason(e.data)).toBe('insufficientFilePermissions');
    }
    // writer cannot delete what it does not own; the owner can
    const e = await failure(dsP.drive.files.delete({ fileId: doc }, { ...h.o(), retry: false }));
    expect(e.status).toBe(403);
    expect(reason(e.data)).toBe('insufficientFilePermissions');
    expect(e.data.error.message).toBe(`The user does not have sufficient permissions for file ${doc}.`);
    await dsP.drive.files.delete({ fileId: dsFile }, h.o());
    const del = await doP.drive.files.delete({ fileId: doc }, h.o());
    expect(del.status).toBe(204);
  });

  test("'anyone' permissions give access by id but not in search", async () => {
    const id = await file(doP, 'public.txt', undefined, 'open');
    await doP.drive.permissions.create({ fileId: id, requestBody: { type: 'anyone', role: 'reader' } }, h.o());
    const g = await eve.drive.files.get({ fileId: id, fields: 'name' }, h.o());
    expect(g.data.name).toBe('public.txt');
    expect(await names(eve, '')).toEqual([]);
    expect(await names(eve, "name = 'public.txt'")).toEqual([]);
    const v = await doP.drive.files.list({ q: "visibility = 'anyoneWithLink'", fields: 'files(name)' }, h.o());
    expect(v.data.files).toEqual([{ name: 'public.txt' }]);
  });

  test("'x' in owners / writers / readers and sharedWithMe", async () => {
    const dir = await folder(doP, 'dir');
    const f = await file(doP, 'f', dir);
    await share(doP, dir, DS, 'writer');
    await share(doP, f, EVE, 'reader');
    expect((await names(dsP, `'${DO}' in owners`)).sort()).toEqual(['dir', 'f']);
    expect(await names(dsP, `'${DS}' in owners`)).toEqual([]);
    expect((await names(doP, `'${DS}' in writers`)).sort()).toEqual(['dir', 'f']);
    expect(await names(doP, `'${EVE}' in readers`)).toEqual(['f']);
    expect(await names(doP, `'${EVE}' in writers`)).toEqual([]);
    expect(await names(dsP, 'sharedWithMe = true')).toEqual(['dir']); // shared directly, not via the folder
    expect(await names(eve, 'sharedWithMe')).toEqual(['f']);
  });
});

describe('files.update', () => {
  test('appProperties merge: set, keep, null deletes', async () => {
    const id = (await doP.drive.files.create({ requestBody: { name: 'x', appProperties: { a: '1', b: '2' } }, fields: 'id' }, h.o())).data.id!;
    const r = await doP.drive.files.update({ fileId: id, requestBody: { appProperties: { b: null, c: '3' } as never }, fields: 'appProperties' }, h.o());
    expect(r.data).toEqual({ appProperties: { a: '1', c: '3' } });
    const r2 = await doP.drive.files.update({ fileId: id, requestBody: { appProperties: { a: null, c: null } as never }, fields: 'appProperties' }, h.o());
    expect(r2.data).toEqual({});
    const e = await failure(doP.drive.files.update({ fileId: id, requestBody: { appProperties: { ['k'.repeat(100)]: 'v'.repeat(30) } } }, h.o()));
    expect(e.status).toBe(400);
  });

  test('move with addParents/removeParents; single-parent rule; parents in the body are not writable', async () => {
    const inbox = await folder(doP, 'inbox');
    const archive = await folder(doP, 'archive');
    const msg = await file(doP, 'msg', inbox);
    const got = await doP.drive.files.get({ fileId: msg, fields: 'parents' }, h.o());
    const moved = await doP.drive.files.update(
      { fileId: msg, addParents: archive, removeParents: got.data.parents!.join(','), fields: 'id, parents', supportsAllDrives: true },
      h.o(),
    );
    expect(moved.data).toEqual({ id: msg, parents: [archive] });
    expect(await names(doP, `'${inbox}' in parents`)).toEqual([]);
    expect(await names(doP, `'${archive}' in parents`)).toEqual(['msg']);

    const e = await failure(doP.drive.files.update({ fileId: msg, addParents: inbox }, h.o()));
    expect(e.status).toBe(403);
    expect(e.data.error).toMatchObject({ message: 'Increasing the number of parents is not allowed' });
    expect(reason(e.data)).toBe('cannotAddParent');

    const e2 = await failure(doP.drive.files.update({ fileId: msg, requestBody: { parents: [inbox] } as never }, h.o()));
    expect(e2.status).toBe(403);
    expect(reason(e2.data)).toBe('fieldNotWritable');

    // removing the only parent puts the item in its owner's My Drive
    const r = await doP.drive.files.update({ fileId: msg, removeParents: archive, fields: 'parents' }, h.o());
    const root = await doP.drive.files.get({ fileId: 'root', fields: 'id' }, h.o());
    expect(r.data.parents).toEqual([root.data.id]);

    // no moving a folder into its own subtree
    const sub = await folder(doP, 'sub', inbox);
    const e3 = await failure(doP.drive.files.update({ fileId: inbox, addParents: sub, removeParents: root.data.id! }, h.o()));
    expect(e3.status).toBe(400);
  });

  test('a parent can be added to an item without one (Drive dropping parents on create)', async () => {
    const inbox = await folder(doP, 'inbox');
    driveState(h.emu.world).quirks.dropParentsOnCreate = 1;
    const c = await doP.drive.files.create({ requestBody: { name: 'msg', parents: [inbox] }, media: { body: 'x' }, fields: 'id, parents' }, h.o());
    expect(c.data.parents).toBeUndefined();
    const fix = await doP.drive.files.update({ fileId: c.data.id!, addParents: inbox, fields: 'id, parents' }, h.o());
    expect(fix.data.parents).toEqual([inbox]);
  });

  test('content replace through uploadType=media and multipart keeps the id and bumps version', async () => {
    const id = await file(doP, 'state.json', undefined, '{"v":1}', 'application/json');
    await doP.drive.files.update({ fileId: id, media: { mimeType: 'application/json', body: '{"v":2}' } }, h.o());
    const r = await doP.drive.files.update({ fileId: id, requestBody: { name: 'state2.json' }, media: { mimeType: 'application/json', body: '{"v":3}' }, fields: 'name,version,size' }, h.o());
    expect(r.data).toEqual({ name: 'state2.json', version: '3', size: '7' });
    const dl = await doP.drive.files.get({ fileId: id, alt: 'media' }, { ...h.o(), responseType: 'text' });
    expect(dl.data).toBe('{"v":3}');
  });
});

describe('files.delete', () => {
  test('cascades to owned descendants; others’ items move to their owner’s My Drive', async () => {
    const top = await folder(doP, 'top');
    const sub = await folder(doP, 'sub', top);
    const a = await file(doP, 'a', sub);
    await share(doP, top, DS, 'writer');
    const dsOwned = await file(dsP, 'ds-file', sub);
    const dsFolder = await folder(dsP, 'ds-folder', top);
    const doInDs = await file(doP, 'do-in-ds-folder', dsFolder);

    await doP.drive.files.delete({ fileId: top }, h.o());
    for (const id of [top, sub, a, doInDs]) expect((await failure(doP.drive.files.get({ fileId: id }, { ...h.o(), retry: false }))).status).toBe(404);
    const dsRoot = (await dsP.drive.files.get({ fileId: 'root', fields: 'id' }, h.o())).data.id;
    for (const id of [dsOwned, dsFolder]) {
      const g = await dsP.drive.files.get({ fileId: id, fields: 'parents,trashed' }, h.o());
      expect(g.data).toEqual({ parents: [dsRoot], trashed: false });
    }
    expect((await names(dsP, '')).sort()).toEqual(['ds-file', 'ds-folder']);
    expect(await names(doP, '')).toEqual([]);
  });
});

describe('uploads', () => {
  const FIVE_MB = 5 * 1024 * 1024;
  const CHUNK = 1024 * 1024; // a multiple of 256 KiB, as Drive requires for non-final chunks
  const ok = (s: number) => s === 200 || s === 308;

  test('resumable upload of 5 MB in chunks with 308 Resume Incomplete, then Range downloads', async () => {
    const dir = await folder(doP, 'dir');
    const data = crypto.randomBytes(FIVE_MB);
    const init = await doP.auth.request({
      url: h.emu.url + 'upload/drive/v3/files',
      method: 'POST',
      params: { uploadType: 'resumable', fields: 'id, parents' },
      headers: { 'X-Upload-Content-Type': 'application/gzip', 'X-Upload-Content-Length': String(FIVE_MB), 'Content-Type': 'application/json; charset=UTF-8' },
      data: { name: 'checkpoint_1.tar.gz', parents: [dir] },
    });
    expect(init.status).toBe(200);
    const loc = (init.headers as unknown as Headers).get('location')!;
    expect(loc).toMatch(/\/upload\/drive\/v3\/files\?.*upload_id=/);

    // nothing received yet: status query answers 308 without Range
    const q0 = await doP.auth.request({ url: loc, method: 'PUT', headers: { 'Content-Range': `bytes */${FIVE_MB}` }, validateStatus: ok });
    expect(q0.status).toBe(308);
    expect((q0.headers as unknown as Headers).get('range')).toBeNull();

    let last: { status: number; data: unknown } | undefined;
    for (let off = 0; off < FIVE_MB; off += CHUNK) {
      const end = Math.min(off + CHUNK, FIVE_MB) - 1;
      const r = await doP.auth.request({
        url: loc,
        method: 'PUT',
        headers: { 'Content-Range': `bytes ${off}-${end}/${end === FIVE_MB - 1 ? FIVE_MB : '*'}` },
        data: data.subarray(off, end + 1),
        validateStatus: ok,
      });
      if (end < FIVE_MB - 1) {
        expect(r.status).toBe(308);
        expect((r.headers as unknown as Headers).get('range')).toBe(`bytes=0-${end}`);
        // a status query in the middle reports the same
        if (off === CHUNK) {
          const q = await doP.auth.request({ url: loc, method: 'PUT', headers: { 'Content-Range': `bytes */${FIVE_MB}` }, validateStatus: ok });
          expect((q.headers as unknown as Headers).get('range')).toBe(`bytes=0-${end}`);
        }
      }
      last = r;
    }
    expect(last!.status).toBe(200);
    const id = (last!.data as { id: string; parents: string[] }).id;
    expect(last!.data).toEqual({ id, parents: [dir] });

    const meta = await doP.drive.files.get({ fileId: id, fields: 'name,mimeType,size,md5Checksum' }, h.o());
    expect(meta.data).toEqual({ name: 'checkpoint_1.tar.gz', mimeType: 'application/gzip', size: String(FIVE_MB), md5Checksum: crypto.createHash('md5').update(data).digest('hex') });

    // Range downloads in 2 MiB pieces (206 + Content-Range), as MediaIoBaseDownload does
    const pieces: Buffer[] = [];
    const RANGE = 2 * 1024 * 1024;
    for (let off = 0; off < FIVE_MB; off += RANGE) {
      const end = Math.min(off + RANGE, FIVE_MB) - 1;
      const r = await doP.drive.files.get({ fileId: id, alt: 'media' }, { ...h.o(), responseType: 'arraybuffer', headers: { Range: `bytes=${off}-${off + RANGE - 1}` } });
      expect(r.status).toBe(206);
      expect((r.headers as Record<string, string>)['content-range']).toBe(`bytes ${off}-${end}/${FIVE_MB}`);
      pieces.push(Buffer.from(r.data as ArrayBuffer));
    }
    expect(Buffer.compare(Buffer.concat(pieces), data)).toBe(0);
    const whole = await doP.drive.files.get({ fileId: id, alt: 'media' }, { ...h.o(), responseType: 'arraybuffer' });
    expect(whole.status).toBe(200);
    expect(Buffer.from(whole.data as ArrayBuffer).equals(data)).toBe(true);
    const tail = await doP.drive.files.get({ fileId: id, alt: 'media' }, { ...h.o(), responseType: 'arraybuffer', headers: { Range: 'bytes=-10' } });
    expect(Buffer.from(tail.data as ArrayBuffer).equals(data.subarray(FIVE_MB - 10))).toBe(true);

    // re-PUT after completion answers with the file again
    const again = await doP.auth.request({ url: loc, method: 'PUT', headers: { 'Content-Range': `bytes */${FIVE_MB}` }, validateStatus: ok });
    expect(again.status).toBe(200);
    expect((again.data as { id: string }).id).toBe(id);
  });

  test('resumable: single PUT, overlapping retry, bad ranges, empty file, unknown session', async () => {
    const start = async (meta: unknown, params: Record<string, string> = {}) => {
      const r = await doP.auth.request({ url: h.emu.url + 'upload/drive/v3/files', method: 'POST', params: { uploadType: 'resumable', ...params }, data: meta });
      return (r.headers as unknown as Headers).get('location')!;
    };
    const put = (url: string, data: Buffer | undefined, range?: string) =>
      fetch(url, { method: 'PUT', headers: range ? { 'content-range': range } : {}, body: data });

    const one = await put(await start({ name: 'one.txt' }, { fields: 'name,size' }), Buffer.from('hello'));
    expect(one.status).toBe(200);
    expect(await one.json()).toEqual({ name: 'one.txt', size: '5' });

    const loc = await start({ name: 'retry.bin' }, { fields: 'size,md5Checksum' });
    expect((await put(loc, Buffer.from('abcd'), 'bytes 0-3/*')).status).toBe(308);
    // a retried chunk overlapping bytes already received
    const r = await put(loc, Buffer.from('cdef'), 'bytes 2-5/*');
    expect(r.status).toBe(308);
    expect(r.headers.get('range')).toBe('bytes=0-5');
    expect((await put(loc, Buffer.from('zz'), 'bytes 9-10/11')).status).toBe(400); // gap
    expect((await put(loc, Buffer.from('zz'), 'bytes 6-8/9')).status).toBe(400); // length mismatch
    const done = await put(loc, Buffer.from('gh'), 'bytes 6-7/8');
    expect(done.status).toBe(200);
    expect(await done.json()).toEqual({ size: '8', md5Checksum: crypto.createHash('md5').update('abcdefgh').digest('hex') });

    const empty = await put(await start({ name: 'empty' }, { fields: 'size' }), undefined, 'bytes */0');
    expect(empty.status).toBe(200);
    expect(await empty.json()).toEqual({ size: '0' });

    const bogus = await put(h.emu.url + 'upload/drive/v3/files?uploadType=resumable&upload_id=nope', Buffer.from('x'));
    expect(bogus.status).toBe(404);

    // metadata errors surface at initiation
    const e = await failure(doP.auth.request({ url: h.emu.url + 'upload/drive/v3/files', method: 'POST', params: { uploadType: 'resumable' }, data: { name: 'x', parents: ['missing'] } }));
    expect(e.status).toBe(404);
  });

  test('resumable content replace on /upload/drive/v3/files/{id} (PATCH), like rolling-state updates', async () => {
    const id = await file(doP, 'rolling_state_1.tar.gz', undefined, 'old', 'application/octet-stream');
    const init = await doP.auth.request({ url: h.emu.url + `upload/drive/v3/files/${id}`, method: 'PATCH', params: { uploadType: 'resumable' }, data: {} });
    const loc = (init.headers as unknown as Headers).get('location')!;
    expect(loc).toContain(`/upload/drive/v3/files/${id}?`);
    const put = await fetch(loc, { method: 'PUT', body: 'new content' });
    expect(put.status).toBe(200);
    const dl = await doP.drive.files.get({ fileId: id, alt: 'media' }, { ...h.o(), responseType: 'text' });
    expect(dl.data).toBe('new content');
    const g = await doP.drive.files.get({ fileId: id, fields: 'name,version' }, h.o());
    expect(g.data).toEqual({ name: 'rolling_state_1.tar.gz', version: '2' });
    // a reader cannot start one
    await share(doP, id, DS, 'reader');
    const e = await failure(dsP.auth.request({ url: h.emu.url + `upload/drive/v3/files/${id}`, method: 'PATCH', params: { uploadType: 'resumable' }, data: {} }));
    expect(e.status).toBe(403);
  });

  test('downloads: 416 for an empty file, fileNotDownloadable for folders', async () => {
    const id = await file(doP, 'empty', undefined, '');
    const e = await failure(doP.drive.files.get({ fileId: id, alt: 'media' }, { ...h.o(), retry: false, headers: { Range: 'bytes=0-10485759' } }));
    expect(e.status).toBe(416);
    const raw = await fetch(h.emu.url + `drive/v3/files/${id}?alt=media`, { headers: { authorization: `Bearer ${doP.token}`, range: 'bytes=0-99' } });
    expect(raw.headers.get('content-range')).toBe('bytes */0');
    const plain = await doP.drive.files.get({ fileId: id, alt: 'media' }, { ...h.o(), responseType: 'text' });
    expect(plain.status).toBe(200);
    expect(plain.data).toBe('');
    const dir = await folder(doP, 'dir');
    const e2 = await failure(doP.drive.files.get({ fileId: dir, alt: 'media' }, { ...h.o(), retry: false }));
    expect(e2.status).toBe(403);
    expect(reason(e2.data)).toBe('fileNotDownloadable');
  });
});

describe('permissions', () => {
  test('create and list with fields; inherited permissions show on children', async () => {
    const dir = await folder(doP, 'dir');
    const child = await file(doP, 'child', dir);
    const p = await doP.drive.permissions.create({ fileId: dir, requestBody: { type: 'user', role: 'writer', emailAddress: DS }, sendNotificationEmail: true }, h.o());
    expect(p.data).toEqual({ kind: 'drive#permission', id: expect.stringMatching(/^\d{20}$/), type: 'user', role: 'writer' });
    const l = await doP.drive.permissions.list({ fileId: dir, fields: 'permissions(emailAddress)' }, h.o());
    expect(l.data.permissions).toEqual([{ emailAddress: DO }, { emailAddress: DS }]);
    const dl = await doP.drive.permissions.list({ fileId: dir }, h.o());
    expect(dl.data).toEqual({
      kind: 'drive#permissionList',
      permissions: [
        { kind: 'drive#permission', id: expect.any(String), type: 'user', role: 'owner' },
        { kind: 'drive#permission', id: p.data.id, type: 'user', role: 'writer' },
      ],
    });
    const c = await doP.drive.permissions.list({ fileId: child, fields: 'permissions(emailAddress,role,permissionDetails(inherited))' }, h.o());
    expect(c.data.permissions).toEqual([
      { emailAddress: DO, role: 'owner', permissionDetails: [{ inherited: false }] },
      { emailAddress: DS, role: 'writer', permissionDetails: [{ inherited: true }] },
    ]);
    expect(driveState(h.emu.world).notifications).toEqual([{ to: DS, from: DO, fileId: dir, role: 'writer', message: undefined }]);
    // sharing again changes the role instead of duplicating
    await share(doP, dir, DS, 'reader');
    const l2 = await doP.drive.permissions.list({ fileId: dir, fields: 'permissions(emailAddress,role)' }, h.o());
    expect(l2.data.permissions).toEqual([{ emailAddress: DO, role: 'owner' }, { emailAddress: DS, role: 'reader' }]);
  });

  test('validation: required fields, owner transfer, unknown accounts without notification', async () => {
    const id = await file(doP, 'x', undefined);
    const e1 = await failure(doP.drive.permissions.create({ fileId: id, requestBody: { type: 'user', emailAddress: DS } }, h.o()));
    expect(e1.status).toBe(400);
    expect(reason(e1.data)).toBe('required');
    const e2 = await failure(doP.drive.permissions.create({ fileId: id, requestBody: { type: 'team', role: 'reader' } }, h.o()));
    expect(e2.status).toBe(400);
    const e3 = await failure(doP.drive.permissions.create({ fileId: id, requestBody: { type: 'user', role: 'owner', emailAddress: DS } }, h.o()));
    expect(e3.status).toBe(403);
    expect(e3.data.error.message).toBe("The transferOwnership parameter must be enabled when the permission role is 'owner'.");
    const e4 = await failure(
      doP.drive.permissions.create({ fileId: id, requestBody: { type: 'user', role: 'reader', emailAddress: 'nobody@nowhere.test' }, sendNotificationEmail: false }, h.o()),
    );
    expect(e4.status).toBe(400);
    expect(reason(e4.data)).toBe('invalidSharingRequest');
    // with a notification Drive invites the address
    await doP.drive.permissions.create({ fileId: id, requestBody: { type: 'user', role: 'reader', emailAddress: 'nobody@nowhere.test' } }, h.o());
    // ownership transfer
    await doP.drive.permissions.create({ fileId: id, requestBody: { type: 'user', role: 'owner', emailAddress: DS }, transferOwnership: true }, h.o());
    const g = await dsP.drive.files.get({ fileId: id, fields: 'owners(emailAddress),ownedByMe' }, h.o());
    expect(g.data).toEqual({ owners: [{ emailAddress: DS }], ownedByMe: true });
    const e5 = await failure(doP.drive.files.delete({ fileId: id }, { ...h.o(), retry: false }));
    expect(e5.status).toBe(403);
  });

  test('get, update and delete a permission; revoking removes access', async () => {
    const dir = await folder(doP, 'dir');
    const p = await share(doP, dir, DS, 'reader');
    const g = await doP.drive.permissions.get({ fileId: dir, permissionId: p.data.id!, fields: 'role,emailAddress' }, h.o());
    expect(g.data).toEqual({ role: 'reader', emailAddress: DS });
    await doP.drive.permissions.update({ fileId: dir, permissionId: p.data.id!, requestBody: { role: 'writer' } }, h.o());
    await file(dsP, 'now-allowed', dir);
    await doP.drive.permissions.delete({ fileId: dir, permissionId: p.data.id! }, h.o());
    expect((await failure(dsP.drive.files.get({ fileId: dir }, { ...h.o(), retry: false }))).status).toBe(404);
    expect(await names(dsP, '')).toEqual(['now-allowed']); // DS still owns its file
  });
});

describe('changes', () => {
  test('per-user change feeds after operations by two users', async () => {
    const dsStart = (await dsP.drive.changes.getStartPageToken({}, h.o())).data.startPageToken!;
    const doStart = (await doP.drive.changes.getStartPageToken({}, h.o())).data;
    expect(doStart).toEqual({ kind: 'drive#startPageToken', startPageToken: dsStart });

    const shared = await folder(doP, 'shared'); // 1: DO only
    const pid = (await share(doP, shared, DS, 'writer')).data.id!; // 2: DS gains the folder
    const x = await file(dsP, 'x.txt', shared); // 3: both
    await doP.drive.files.update({ fileId: x, requestBody: { name: 'x2.txt' } }, h.o()); // 4: both (supersedes 3)
    const priv = await file(doP, 'private.txt', undefined); // 5: DO only
    await dsP.drive.files.delete({ fileId: x }, h.o()); // 6: both, removed
    await doP.drive.permissions.delete({ fileId: shared, permissionId: pid }, h.o()); // 7: DS loses the folder

    const feed = async (p: Party, pageToken: string, extra: Record<string, unknown> = {}) =>
      (await p.drive.changes.list({ pageToken, fields: 'newStartPageToken,nextPageToken,changes(fileId,removed,time,file(id,name))', ...extra }, h.o())).data;

    const ds = await feed(dsP, dsStart);
    expect(ds.changes!.map((c) => [c.fileId, c.removed])).toEqual([
      [x, true],
      [shared, true],
    ]);
    expect(ds.nextPageToken).toBeUndefined();
    expect(ds.newStartPageToken).toBe(String(Number(dsStart) + 7));

    const d = await feed(doP, doStart.startPageToken!);
    expect(d.changes!.map((c) => [c.fileId, c.removed, c.file?.name])).toEqual([
      [priv, false, 'private.txt'],
      [x, true, undefined],
      [shared, false, 'shared'],
    ]);
    expect(d.changes![0]!.time).toMatch(/Z$/);

    expect((await feed(doP, doStart.startPageToken!, { includeRemoved: false })).changes!.map((c) => c.fileId)).toEqual([priv, shared]);
    expect((await feed(dsP, dsStart, { includeRemoved: false })).changes).toEqual([]);

    // Eve sees nothing at all
    expect((await feed(eve, dsStart)).changes).toEqual([]);

    // paging: follow nextPageToken until newStartPageToken
    const got: string[] = [];
    let token = doStart.startPageToken!;
    let pages = 0;
    for (;;) {
      const page = await feed(doP, token, { pageSize: 1 });
      pages++;
      got.push(...page.changes!.map((c) => c.fileId!));
      if (page.nextPageToken) token = page.nextPageToken;
      else {
        expect(page.newStartPageToken).toBe(d.newStartPageToken);
        break;
      }
    }
    expect(got).toEqual([priv, x, shared]);
    expect(pages).toBe(3);

    // nothing new since newStartPageToken
    const after = await feed(doP, d.newStartPageToken!);
    expect(after).toEqual({ newStartPageToken: d.newStartPageToken, changes: [] });
    await doP.drive.files.update({ fileId: priv, requestBody: { description: 'edited' } }, h.o());
    expect((await feed(doP, d.newStartPageToken!)).changes!.map((c) => c.fileId)).toEqual([priv]);
    expect((await feed(dsP, d.newStartPageToken!)).changes).toEqual([]);
  });

  test('default change fields and token validation', async () => {
    const t = (await doP.drive.changes.getStartPageToken({}, h.o())).data.startPageToken!;
    const id = await folder(doP, 'f');
    const r = await doP.drive.changes.list({ pageToken: t }, h.o());
    expect(r.data).toEqual({
      kind: 'drive#changeList',
      newStartPageToken: String(Number(t) + 1),
      changes: [{ kind: 'drive#change', type: 'file', changeType: 'file', time: expect.any(String), removed: false, fileId: id, file: { kind: 'drive#file', id, name: 'f', mimeType: FOLDER } }],
    });
    for (const pageToken of ['abc', '999999']) {
      const e = await failure(doP.drive.changes.list({ pageToken }, { ...h.o(), retry: false }));
      expect(e.status).toBe(400);
      expect(e.data.error.errors[0]).toMatchObject({ location: 'pageToken' });
    }
  });

  test('sharing a folder reports its existing contents to the new reader', async () => {
    const dir = await folder(doP, 'dir');
    const inner = await file(doP, 'inner', dir);
    const t = (await dsP.drive.changes.getStartPageToken({}, h.o())).data.startPageToken!;
    await share(doP, dir, DS, 'reader');
    const r = await dsP.drive.changes.list({ pageToken: t, fields: 'changes(fileId,removed)' }, h.o());
    expect(r.data.changes).toEqual([
      { fileId: dir, removed: false },
      { fileId: inner, removed: false },
    ]);
  });
});

describe('fault injection, counters, scopes, quirks', () => {
  test('a 503 on files.list reaches the caller and is used up; the next call succeeds; both are counted', async () => {
    // The clients of lib/google/clients.ts never retry by themselves (lib/google/retry.ts is the one retry layer).
    h.emu.world.faults.push({ route: 'drive.files.list', status: 503 });
    const e = await failure(doP.drive.files.list({}, h.o()));
    expect(e.status).toBe(503);
    expect(reason(e.data)).toBe('backendError');
    expect(h.emu.world.counters.get('drive.files.list')).toBe(1);

    h.emu.world.faults.push({ route: 'drive.files.list', status: 503, count: 2 });
    expect((await failure(doP.drive.files.list({}, h.o()))).status).toBe(503);
    expect((await failure(doP.drive.files.list({}, h.o()))).status).toBe(503);
    const r = await doP.drive.files.list({}, h.o());
    expect(r.status).toBe(200);
    expect(h.emu.world.counters.get('drive.files.list')).toBe(4);
    expect(h.emu.world.faults).toEqual([]);

    // POSTs are not retried by gaxios: a rate limit on create surfaces
    h.emu.world.faults.push({ route: 'drive.upload.create', status: 429, count: 1 });
    const e2 = await failure(doP.drive.files.create({ requestBody: { name: 'x' }, media: { body: 'y' } }, h.o()));
    expect(e2.status).toBe(429);
    expect(reason(e2.data)).toBe('rateLimitExceeded');
  });

  test('request counters per route key', async () => {
    h.emu.world.counters.clear();
    const dir = await folder(doP, 'dir');
    await file(doP, 'a', dir);
    await doP.drive.files.list({ q: `'${dir}' in parents` }, h.o());
    await doP.drive.files.get({ fileId: dir }, h.o());
    await doP.drive.files.update({ fileId: dir, requestBody: { name: 'd2' } }, h.o());
    await doP.drive.permissions.list({ fileId: dir }, h.o());
    expect(Object.fromEntries(h.emu.world.counters)).toEqual({
      'drive.files.create': 1,
      'drive.upload.create': 1,
      'drive.files.list': 1,
      'drive.files.get': 1,
      'drive.files.update': 1,
      'drive.permissions.list': 1,
    });
  });

  test('scopes: a Gmail-only token gets 403 insufficientPermissions; readonly cannot write', async () => {
    const mail = h.party('mail@example.org', ['https://www.googleapis.com/auth/gmail.modify']);
    const e = await failure(mail.drive.files.list({}, { ...h.o(), retry: false }));
    expect(e.status).toBe(403);
    expect(reason(e.data)).toBe('insufficientPermissions');
    const ro = h.party('ro@example.org', ['https://www.googleapis.com/auth/drive.readonly']);
    expect((await ro.drive.files.list({}, h.o())).status).toBe(200);
    expect((await failure(ro.drive.files.create({ requestBody: { name: 'x' } }, h.o()))).status).toBe(403);
    const meta = h.party('meta@example.org', ['https://www.googleapis.com/auth/drive.metadata.readonly']);
    const id = await file(doP, 'f', undefined);
    await share(doP, id, 'meta@example.org', 'reader');
    expect((await meta.drive.files.get({ fileId: id }, h.o())).status).toBe(200);
    expect((await failure(meta.drive.files.get({ fileId: id, alt: 'media' }, { ...h.o(), retry: false }))).status).toBe(403);
  });

  test('quirks: partial pages and listing lag', async () => {
    const dir = await folder(doP, 'dir');
    for (let i = 0; i < 5; i++) await file(doP, `f${i}`, dir);
    const store = driveState(h.emu.world);
    store.quirks.maxPageItems = 2;
    const r = await doP.drive.files.list({ q: `'${dir}' in parents`, pageSize: 100, fields: 'files(name),nextPageToken' }, h.o());
    expect(r.data.files).toHaveLength(2);
    expect(r.data.nextPageToken).toBeDefined();
    store.quirks = { listLagMs: 60_000 };
    await file(doP, 'fresh', dir);
    expect(await names(doP, "name = 'fresh'")).toEqual([]);
    await doP.drive.files.get({ fileId: 'root' }, h.o()); // still reachable by id
  });
});

describe('batch', () => {
  const batchBody = (boundary: string, parts: string[], eol = '\r\n') =>
    parts.map((p, i) => `--${boundary}${eol}Content-Type: application/http${eol}Content-ID: <req${i}+${i}>${eol}${eol}${p}`).join(eol) + `${eol}--${boundary}--${eol}`;

  test('multipart/mixed with deletes, gets and permission creates; per-part status and Content-ID', async () => {
    const ids = [await file(doP, 'a', undefined), await file(doP, 'b', undefined)];
    h.emu.world.counters.clear();
    const boundary = 'batch_foobarbaz';
    const body = batchBody(boundary, [
      `DELETE /drive/v3/files/${ids[0]} HTTP/1.1\r\n`,
      `GET /drive/v3/files/${ids[1]}?fields=name HTTP/1.1\r\n`,
      `POST /drive/v3/files/${ids[1]}/permissions?sendNotificationEmail=false&fields=role HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{"type":"user","role":"reader","emailAddress":"${DS}"}`,
      `DELETE /drive/v3/files/does-not-exist HTTP/1.1\r\n`,
    ]);
    const r = await fetch(h.emu.url + 'batch/drive/v3', {
      method: 'POST',
      headers: { authorization: `Bearer ${doP.token}`, 'content-type': `multipart/mixed; boundary=${boundary}` },
      body,
    });
    expect(r.status).toBe(200);
    const rb = /boundary=(\S+)/.exec(r.headers.get('content-type')!)![1]!;
    const text = await r.text();
    const parts = text.split(`--${rb}`).slice(1, -1);
    expect(parts).toHaveLength(4);
    expect(parts.map((p) => /Content-ID: (<[^>]+>)/.exec(p)![1])).toEqual(['<response-req0+0>', '<response-req1+1>', '<response-req2+2>', '<response-req3+3>']);
    expect(parts.map((p) => Number(/HTTP\/1\.1 (\d+) \w/.exec(p)![1]))).toEqual([204, 200, 200, 404]);
    expect(parts[1]).toContain('{"name":"b"}');
    expect(parts[2]).toContain('{"role":"reader"}');
    expect((await failure(doP.drive.files.get({ fileId: ids[0]! }, { ...h.o(), retry: false }))).status).toBe(404);
    expect((await dsP.drive.files.get({ fileId: ids[1]!, fields: 'name' }, h.o())).data.name).toBe('b');
    expect(Object.fromEntries(h.emu.world.counters)).toMatchObject({ 'drive.batch': 1, 'drive.files.delete': 2, 'drive.files.get': 3, 'drive.permissions.create': 1 });
  });

  test('Python-style parts with LF line endings and per-part Authorization', async () => {
    const id = await file(dsP, 'ds-file', undefined);
    const boundary = '===============7330845974216740156==';
    const body = batchBody(
      boundary,
      [`DELETE /drive/v3/files/${id}?alt=json HTTP/1.1\nContent-Type: application/json\nMIME-Version: 1.0\nauthorization: Bearer ${dsP.token}\ncontent-length: 0\nhost: www.googleapis.com\n\n`],
      '\n',
    );
    const r = await fetch(h.emu.url + 'batch/drive/v3', {
      method: 'POST',
      headers: { authorization: `Bearer ${doP.token}`, 'content-type': `multipart/mixed; boundary="${boundary}"` },
      body,
    });
    const text = await r.text();
    expect(text).toMatch(/HTTP\/1\.1 204 No Content/);
    expect((await failure(dsP.drive.files.get({ fileId: id }, { ...h.o(), retry: false }))).status).toBe(404);
  });
});

describe('performance', () => {
  test('serves well over 1,000 small requests per second', async () => {
    const dir = await folder(doP, 'dir');
    for (let i = 0; i < 50; i++) await file(doP, `f${i}`, dir);
    for (let i = 0; i < 500; i++) h.emu.world.addUser(`u${i}@example.org`); // unrelated users don't slow anything down
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const path = `/drive/v3/files?q=${encodeURIComponent(`'${dir}' in parents and trashed=false`)}&fields=${encodeURIComponent('files(id,name),nextPageToken')}&pageSize=20`;
    const get = () =>
      new Promise<number>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port: h.emu.port, path, agent, headers: { authorization: `Bearer ${doP.token}` } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        });
        req.on('error', reject);
      });
    const N = 2000;
    const t0 = performance.now();
    let next = 0;
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < N) {
          next++;
          statuses.push(await get());
        }
      }),
    );
    const rate = N / ((performance.now() - t0) / 1000);
    agent.destroy();
    expect(statuses.every((s) => s === 200)).toBe(true);
    // The target is 1,000 req/s on 2 cores; this runs next to other jest workers, so it asserts half of that.
    expect(rate).toBeGreaterThan(500);
  });
});
