/**
 * Units of the approve service's Drive side (apps/approve/drive-*.ts): which peers are synced, what the change feed
 * asks for, which failures are a refused token, and the scheduling of Drive cycles (fakes for the peer pass and the
 * owner sync; real timers).
 */
import { UserError } from '../../lib/errors';
import { GoogleApiError } from '../../lib/google/retry';
import type { DriveApi } from '../../lib/google/drive';
import type { PeerPassResult } from '../../lib/peers/peer-pass';
import { emptyResult, type CycleResult } from '../../lib/sync/context';
import { acceptedPeers, feedWants, judgePeers } from '../../apps/approve/drive-peers';
import { isAuthFailure, watchAuth } from '../../apps/approve/drive-auth';
import { DriveSide, throttledLogger, type DriveCycleInfo } from '../../apps/approve/drive-side';
import { requestTimeoutMs, versionPolicyOf } from '../../apps/approve/drive';

const ME = 'do@example.org';
const V = '0.1.117';

describe('which peers are synced', () => {
  const data = {
    'a@uni.edu': { state: 'accepted' },
    'b@uni.edu': { state: 'accepted', public_encryption_bundle: {} },
    'c@uni.edu': { state: 'requested_by_me' },
    'd@uni.edu': { state: 'rejected' },
    'e@uni.edu': { state: 'bogus' },
    [ME]: { state: 'accepted' },
    'f@uni.edu': { state: 'accepted' },
  };
  test('accepted entries only, ourselves excluded, in file order', () => {
    expect(acceptedPeers(data, ME)).toEqual(['a@uni.edu', 'b@uni.edu', 'f@uni.edu']);
  });
  test('the §2.7 table decides, with the data-owner default (skip patch differences)', () => {
    const versions = new Map<string, string | null>([['a@uni.edu', V], ['b@uni.edu', '0.1.116'], ['f@uni.edu', null]]);
    const j = (policy = {}) => Object.fromEntries(judgePeers(data, ME, versions, policy).map((p) => [p.email, `${p.status}:${p.proceed}`]));
    expect(j()).toEqual({ 'a@uni.edu': 'same:true', 'b@uni.edu': 'patch_diff:false', 'f@uni.edu': 'unknown:false' });
    expect(j({ skipPeerOnPatchVersionDiff: false })).toEqual({ 'a@uni.edu': 'same:true', 'b@uni.edu': 'patch_diff:true', 'f@uni.edu': 'unknown:false' });
    expect(j({ forceIgnorePeerVersion: true })).toEqual({ 'a@uni.edu': 'same:true', 'b@uni.edu': 'patch_diff:true', 'f@uni.edu': 'unknown:true' });
    expect(judgePeers(data, ME, new Map([['a@uni.edu', '0.2.0']]), {}).find((p) => p.email === 'a@uni.edu')).toMatchObject({ status: 'incompatible', proceed: false });
  });
  test('the approve settings win over the sync ones; force from either', () => {
    const c = (approve: object, sync: object) => versionPolicyOf({ approve: { skip_peer_on_patch_version_diff: null, force_ignore_peer_version: false, ...approve }, sync: { skip_peer_on_patch_version_diff: null, force_ignore_peer_version: false, ...sync } } as never);
    expect(c({}, {})).toEqual({ skipPeerOnPatchVersionDiff: null, forceIgnorePeerVersion: false, hasDoRole: true });
    expect(c({ skip_peer_on_patch_version_diff: false }, { skip_peer_on_patch_version_diff: true })).toMatchObject({ skipPeerOnPatchVersionDiff: false });
    expect(c({}, { skip_peer_on_patch_version_diff: false })).toMatchObject({ skipPeerOnPatchVersionDiff: false });
    expect(c({}, { force_ignore_peer_version: true })).toMatchObject({ forceIgnorePeerVersion: true });
  });
  test('sync.request_timeout: seconds, leniently', () => {
    expect(requestTimeoutMs({})).toBe(60_000);
    expect(requestTimeoutMs({ sync: { request_timeout: 2 } })).toBe(2000);
    expect(requestTimeoutMs({ sync: { request_timeout: 0.5 } })).toBe(500);
    for (const bad of [0, -1, 'x', null, Infinity]) expect(requestTimeoutMs({ sync: { request_timeout: bad } })).toBe(60_000);
  });
});

describe('what the change feed asks for', () => {
  test('request folders about our datasite, peers and version files, resets; nothing else', () => {
    expect(feedWants(undefined, ME)).toEqual({});
    expect(feedWants({ reset: true, names: [] }, ME)).toEqual({ peerPass: 'change feed reset', compat: 'change feed reset' });
    expect(feedWants({ reset: false, names: [] }, ME)).toEqual({});
    expect(feedWants({ reset: false, names: ['msgv2_1.5_x.tar.gz', 'syfteventsmessagev3_1.2_y.tar.gz', `syft_datasite#${V}#ds@uni.edu#inbox#${ME}`] }, ME)).toEqual({});
    expect(feedWants({ reset: false, names: [`syft_datasite#${V}#${ME.toUpperCase()}#inbox#ds@uni.edu`] }, ME)).toEqual({ peerPass: `peer folder syft_datasite#${V}#${ME.toUpperCase()}#inbox#ds@uni.edu` });
    expect(feedWants({ reset: false, names: ['SYFT_peers.json'] }, ME)).toEqual({ peerPass: 'SYFT_peers.json changed', compat: 'SYFT_peers.json changed' });
    expect(feedWants({ reset: false, names: ['SYFT_version.json'] }, ME)).toMatchObject({ compat: 'SYFT_version.json changed' });
    expect(feedWants({ reset: false, names: [`syft_datasite#${V}#${ME}#outbox#${ME}`] }, ME)).toEqual({});
  });
});

describe('refused tokens', () => {
  const err = (o: Partial<ConstructorParameters<typeof GoogleApiError>[0]>) => new GoogleApiError({ route: 'drive.files.list', message: 'x', ...o });
  test('auth failures vs everything else', () => {
    expect(isAuthFailure(new UserError('Google refused the refresh token'))).toBe(true);
    expect(isAuthFailure(err({ status: 401, reason: 'authError' }))).toBe(true);
    expect(isAuthFailure(err({ status: 403, reason: 'insufficientPermissions' }))).toBe(true);
    expect(isAuthFailure(err({ status: 400, reason: 'invalid_grant', duringTokenRefresh: true }))).toBe(true);
    expect(isAuthFailure(err({ status: 403, reason: 'insufficientFilePermissions' }))).toBe(false);
    expect(isAuthFailure(err({ status: 403, reason: 'rateLimitExceeded' }))).toBe(false);
    expect(isAuthFailure(err({ status: 429 }))).toBe(false);
    expect(isAuthFailure(err({ status: 500 }))).toBe(false);
    expect(isAuthFailure(err({ status: 503, duringTokenRefresh: true }))).toBe(false);
    expect(isAuthFailure(err({ code: 'ECONNRESET' }))).toBe(false);
    expect(isAuthFailure(new Error('bug'))).toBe(false);
  });
  test('watchAuth reports refused tokens from promises and async generators, and passes everything through', async () => {
    const seen: unknown[] = [];
    const e401 = err({ status: 401 });
    const fake = {
      whoami: async () => 'me',
      findSyftBoxRoot: async () => {
        throw e401;
      },
      download: async () => {
        throw err({ status: 500 });
      },
      async *iterateFolder() {
        yield { id: '1', name: 'a' };
        throw e401;
      },
    } as unknown as DriveApi;
    const d = watchAuth(fake, (e) => seen.push(e));
    expect(await d.whoami()).toBe('me');
    await expect(d.findSyftBoxRoot()).rejects.toBe(e401);
    await expect(d.download('x')).rejects.toMatchObject({ status: 500 });
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const f of d.iterateFolder('x')) got.push(f.name);
      })(),
    ).rejects.toBe(e401);
    expect(got).toEqual(['a']);
    expect(seen).toEqual([e401, e401]);
  });
});

describe('Drive cycles', () => {
  const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  const passResult = (o: Partial<PeerPassResult> = {}): PeerPassResult => ({ folders: 0, requests: 0, approved: [], notApproved: [], refused: [], idle: true, ...o });

  /** A DriveSide over fakes: a peers file with `accepted`, versions all ours, feeds scripted per cycle. */
  function harness(o: { feeds?: Array<CycleResult['feed']>; intervalMs?: number; peerFallbackMs?: number; passes?: PeerPassResult[]; now?: () => number } = {}) {
    const calls: string[] = [];
    const cycles: Array<readonly string[]> = [];
    const infos: DriveCycleInfo[] = [];
    let accepted: Record<string, unknown> = { 'a@uni.edu': { state: 'accepted' } };
    const fakeDrive = {
      findSyftBoxRoot: async () => (calls.push('root'), { id: 'root', name: 'SyftBox' }),
      findFiles: async (q: { name?: string }) => {
        calls.push(`find ${q.name}`);
        if (q.name === 'SYFT_peers.json') return [{ id: 'pf', name: 'SYFT_peers.json' }];
        return [{ id: 'v', name: 'SYFT_version.json', size: 10, owners: [(q as { owner: string }).owner] }];
      },
      download: async () => (calls.push('download peers'), Buffer.from(JSON.stringify(accepted))),
      downloadRange: async () => (calls.push('download version'), { data: Buffer.from(JSON.stringify({ syft_client_version: V })), partial: false }),
    } as unknown as DriveApi;
    const feeds = [...(o.feeds ?? [])];
    const passes = [...(o.passes ?? [])];
    const ac = new AbortController();
    const side = new DriveSide({
      drive: fakeDrive,
      me: ME,
      peers: { run: async () => (calls.push('peer pass'), passes.shift() ?? passResult()) },
      sync: {
        cycle: async (peers) => {
          calls.push('sync');
          cycles.push(peers);
          return { ...emptyResult(), feed: feeds.shift() ?? { reset: false, names: [] } };
        },
      },
      policy: {},
      intervalMs: o.intervalMs ?? 60_000,
      debounceMs: 20,
      ...(o.peerFallbackMs !== undefined ? { peerFallbackMs: o.peerFallbackMs } : {}),
      logger: quiet,
      signal: ac.signal,
      onFatal: () => undefined,
      onCycle: (i) => infos.push(i),
      ...(o.now ? { now: o.now } : {}),
    });
    return { side, calls, cycles, infos, ac, setAccepted: (a: Record<string, unknown>) => (accepted = a) };
  }

  test('the first cycle: peer pass, peers and versions, then the sync with the compatible peers; idle cycles only sync', async () => {
    const h = harness();
    await h.side.cycle();
    expect(h.calls).toEqual(['peer pass', 'root', 'find SYFT_peers.json', 'download peers', 'find SYFT_version.json', 'download version', 'sync']);
    expect(h.cycles).toEqual([['a@uni.edu']]);
    h.calls.length = 0;
    await h.side.cycle();
    await h.side.cycle();
    expect(h.calls).toEqual(['sync', 'sync']);
  });

  test('a request folder in the feed brings a peer pass; an approval a new peers list, synced at once', async () => {
    const approved = passResult({ approved: [{ email: 'b@uni.edu' } as never], idle: false });
    const h = harness({ feeds: [{ reset: false, names: [] }, { reset: false, names: [`syft_datasite#${V}#${ME}#inbox#b@uni.edu`] }], passes: [passResult(), approved] });
    await h.side.cycle();
    await h.side.cycle();
    h.calls.length = 0;
    h.setAccepted({ 'a@uni.edu': { state: 'accepted' }, 'b@uni.edu': { state: 'accepted' } });
    await h.side.cycle();
    expect(h.calls[0]).toBe('peer pass');
    expect(h.calls).toContain('download peers');
    expect(h.cycles.at(-1)).toEqual(['a@uni.edu', 'b@uni.edu']);
    expect(h.infos.at(-1)!.peerPass!.reason).toMatch(/^peer folder /);
    expect(h.infos.at(-1)!.compat!.reason).toBe('approved b@uni.edu');
  });

  test('the fallback peer pass runs after peerFallbackMs without any feed hint', async () => {
    let t = 0;
    const h = harness({ peerFallbackMs: 1000, now: () => t });
    await h.side.cycle();
    t = 500;
    await h.side.cycle();
    t = 1000;
    await h.side.cycle();
    expect(h.calls.filter((c) => c === 'peer pass')).toHaveLength(2);
    expect(h.infos.at(-1)!.peerPass!.reason).toBe('periodic check');
  });

  test('run(): a cycle per interval; kicks coalesce into one cycle soon after; abort ends the loop', async () => {
    const h = harness({ intervalMs: 400 });
    const done = h.side.run();
    await new Promise((r) => setTimeout(r, 100));
    expect(h.cycles).toHaveLength(1);
    for (let i = 0; i < 5; i++) h.side.kick();
    await new Promise((r) => setTimeout(r, 100));
    expect(h.cycles).toHaveLength(2); // one cycle for the burst, ~20 ms after it, not 400 ms
    await new Promise((r) => setTimeout(r, 450));
    expect(h.cycles).toHaveLength(3); // the interval
    h.ac.abort();
    await done;
    const n = h.cycles.length;
    h.side.kick();
    await new Promise((r) => setTimeout(r, 60));
    expect(h.cycles).toHaveLength(n);
  });

  test('a refused token ends the loop through onFatal', async () => {
    const fatal: unknown[] = [];
    const ac = new AbortController();
    const e = new UserError('refused');
    let side!: DriveSide;
    side = new DriveSide({
      drive: {} as DriveApi,
      me: ME,
      peers: { run: async () => (side.authFailure(e), passResult({ error: 'listing peer requests: refused' })) },
      sync: { cycle: async () => emptyResult() },
      policy: {},
      intervalMs: 10,
      logger: quiet,
      signal: ac.signal,
      onFatal: (x) => fatal.push(x),
    });
    await side.run();
    expect(fatal).toEqual([e]);
    expect(side.cycleCount).toBe(1);
  });

  test('throttledLogger: the same warning or error once per window, with the count held back', () => {
    const out: Array<[string, object, string]> = [];
    let t = 0;
    const base = { info: (o: object, m: string) => out.push(['info', o, m]), warn: (o: object, m: string) => out.push(['warn', o, m]), error: (o: object, m: string) => out.push(['error', o, m]) };
    const l = throttledLogger(base, 1000, () => t);
    l.error({}, 'down');
    l.error({}, 'down');
    l.warn({}, 'down');
    l.info({}, 'x');
    l.info({}, 'x');
    t = 1500;
    l.error({ a: 1 }, 'down');
    expect(out).toEqual([['error', {}, 'down'], ['warn', {}, 'down'], ['info', {}, 'x'], ['info', {}, 'x'], ['error', { a: 1, repeated: 1 }, 'down']]);
  });
});
