#!/usr/bin/env node
// Drive sync figures of issue 5 (a benchmark, not a test). The real approve service (dist/, transports.syftbox:
// drive) runs under a real PM2 daemon in a throw-away home and talks to the in-process Google emulator over
// loopback; data scientists are the DS test client (test/helpers/ds-client, loaded through @swc/core).
//
//   1. time from a DS submitting a matching job to that DS seeing `done` (its own incremental sync-down polling
//      every 100 ms), with 1, 10 and 100 approved peers (sync.interval 1 s);
//   2. Drive calls per minute while idle with 10 approved peers and the default sync.interval (10 s), counted by
//      the emulator over IDLE_SECONDS (default 60);
//   3. the idle budget with every safety check firing: 10 approved peers, sync.interval 1 s and the safety periods
//      scaled down through config.yaml (peer requests every 20 s, inbox rescan every 60 s, compatibility re-check
//      every 90 s), over LONG_IDLE_SECONDS (default 300): calls per poll interval (must be <= 1.00), Drive calls per
//      cycle (cycles told apart by the gaps between calls), and how many listing calls each kind of check made.
//
// Usage: npm run build && node bench/sync.js [IDLE_SECONDS=60] [RUNS=3] [LONG_IDLE_SECONDS=300]
// Writes bench/results/sync-<time>.json.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const IDLE_SECONDS = Number(process.argv[2] || 60);
const RUNS = Number(process.argv[3] || 3);
const LONG_IDLE_SECONDS = Number(process.argv[4] || 300);
const SCALED = { interval: 1, peer_check_interval: 20, inbox_rescan_interval: 60, compat_check_interval: 90 };

// TypeScript test helpers (emulator, DS client, sandbox) through swc, as jest runs them.
const swc = require('@swc/core');
require.extensions['.ts'] = (module, filename) => {
  const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
const { startEmulator } = require('../test/emulator');
const { makeSandbox } = require('../test/helpers/sandbox');
const { requestPeer, loadPeersAsDs } = require('../test/helpers/ds-client/peer');
const { submitJob } = require('../test/helpers/ds-client/proposal');
const { syncDownDetailed } = require('../test/helpers/ds-client/sync-down');
const { makeOAuthClient } = require('../lib/google/clients');
const { createDriveApi } = require('../lib/google/drive');

const DO = 'owner@example.com';
const SCRIPT = "cd code\nmkdir -p outputs\necho 'hello from job'\necho '{\"n\": 42}' > outputs/result.json\n";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function bashJob(name, script) {
  const config =
    'code_path: null\ndatasets: null\ndependencies: []\nentrypoint: null\nfiles:\n- script.sh\nheaders: {}\n' +
    `is_folder_submission: false\njob_type: local\nname: ${name}\nsubmitted_at: '2026-11-25T18:46:23.650403Z'\ntype: bash\n`;
  return { 'config.yaml': config, 'run.sh': script, 'code/script.sh': script };
}

async function waitFor(what, fn, timeoutMs = 60_000, everyMs = 100) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};

async function main() {
  const emu = await startEmulator();
  const env = { SYFT_BG_GOOGLE_ROOT_URL: emu.url };
  const sb = makeSandbox('bench-sync');
  const root = path.join(sb.dir, 'SyftBox');
  const cfgFile = path.join(sb.syftBgHome, 'config.yaml');
  const apis = new Map();
  const api = (email) => {
    if (!apis.has(email)) {
      const u = emu.world.addUser(email);
      const auth = makeOAuthClient({ clientId: u.clientId, clientSecret: u.clientSecret }, env);
      auth.setCredentials({ access_token: u.accessToken, refresh_token: u.refreshToken, expiry_date: Date.now() + 3_600_000 });
      apis.set(email, createDriveApi(auth, { env, retry: { baseDelayMs: 20, maxDelayMs: 200 } }));
    }
    return apis.get(email);
  };
  const driveCalls = () => Object.fromEntries([...emu.world.counters].filter(([r]) => r.startsWith('drive.')));
  // Every Drive call with its time and, for files.list, what it looked for (to tell the safety checks apart).
  const callLog = [];
  const origCount = emu.world.count.bind(emu.world);
  emu.world.count = (route) => {
    if (route.startsWith('drive.')) callLog.push({ t: Date.now(), route, kind: route });
    origCount(route);
  };
  const listRoute = emu.router.routes.find((r) => r.key === 'drive.files.list');
  const listHandler = listRoute.handler;
  listRoute.handler = (c) => {
    const q = c.url.searchParams.get('q') || '';
    const last = callLog[callLog.length - 1];
    if (last && last.route === 'drive.files.list') {
      last.kind = /not 'me' in owners/.test(q) && q.includes('syft_datasite#')
        ? 'peer requests'
        : q.includes("name = 'SYFT_peers.json'") || q.includes("name='SYFT_peers.json'")
          ? 'peers file'
          : q.includes('SYFT_version.json')
            ? 'version file'
            : / in parents/.test(q)
              ? 'folder listing'
              : 'other list';
    }
    return listHandler(c);
  };
  const total = (c) => Object.values(c).reduce((a, b) => a + b, 0);
  const setInterval_ = (s) => fs.writeFileSync(cfgFile, fs.readFileSync(cfgFile, 'utf8').replace(/\nsync:\n {2}interval: \d+\n/, `\nsync:\n  interval: ${s}\n`));
  // cliAsync: start/restart wait until approve is ready, which needs this process's emulator to answer.
  const restart = async () => {
    const r = await sb.cliAsync(['restart', 'approve'], { env });
    if (r.code !== 0) throw new Error(`restart failed: ${r.stderr}`);
  };
  const results = { date: new Date().toISOString(), node: process.version, runs: RUNS, latency: {}, idle: {} };
  try {
    const u = emu.world.addUser(DO);
    const tok = path.join(sb.dir, 'token.json');
    fs.writeFileSync(tok, JSON.stringify({ token: 'ya29.expired', refresh_token: u.refreshToken, token_uri: 'https://oauth2.googleapis.com/token', client_id: u.clientId, client_secret: u.clientSecret, scopes: u.scopes, expiry: '2020-01-01T00:00:00Z' }));
    const init = sb.cli(['init', '-e', DO, '-r', root, '-t', tok], { env });
    if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
    let text = fs.readFileSync(cfgFile, 'utf8');
    text = text.replace(/peers:\n {4}enabled: false\n {4}approved_domains: \[\]/, 'peers:\n    enabled: true\n    approved_domains:\n    - uni.edu');
    fs.writeFileSync(cfgFile, text);
    setInterval_(1);
    fs.mkdirSync(path.join(sb.dir, 'approved'));
    fs.writeFileSync(path.join(sb.dir, 'approved', 'script.sh'), SCRIPT);
    if (sb.cli(['auto-approve', path.join(sb.dir, 'approved', 'script.sh'), '-n', 'hello'], { env }).code !== 0) throw new Error('auto-approve failed');
    if ((await sb.cliAsync(['start', 'approve'], { env })).code !== 0) throw new Error('start failed');

    const peers = [];
    const addPeers = async (n) => {
      const fresh = Array.from({ length: n }, (_, i) => `ds${peers.length + i}@uni.edu`);
      const t0 = Date.now();
      // A few at a time, as independent people would.
      for (let i = 0; i < fresh.length; i += 10) await Promise.all(fresh.slice(i, i + 10).map((ds) => requestPeer(api(ds), ds, DO)));
      await Promise.all(fresh.map((ds) => waitFor(`${ds} accepted`, async () => (await loadPeersAsDs(api(ds), ds)).get(DO) === 'accepted', 180_000, 500)));
      peers.push(...fresh);
      return Date.now() - t0;
    };

    const hwm = new Map();
    let jobNo = 0;
    const latency = async (label) => {
      const samples = [];
      for (let run = 0; run < RUNS; run++) {
        const ds = peers[(run * 7) % peers.length];
        const dsRoot = path.join(sb.dir, 'ds', ds);
        // Catch up first, so the measured polls only fetch what this job produces.
        hwm.set(ds, (await syncDownDetailed(api(ds), ds, DO, dsRoot, hwm.get(ds) ?? null)).hwm);
        const job = `bench-${++jobNo}`;
        const stateFile = path.join(dsRoot, DO, 'app_data', 'job', 'review', ds, job, 'state.yaml');
        const marks = {};
        const t0 = Date.now();
        await submitJob(api(ds), ds, DO, { name: job, files: bashJob(job, SCRIPT) });
        marks.submitted = Date.now() - t0;
        await waitFor(`${ds} sees ${job} done`, async () => {
          hwm.set(ds, (await syncDownDetailed(api(ds), ds, DO, dsRoot, hwm.get(ds) ?? null)).hwm);
          const st = fs.existsSync(stateFile) ? /^status: (\w+)$/m.exec(fs.readFileSync(stateFile, 'utf8'))?.[1] : undefined;
          if (st && marks[st] === undefined) marks[st] = Date.now() - t0;
          return st === 'done' || st === 'failed';
        }, 60_000, 100);
        samples.push({ ms: Date.now() - t0, marks });
      }
      const r = { peers: peers.length, median_ms: median(samples.map((s) => s.ms)), samples };
      results.latency[label] = r;
      console.log(`submit → DS sees done with ${String(peers.length).padStart(3)} peer(s): median ${r.median_ms} ms  (${samples.map((s) => `${s.ms} ms ${JSON.stringify(s.marks)}`).join('; ')})`);
    };

    console.log(`peer approval of 1 DS: ${await addPeers(1)} ms`);
    await latency('1');
    console.log(`peer approval of 9 more DSs: ${await addPeers(9)} ms`);
    await latency('10');

    // Idle, 10 approved peers, default interval.
    setInterval_(10);
    await restart();
    await sleep(25_000); // the start-up work (peer pass, compatibility, first full cycle, our own uploads in the feed)
    emu.world.counters.clear();
    const t0 = Date.now();
    await sleep(IDLE_SECONDS * 1000);
    const secs = (Date.now() - t0) / 1000;
    const c = driveCalls();
    const perMin = (total(c) * 60) / secs;
    results.idle = { peers: peers.length, interval_s: 10, seconds: secs, calls: c, total: total(c), per_minute: perMin, per_interval: (perMin * 10) / 60 };
    console.log(`idle with ${peers.length} approved peers, sync.interval 10 s: ${total(c)} Drive call(s) in ${secs.toFixed(1)} s = ${perMin.toFixed(2)}/min = ${((perMin * 10) / 60).toFixed(2)} per poll interval ${JSON.stringify(c)}`);

    // Idle with every safety check firing (scaled-down periods), 10 approved peers.
    const withSafety = (on) => {
      let t = fs.readFileSync(cfgFile, 'utf8').replace(/\n {2}(peer_check_interval|inbox_rescan_interval|compat_check_interval): \d+/g, '');
      t = t.replace(/\nsync:\n {2}interval: \d+\n/, `\nsync:\n  interval: ${on ? SCALED.interval : 1}\n` + (on ? `  peer_check_interval: ${SCALED.peer_check_interval}\n  inbox_rescan_interval: ${SCALED.inbox_rescan_interval}\n  compat_check_interval: ${SCALED.compat_check_interval}\n` : ''));
      fs.writeFileSync(cfgFile, t);
    };
    withSafety(true);
    await restart();
    await sleep(15_000); // start-up work and our own writes in the feed
    // Start the window just after a cycle's call, so that it holds whole intervals only (phase-free count).
    callLog.length = 0;
    await waitFor('a Drive cycle', async () => callLog.length > 0, 10_000, 5);
    await sleep(20);
    const l0 = Date.now();
    await sleep(LONG_IDLE_SECONDS * 1000);
    const lsecs = (Date.now() - l0) / 1000;
    const calls = callLog.filter((c) => c.t >= l0);
    // Cycles are SCALED.interval apart; the calls of one cycle come within a few ms of each other.
    const cycles = [];
    for (const c of calls) {
      const cur = cycles[cycles.length - 1];
      if (cur && c.t - cur.last < (SCALED.interval * 1000) / 2) {
        cur.n++;
        cur.last = c.t;
      } else cycles.push({ first: c.t, last: c.t, n: 1 });
    }
    const kinds = {};
    for (const c of calls) kinds[c.kind] = (kinds[c.kind] || 0) + 1;
    const perInterval = calls.length / (lsecs / SCALED.interval);
    const perCycleMax = Math.max(...cycles.map((c) => c.n));
    results.idle_with_safety_checks = {
      peers: peers.length,
      interval_s: SCALED.interval,
      periods_s: { peer_requests: SCALED.peer_check_interval, inbox_rescan: SCALED.inbox_rescan_interval, peer_compat: SCALED.compat_check_interval },
      seconds: lsecs,
      calls: calls.length,
      per_interval: perInterval,
      cycles: cycles.length,
      calls_per_cycle_max: perCycleMax,
      calls_by_kind: kinds,
    };
    console.log(
      `idle with ${peers.length} approved peers and every safety check scaled down (interval ${SCALED.interval} s; peer requests ${SCALED.peer_check_interval} s, inbox rescan ${SCALED.inbox_rescan_interval} s, compatibility ${SCALED.compat_check_interval} s): ` +
        `${calls.length} Drive call(s) in ${lsecs.toFixed(1)} s = ${perInterval.toFixed(3)} per poll interval; ${cycles.length} cycles, at most ${perCycleMax} call(s) per cycle; by kind ${JSON.stringify(kinds)}`,
    );
    if (perInterval > 1.0 || perCycleMax > 1) console.log('  BUDGET EXCEEDED');

    withSafety(false);
    setInterval_(1);
    await restart();
    console.log(`peer approval of 90 more DSs: ${await addPeers(90)} ms`);
    await sleep(3000);
    await latency('100');
  } finally {
    sb.cleanup();
    await emu.close();
  }
  const out = path.join(ROOT, 'bench', 'results', `sync-${results.date.replace(/[:.]/g, '-')}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  console.log(`written ${path.relative(ROOT, out)}`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
