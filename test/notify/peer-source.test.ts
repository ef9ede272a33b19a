/**
 * The notify service's Drive peer source (lib/notify/peers.ts) against the loopback emulator with the real
 * googleapis clients: what it lists, and what it costs (Drive calls counted through DriveApi's onCall).
 */
import { startEmulator, type Emulator } from '../emulator';
import { makeOAuthClient } from '../../lib/google/clients';
import { createDriveApi, p2pFolderName, type DriveApi, type DriveChange } from '../../lib/google/drive';
import { drivePeerSource, peerListingStale } from '../../lib/notify/peers';
import { SYFT_CLIENT_VERSION } from '../../lib/peers/version';
import { requestPeer, writePeerState, ownRoot } from '../helpers/ds-client/peer';
import { makeRig, writeBashJob, DS as JOB_DS, type Rig } from './helpers';
import type { PeerEntry } from '../../lib/notify/events';
import type { PeerSource } from '../../lib/notify/peers';

const DO = 'owner@example.com';
const DS = 'alice@uni.edu';
const DS2 = 'bob@other.org';

const change = (fileId: string, name?: string, removed = false): DriveChange => ({ fileId, removed, ...(name !== undefined ? { file: { id: fileId, name } } : {}) });
const folder = (datasite: string, type: 'inbox' | 'outbox', peer: string) => p2pFolderName({ version: SYFT_CLIENT_VERSION, datasite, type, peer });

describe('peerListingStale (pure)', () => {
  const none = new Set<string>();
  it('our peers file, a request folder about our datasite, a removed file the listing used → stale', () => {
    expect(peerListingStale([change('1', 'SYFT_peers.json')], DO, none)).toBe(true);
    expect(peerListingStale([change('2', folder(DO, 'inbox', DS))], DO, none)).toBe(true);
    expect(peerListingStale([change('3', folder('OWNER@example.com', 'outbox', DS))], DO, none)).toBe(true);
    expect(peerListingStale([change('4', undefined, true)], DO, new Set(['4']))).toBe(true);
    // A renamed or trashed file the listing used still has its name: the id alone decides.
    expect(peerListingStale([change('5', 'renamed')], DO, new Set(['5']))).toBe(true);
  });

  it('our own folders for a peer, job messages, other files, unknown removals, nothing → not stale', () => {
    expect(peerListingStale([], DO, none)).toBe(false);
    expect(peerListingStale([change('1', folder(DS, 'inbox', DO))], DO, none)).toBe(false);
    expect(peerListingStale([change('2', folder(DO, 'inbox', DO))], DO, none)).toBe(false);
    expect(peerListingStale([change('3', 'msgv2_1764096383_abc.tar.gz'), change('4', 'SYFT_version.json'), change('5', 'syft_datasite#bad')], DO, none)).toBe(false);
    expect(peerListingStale([change('6', undefined, true)], DO, new Set(['7']))).toBe(false);
  });
});

describe('drivePeerSource over the emulator', () => {
  let emu: Emulator;
  const env = () => ({ SYFT_BG_GOOGLE_ROOT_URL: emu.url });
  const apis = new Map<string, DriveApi>();
  const calls: string[] = [];
  const api = (email: string, onCall?: (r: string) => void): DriveApi => {
    const u = emu.world.addUser(email);
    const auth = makeOAuthClient({ clientId: u.clientId, clientSecret: u.clientSecret }, env());
    auth.setCredentials({ access_token: u.accessToken, refresh_token: u.refreshToken, expiry_date: Date.now() + 3_600_000 });
    return createDriveApi(auth, { env: env(), retry: { baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 2 }, ...(onCall ? { onCall } : {}) });
  };
  const ds = (email: string) => {
    let a = apis.get(email);
    if (!a) apis.set(email, (a = api(email)));
    return a;
  };
  let clock = 1_000_000;
  let doApi: DriveApi;
  let doOwn: DriveApi;

  beforeAll(async () => {
    emu = await startEmulator();
    doApi = api(DO, (r) => calls.push(r));
    doOwn = api(DO);
  });
  afterAll(() => emu.close());

  const src = () => drivePeerSource(doApi, DO, { minIntervalMs: 1000, relistMs: 60_000, now: () => clock });
  let source: ReturnType<typeof src>;
  const listed = async () => {
    calls.length = 0;
    const r = await source.list();
    return { peers: r, calls: [...calls] };
  };

  it('before the DO has a SyftBox folder: a request already shared is listed (not "unknown")', async () => {
    await requestPeer(ds(DS), DS, DO);
    source = src();
    const r = await listed();
    expect(r.peers).toEqual([{ email: DS, state: 'requested_by_peer' }]);
    expect(r.calls.sort()).toEqual(['drive.changes.getStartPageToken', 'drive.files.list', 'drive.files.list'].sort());
  });

  it('idle: one changes.list per poll, same answer, no listing', async () => {
    for (let i = 0; i < 3; i++) {
      clock += 1000;
      const r = await listed();
      expect(r.peers).toEqual([{ email: DS, state: 'requested_by_peer' }]);
      expect(r.calls).toEqual(['drive.changes.list']);
    }
    expect(source.stats).toEqual({ listings: 1, unchanged: 3 });
  });

  it('changes unrelated to peers (job files, our own folders for a peer) do not cause a listing', async () => {
    const root = await ownRoot(doOwn);
    await doOwn.uploadFile({ name: 'msgv2_1764096383_x.tar.gz', parentId: root, content: 'x', mimeType: 'application/octet-stream' });
    await doOwn.createFolder(folder(DS, 'outbox', DO), root);
    clock += 1000;
    const r = await listed();
    expect(r.calls).toEqual(['drive.changes.list']);
    expect(source.stats.listings).toBe(1);
  });

  it('our SYFT_peers.json written (peer accepted) → listed again on the next poll', async () => {
    await writePeerState(doOwn, await ownRoot(doOwn), DS, 'accepted');
    clock += 1000;
    const r = await listed();
    expect(r.peers).toEqual([{ email: DS, state: 'accepted' }]);
    expect(r.calls.sort()).toEqual(['drive.changes.list', 'drive.files.list', 'drive.files.list', 'drive.files.list', 'drive.files.get'].sort());
    clock += 1000;
    expect((await listed()).calls).toEqual(['drive.changes.list']);
  });

  it('a new request from another peer → listed; its folder deleted → listed again, the peer is gone', async () => {
    const { folders } = await requestPeer(ds(DS2), DS2, DO);
    clock += 1000;
    expect((await listed()).peers).toEqual([
      { email: DS, state: 'accepted' },
      { email: DS2, state: 'requested_by_peer' },
    ]);
    for (const f of folders) await ds(DS2).deleteFile(f.id);
    clock += 1000;
    const r = await listed();
    expect(r.peers).toEqual([{ email: DS, state: 'accepted' }]);
    expect(r.calls.length).toBeGreaterThan(1);
  });

  it('a failing change feed: the poll fails (nothing concluded), the next one starts over with a full listing', async () => {
    emu.world.faults.push({ route: 'drive.changes.list', status: 400, reason: 'invalid', count: 1 });
    clock += 1000;
    await expect(source.list()).rejects.toThrow();
    clock += 1000;
    const r = await listed();
    expect(r.peers).toEqual([{ email: DS, state: 'accepted' }]);
    expect(r.calls[0]).toBe('drive.changes.getStartPageToken');
  });

  it('a full listing at least every relistMs, whatever the feed says', async () => {
    const before = source.stats.listings;
    clock += 1000;
    expect((await listed()).calls).toEqual(['drive.changes.list']);
    clock += 60_000;
    expect((await listed()).calls[0]).toBe('drive.changes.getStartPageToken');
    expect(source.stats.listings).toBe(before + 1);
  });

  it('in the notifier: a fresh start lists once; scans poll at most once per minIntervalMs; request and grant mailed once', async () => {
    const DS3 = 'carol@uni.edu';
    let t = 5_000_000;
    const calls0: string[] = [];
    const own = api(DO, (r) => calls0.push(r));
    const s = drivePeerSource(own, DO, { minIntervalMs: 1000, relistMs: 3_600_000, now: () => t });
    let rig: Rig | undefined;
    try {
      rig = await makeRig({ doEmail: DO, peers: s, now: () => t });
      // Seeded from one listing (init); the first scan does not list again.
      await rig.notifier.runOnce();
      expect(s.stats).toEqual({ listings: 1, unchanged: 0 });
      expect(calls0.filter((r) => r === 'drive.changes.list')).toEqual([]);
      // Scans within the interval (file events) do not touch Drive.
      const n0 = calls0.length;
      for (let i = 0; i < 5; i++) {
        t += 150;
        await rig.notifier.runOnce();
      }
      expect(calls0.length).toBe(n0);
      await requestPeer(ds(DS3), DS3, DO);
      t += 1000;
      await rig.notifier.runOnce();
      expect((await rig.mails()).map((m) => m.subject).sort()).toEqual([`New Peer Request from ${DS3}`, `Peer Request Sent to ${DO}`]);
      await writePeerState(doOwn, await ownRoot(doOwn), DS3, 'accepted');
      t += 1000;
      await rig.notifier.runOnce();
      t += 1000;
      await (await rig.restart()).runOnce();
      expect((await rig.mails()).map((m) => m.subject).sort()).toEqual([`New Peer Request from ${DS3}`, `Peer Request Accepted: ${DO}`, `Peer Request Sent to ${DO}`].sort());
    } finally {
      rig?.cleanup();
    }
  });
});

describe('a slow peer source in the notifier', () => {
  it('does not hold up the job mails; one poll at a time; its result is used when it comes', async () => {
    let release: (v: PeerEntry[]) => void = () => undefined;
    let lists = 0;
    const slow: PeerSource = {
      kind: 'slow',
      minIntervalMs: 0,
      list: () => {
        lists++;
        return lists === 1 ? Promise.resolve([]) : new Promise<PeerEntry[]>((r) => (release = r));
      },
    };
    const rig = await makeRig({ peers: slow, peerWaitMs: 50 });
    try {
      writeBashJob(rig.root, JOB_DS, 'j1', 'echo 1\n');
      const t0 = Date.now();
      await rig.notifier.runOnce();
      await rig.notifier.runOnce();
      expect(Date.now() - t0).toBeLessThan(1000);
      expect((await rig.mails()).map((m) => m.subject).sort()).toEqual(['Job Submitted: j1', 'Job: j1']);
      expect(lists).toBe(2); // the seeding listing, then one poll still in flight
      release([{ email: 'p@x.org', state: 'requested_by_peer' }]);
      await new Promise((r) => setImmediate(r));
      await rig.notifier.runOnce();
      expect((await rig.mails()).map((m) => m.subject ?? '').filter((x) => x.includes('Peer')).sort()).toEqual(['New Peer Request from p@x.org', expect.stringMatching(/^Peer Request Sent to /)]);
    } finally {
      rig.cleanup();
    }
  });
});
