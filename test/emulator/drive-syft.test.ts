/// <reference types="jest" />
/**
 * The exact Drive calls syft-client makes (syftbox-protocol.md §3.8 #1–#28), replayed through @googleapis/drive
 * against a DO/DS SyftBox layout (§3.1) built in the emulator.
 */
import { driveHarness, FOLDER, type Party } from './drive-testkit';

const h = driveHarness();
const V = '0.1.0';
const DO = 'do@example.org';
const DS = 'ds@example.com';
const OTHER = 'dan@example.org';

type Key =
  | 'doBox'
  | 'doLog'
  | 'peers'
  | 'version'
  | 'archive'
  | 'checkpoints'
  | 'rolling'
  | 'rollingFile'
  | 'dataset'
  | 'private'
  | 'bundles'
  | 'bundle'
  | 'dsBox'
  | 'inbox'
  | 'outbox'
  | 'otherBox'
  | 'otherInbox';

interface World {
  doP: Party;
  dsP: Party;
  other: Party;
  ids: Record<Key, string> & Record<string, string>;
}

async function mk(p: Party, name: string, parent: string | undefined, extra: { mimeType?: string; appProperties?: Record<string, string>; content?: string } = {}) {
  const requestBody = { name, ...(parent ? { parents: [parent] } : {}), ...(extra.mimeType ? { mimeType: extra.mimeType } : {}), ...(extra.appProperties ? { appProperties: extra.appProperties } : {}) };
  const r =
    extra.content !== undefined
      ? await p.drive.files.create({ requestBody, media: { mimeType: 'application/octet-stream', body: extra.content }, fields: 'id' }, h.o())
      : await p.drive.files.create({ requestBody, fields: 'id' }, h.o());
  return r.data.id!;
}

const folder = (p: Party, name: string, parent?: string) => mk(p, name, parent, { mimeType: FOLDER });

async function shareWith(p: Party, fileId: string, email: string, role: 'reader' | 'writer') {
  // §3.8 #28: POST .../permissions?sendNotificationEmail=true
  await p.drive.permissions.create({ fileId, requestBody: { type: 'user', role, emailAddress: email }, sendNotificationEmail: true }, h.o());
}

let w: World;

beforeEach(async () => {
  h.emu.world.reset();
  const doP = h.party(DO);
  const dsP = h.party(DS);
  const other = h.party(OTHER);
  const ids = {} as World['ids'];
  // DO side (§3.1)
  ids.doBox = await folder(doP, 'SyftBox');
  ids.doLog = await folder(doP, `${V}#${DO}`, ids.doBox);
  ids.peers = await mk(doP, 'SYFT_peers.json', ids.doBox, { content: '{}' });
  ids.version = await mk(doP, 'SYFT_version.json', ids.doBox, { content: '{"version":"0.1.0"}' });
  await shareWith(doP, ids.version, DS, 'reader');
  ids.archive = await folder(doP, `syft_${DS}_to_${DO}_archive`, ids.doBox);
  ids.checkpoints = await folder(doP, `${DO}-${V}-checkpoints`, ids.doBox);
  for (const n of ['checkpoint_1795632149.1.tar.gz', 'incremental_checkpoint_1_1795632150.2.tar.gz', 'incremental_checkpoint_2_1795632151.3.tar.gz'])
    ids[n] = await mk(doP, n, ids.checkpoints, { content: n });
  ids.rolling = await folder(doP, `${DO}-${V}-rolling-state`, ids.doBox);
  ids.rollingFile = await mk(doP, 'rolling_state_1795632152.4.tar.gz', ids.rolling, { content: 'rs' });
  ids.dataset = await folder(doP, 'syft_datasetcollection_census_0123456789ab', ids.doBox);
  await doP.drive.files.update({ fileId: ids.dataset, requestBody: { appProperties: { syft_shared_with_any: 'true' } } }, h.o()); // #23
  await shareWith(doP, ids.dataset, DS, 'reader');
  ids.private = await folder(doP, 'syft_privatecollection_census_0123456789ab', ids.doBox);
  ids.bundles = await folder(doP, `syft_encryption_bundles#${DO}`, ids.doBox);
  ids.bundle = await mk(doP, `encryption_bundle_${DO}_for_${DS}.json`, ids.bundles, { content: '{}' });
  await shareWith(doP, ids.bundle, DS, 'reader');
  // DS side: inbox/outbox to the DO, shared writer (§2.1)
  ids.dsBox = await folder(dsP, 'SyftBox');
  ids.inbox = await folder(dsP, `syft_datasite#${V}#${DO}#inbox#${DS}`, ids.dsBox);
  ids.outbox = await folder(dsP, `syft_datasite#${V}#${DO}#outbox#${DS}`, ids.dsBox);
  await shareWith(dsP, ids.inbox, DO, 'writer');
  await shareWith(dsP, ids.outbox, DO, 'writer');
  // noise: another peer whose folders must not match the DO's queries
  ids.otherBox = await folder(other, 'SyftBox');
  ids.otherInbox = await folder(other, `syft_datasite#${V}#${OTHER}#inbox#${DS}`, ids.otherBox);
  await shareWith(other, ids.otherInbox, DS, 'writer');
  w = { doP, dsP, other, ids };
});

async function list(p: Party, params: Record<string, unknown>) {
  return (await p.drive.files.list(params, h.o())).data;
}

test('#1 about.get user(emailAddress)', async () => {
  expect((await w.doP.drive.about.get({ fields: 'user(emailAddress)' }, h.o())).data).toEqual({ user: { emailAddress: DO } });
});

test('#2 find the SyftBox root', async () => {
  const d = await list(w.doP, { q: "name='SyftBox' and mimeType='application/vnd.google-apps.folder' and 'me' in owners and trashed=false", fields: 'files(id, name)' });
  expect(d).toEqual({ files: [{ id: w.ids.doBox, name: 'SyftBox' }] });
  const ds = await list(w.dsP, { q: "name='SyftBox' and mimeType='application/vnd.google-apps.folder' and 'me' in owners and trashed=false", fields: 'files(id, name)' });
  expect(ds.files).toEqual([{ id: w.ids.dsBox, name: 'SyftBox' }]);
});

test('#3/#4 personal event-log folder via the generic folder search', async () => {
  const q = `mimeType='application/vnd.google-apps.folder' and trashed=false and name contains '#${DO}' and '${w.ids.doBox}' in parents and '${DO}' in owners`;
  const d = await list(w.doP, { q, fields: 'files(id, name), nextPageToken' });
  // Drive's token-prefix matching returns every folder whose name has the tokens do/example/org; syft-client keeps
  // the names with exactly one '#'.
  const names = d.files!.map((f) => f.name!).sort();
  expect(names).toEqual([
    `${V}#${DO}`,
    `${DO}-${V}-checkpoints`,
    `${DO}-${V}-rolling-state`,
    `syft_${DS}_to_${DO}_archive`,
    `syft_encryption_bundles#${DO}`,
  ]);
  expect(names.filter((n) => n.split('#').length === 2 && n.startsWith(V))).toEqual([`${V}#${DO}`]);
  expect(d.nextPageToken).toBeUndefined();
});

test('#5 p2p folder lookup by the DO (owner = DS)', async () => {
  const q = `mimeType='application/vnd.google-apps.folder' and trashed=false and name contains 'syft_datasite#' and name contains '#${DO}#inbox#${DS}' and '${DS}' in owners`;
  const d = await list(w.doP, { q, fields: 'files(id, name), nextPageToken' });
  expect(d.files).toEqual([{ id: w.ids.inbox, name: `syft_datasite#${V}#${DO}#inbox#${DS}` }]);
});

test('#6 peer requests: folders shared with me, any page size, default fields', async () => {
  const q = `name contains 'syft_datasite#' and name contains '#${DO}#' and trashed=false and mimeType = 'application/vnd.google-apps.folder' and not 'me' in owners`;
  const d = await list(w.doP, { q });
  expect(d.kind).toBe('drive#fileList');
  expect(d.files!.map((f) => f.name).sort()).toEqual([`syft_datasite#${V}#${DO}#inbox#${DS}`, `syft_datasite#${V}#${DO}#outbox#${DS}`]);
  expect(Object.keys(d.files![0]!).sort()).toEqual(['id', 'kind', 'mimeType', 'name']);
  // the DS sees the folder the other peer shared with it, not its own folders; "#ds@example.com#" matches by tokens
  // although the DS address ends that name
  const ds = await list(w.dsP, { q: `name contains 'syft_datasite#' and name contains '#${DS}#' and trashed=false and mimeType = 'application/vnd.google-apps.folder' and not 'me' in owners`, fields: 'files(id)' });
  expect(ds.files).toEqual([{ id: w.ids.otherInbox }]);
  // the third user sees nothing of the DO/DS exchange
  const o = await list(w.other, { q: `name contains 'syft_datasite#' and name contains '#${DO}#' and trashed=false and mimeType = 'application/vnd.google-apps.folder' and not 'me' in owners` });
  expect(o.files).toEqual([]);
});

test('#7 SYFT_peers.json / SYFT_version.json ids in the root', async () => {
  for (const [name, id] of [
    ['SYFT_peers.json', w.ids.peers],
    ['SYFT_version.json', w.ids.version],
  ] as const) {
    const d = await list(w.doP, { q: `name='${name}' and '${w.ids.doBox}' in parents and trashed=false`, fields: 'files(id)' });
    expect(d).toEqual({ files: [{ id }] });
  }
});

test("#8 the peer's version file", async () => {
  const d = await list(w.dsP, { q: `name='SYFT_version.json' and trashed=false and '${DO}' in owners`, fields: 'files(id)' });
  expect(d).toEqual({ files: [{ id: w.ids.version }] });
  // not shared with the other peer
  expect((await list(w.other, { q: `name='SYFT_version.json' and trashed=false and '${DO}' in owners`, fields: 'files(id)' })).files).toEqual([]);
});

test('#9 list folder contents, name desc, paginated', async () => {
  const names: string[] = [];
  for (let i = 0; i < 120; i++) names.push(`syfteventsmessagev3_${1795632100 + i}.5_${String(i).padStart(8, '0')}-0000-4000-8000-000000000000.tar.gz`);
  for (const n of names) await mk(w.doP, n, w.ids.outbox, { content: n }); // the DO writes into the DS-owned outbox
  const seen: { name: string; size: string; mimeType: string; modifiedTime: string }[] = [];
  let pageToken: string | undefined;
  let pages = 0;
  do {
    const d = await list(w.dsP, {
      q: `'${w.ids.outbox}' in parents and trashed=false`,
      fields: 'files(id, name, size, mimeType, modifiedTime), nextPageToken',
      pageSize: 100,
      orderBy: 'name desc',
      pageToken,
    });
    seen.push(...(d.files as typeof seen));
    pageToken = d.nextPageToken ?? undefined;
    pages++;
  } while (pageToken);
  expect(pages).toBe(2);
  expect(seen.map((f) => f.name)).toEqual([...names].reverse());
  expect(seen[0]).toEqual({ id: expect.any(String), name: names[119], size: String(names[119]!.length), mimeType: 'application/octet-stream', modifiedTime: expect.stringMatching(/Z$/) });
});

test('#10 exact folder name with optional owner/parent (double spaces kept)', async () => {
  const q = `name='${w.ids.archive ? `syft_${DS}_to_${DO}_archive` : ''}' and mimeType='application/vnd.google-apps.folder' and trashed=false  and '${DO}' in owners  and '${w.ids.doBox}' in parents`;
  expect(await list(w.doP, { q, fields: 'files(id)', pageSize: 1 })).toEqual({ files: [{ id: w.ids.archive }] });
});

test('#11 archive folder', async () => {
  const q = `name='syft_${DS}_to_${DO}_archive' and mimeType='application/vnd.google-apps.folder' and 'me' in owners and trashed=false`;
  expect(await list(w.doP, { q, fields: 'files(id)' })).toEqual({ files: [{ id: w.ids.archive }] });
});

test('#12, #19, #21, #22, #24: proposal upload, lookup by name, archive move', async () => {
  // #19 the DS uploads a proposal into its inbox (resumable in Python; multipart here), fields "id, parents"
  const name = 'msgv2_1795632149.7272775_e5964b7a-0000-4000-8000-000000000000.tar.gz';
  const up = await w.dsP.drive.files.create({ requestBody: { name, parents: [w.ids.inbox] }, media: { mimeType: 'application/octet-stream', body: 'tarball' }, fields: 'id, parents' }, h.o());
  expect(up.data.parents).toEqual([w.ids.inbox]);
  // #12 the DO finds it by name
  const found = await list(w.doP, { q: `name='${name}' and '${w.ids.inbox}' in parents and trashed=false`, fields: 'files(id, name)' });
  expect(found.files).toEqual([{ id: up.data.id, name }]);
  // #25 download
  const dl = await w.doP.drive.files.get({ fileId: up.data.id!, alt: 'media' }, { ...h.o(), responseType: 'text' });
  expect(dl.data).toBe('tarball');
  // #24 + #21: get parents, then move into the archive (the DO is a writer of the DS's file through the inbox)
  const parents = (await w.doP.drive.files.get({ fileId: up.data.id!, fields: 'parents' }, h.o())).data.parents!;
  const moved = await w.doP.drive.files.update(
    { fileId: up.data.id!, addParents: w.ids.archive, removeParents: parents.join(','), fields: 'id, parents', supportsAllDrives: true },
    h.o(),
  );
  expect(moved.data).toEqual({ id: up.data.id, parents: [w.ids.archive] });
  expect((await list(w.doP, { q: `'${w.ids.inbox}' in parents and trashed=false`, fields: 'files(id)' })).files).toEqual([]);
});

test('#13 checkpoints and rolling state by name token', async () => {
  const q = (s: string) => `'${w.ids.checkpoints}' in parents and trashed=false and name contains '${s}'`;
  const names = async (s: string, folderId = w.ids.checkpoints) =>
    ((await list(w.doP, { q: q(s).replace(w.ids.checkpoints, folderId), fields: 'files(id, name)' })).files ?? []).map((f) => f.name).sort();
  // Drive matches tokens: 'checkpoint' also finds incremental_checkpoint_* (syft-client re-parses names)
  expect(await names('checkpoint')).toEqual(['checkpoint_1795632149.1.tar.gz', 'incremental_checkpoint_1_1795632150.2.tar.gz', 'incremental_checkpoint_2_1795632151.3.tar.gz']);
  expect(await names('incremental_checkpoint')).toEqual(['incremental_checkpoint_1_1795632150.2.tar.gz', 'incremental_checkpoint_2_1795632151.3.tar.gz']);
  expect(await names('rolling_state', w.ids.rolling)).toEqual(['rolling_state_1795632152.4.tar.gz']);
  expect(await names('rolling_state')).toEqual([]);
});

test('#14 datasets of the DO with appProperties', async () => {
  const q = `name contains 'syft_datasetcollection_' and '${w.ids.doBox}' in parents and 'me' in owners and trashed=false and mimeType='application/vnd.google-apps.folder'`;
  const d = await list(w.doP, { q, fields: 'files(id,name,appProperties)' });
  expect(d.files).toEqual([{ id: w.ids.dataset, name: 'syft_datasetcollection_census_0123456789ab', appProperties: { syft_shared_with_any: 'true' } }]);
});

test('#15 datasets shared with the DS', async () => {
  const q = "name contains 'syft_datasetcollection_' and not 'me' in owners and trashed=false and mimeType='application/vnd.google-apps.folder'";
  const d = await list(w.dsP, { q, fields: 'files(name, owners)' });
  expect(d.files).toEqual([
    { name: 'syft_datasetcollection_census_0123456789ab', owners: [{ kind: 'drive#user', displayName: 'do', me: false, permissionId: expect.any(String), emailAddress: DO, photoLink: expect.any(String) }] },
  ]);
  expect((await list(w.other, { q, fields: 'files(name)' })).files).toEqual([]);
});

test('#16 encryption bundle', async () => {
  const q = `name='encryption_bundle_${DO}_for_${DS}.json' and trashed=false and '${DO}' in owners`;
  expect(await list(w.dsP, { q, fields: 'files(id)' })).toEqual({ files: [{ id: w.ids.bundle }] });
});

test('#17 cleanup search and recursive listing; #26 delete', async () => {
  const legacy = await folder(w.doP, 'syft_outbox_inbox_old', w.ids.doBox);
  await mk(w.doP, 'x', legacy, { content: 'x' });
  const d = await list(w.doP, { q: "name contains 'syft_outbox_inbox' and 'me' in owners and trashed=false", fields: 'files(id), nextPageToken' });
  expect(d).toEqual({ files: [{ id: legacy }] });
  const inside = await list(w.doP, { q: `'${legacy}' in parents`, fields: 'files(id, name, mimeType)' });
  expect(inside.files!.map((f) => f.name)).toEqual(['x']);
  await w.doP.drive.files.delete({ fileId: legacy }, h.o());
  expect((await list(w.doP, { q: `'${legacy}' in parents`, fields: 'files(id)' })).files).toEqual([]);
});

test('#18 folder create and #20 content replace of SYFT_peers.json', async () => {
  const f = await w.doP.drive.files.create({ requestBody: { name: 'new', mimeType: FOLDER, parents: [w.ids.doBox] }, fields: 'id' }, h.o());
  expect(Object.keys(f.data)).toEqual(['id']);
  await w.doP.drive.files.update({ fileId: w.ids.peers, media: { mimeType: 'text/plain', body: '{"peers":{"ds@example.com":"accepted"}}' } }, h.o());
  const dl = await w.doP.drive.files.get({ fileId: w.ids.peers, alt: 'media' }, { ...h.o(), responseType: 'text' });
  expect(dl.data).toBe('{"peers":{"ds@example.com":"accepted"}}');
});

test('#27 permissions(emailAddress) of a shared folder', async () => {
  const d = await w.dsP.drive.permissions.list({ fileId: w.ids.inbox, fields: 'permissions(emailAddress)' }, h.o());
  expect(d.data.permissions).toEqual([{ emailAddress: DS }, { emailAddress: DO }]);
});
