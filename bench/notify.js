#!/usr/bin/env node
// Figures for the notify-service issue (a benchmark, not a test). The real service under PM2, in a throw-away HOME
// and PM2_HOME, on a local datasite (bench folder on /dev/shm when writable, else the OS temp dir).
//
//   1. latency: N jobs submitted one at a time (code/script.sh, run.sh, config.yaml last, as a syncer writes them;
//      a random 400-900 ms pause between jobs, so the default Gmail pace of 2 mails/s never throttles), mailed through
//      Gmail (the loopback emulator, in this process). Measured: from the moment config.yaml (the job's last file)
//      has landed to the moment the DO's "Job: <job>" send request reaches the emulator (its request counter, hooked).
//      Also to the DS's "Job Submitted" mail (the second send).
//   2. burst: B jobs written at once (default 1,000) with the Maildir transport (the embedded default, default pace
//      50 mails/s): time from the first job written to the last mail delivered, every mail exactly once (2 per job:
//      distinct Message-IDs, one per (job, event) key), peak RSS (VmHWM) of the service.
//
//   3. with --jobs-in-datasite N: both runs start on a datasite that already holds N jobs (bench/gen-datasite.js,
//      10 data scientists, 88.5 % done, 5 % failed, 4 % rejected, 2.5 % pending; seeded at the first start, so
//      none is mailed). Before the latency jobs, the service idles: the time from `start` returning to the journal
//      (the seeding done), its first pass (the service's `first pass: …` log line), then, after --idle-warmup s (default 40), its CPU over --idle-seconds s (default 60; utime +
//      stime from /proc/<pid>/stat, in % of one core) and its RSS (VmRSS, VmHWM).
//
// Usage: npm run build && node bench/notify.js [--jobs 20] [--burst 1000] [--rate R] [--dir DIR] [--keep]
//          [--jobs-in-datasite N] [--idle-warmup S] [--idle-seconds S] [--no-burst] [--dist DIR]
//   --dist: another build of dist/ to run (e.g. a copy of an older build, to compare; it must find node_modules).
//   --rate: notify.send_rate_per_second (and send_burst = R) for the burst run; default: the service's default.
// Writes bench/results/notify-<time>.json and prints a summary.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { performance } = require('node:perf_hooks');

const ROOT = path.resolve(__dirname, '..');
let CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const PM2 = require.resolve('pm2/bin/pm2', { paths: [ROOT] });
const DO = 'do@example.com';
const DS = 'ds@example.org';

function options(argv) {
  const o = { jobs: 20, burst: 1000, rate: undefined, dir: undefined, keep: false, datasite: 0, idleWarmup: 40, idleSeconds: 60 };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--jobs') o.jobs = Number(argv[++i]);
    else if (a === '--burst') o.burst = Number(argv[++i]);
    else if (a === '--rate') o.rate = Number(argv[++i]);
    else if (a === '--dir') o.dir = argv[++i];
    else if (a === '--keep') o.keep = true;
    else if (a === '--jobs-in-datasite') o.datasite = Number(argv[++i]);
    else if (a === '--idle-warmup') o.idleWarmup = Number(argv[++i]);
    else if (a === '--idle-seconds') o.idleSeconds = Number(argv[++i]);
    else if (a === '--no-burst') o.burst = 0;
    else if (a === '--dist') CLI = path.resolve(argv[++i], 'cli', 'main.js');
    else throw new Error(`unknown option ${a}`);
  }
  if (!o.dir) {
    try {
      fs.accessSync('/dev/shm', fs.constants.W_OK);
      o.dir = '/dev/shm';
    } catch {
      o.dir = os.tmpdir();
    }
  }
  return o;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, fn, timeoutMs = 60_000, everyMs = 2) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

function sandbox(base, name) {
  const dir = fs.mkdtempSync(path.join(base, `${name}-`));
  const home = path.join(dir, 'home');
  const pm2Home = path.join(dir, 'pm2');
  fs.mkdirSync(home, { recursive: true });
  fs.mkdirSync(pm2Home, { recursive: true });
  fs.writeFileSync(path.join(pm2Home, 'touch'), String(Date.now()));
  const env = { PATH: process.env.PATH, HOME: home, PM2_HOME: pm2Home, LANG: 'C.UTF-8' };
  const cli = (args, extra = {}) => {
    const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...env, ...extra }, encoding: 'utf8', timeout: 120_000, cwd: dir });
    if (r.status !== 0) throw new Error(`syft-bg ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
    return r.stdout;
  };
  // Not blocking: `start` waits until notify is ready, and its Gmail check needs this process's emulator to answer.
  const cliAsync = (args, extra = {}) =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], { env: { ...env, ...extra }, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`syft-bg ${args.join(' ')} failed (${code}): ${err}`))));
    });
  return {
    dir, home, env, cli, cliAsync, syftBgHome: path.join(home, '.syft-bg'), root: path.join(dir, 'SyftBox'),
    cleanup(keep) {
      spawnSync(process.execPath, [PM2, 'kill'], { env, encoding: 'utf8', timeout: 30_000 });
      if (!keep) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function editConfig(sb, fn) {
  const cfg = path.join(sb.syftBgHome, 'config.yaml');
  fs.writeFileSync(cfg, fn(fs.readFileSync(cfg, 'utf8')));
}

const CONFIG = (name) =>
  'code_path: null\ndatasets: null\ndependencies: []\nentrypoint: null\nfiles:\n- script.sh\nheaders: {}\n' +
  `is_folder_submission: false\njob_type: local\nname: ${name}\nsubmitted_at: '2026-11-25T18:46:23.650403Z'\ntype: bash\n`;

/** Write a bash job as a syncer would (config.yaml last); returns the time config.yaml landed. */
function writeJob(root, name, script) {
  const inbox = path.join(root, DO, 'app_data', 'job', 'inbox', DS, name);
  fs.mkdirSync(path.join(inbox, 'code'), { recursive: true });
  fs.writeFileSync(path.join(inbox, 'code', 'script.sh'), script);
  fs.writeFileSync(path.join(inbox, 'run.sh'), script);
  fs.writeFileSync(path.join(inbox, 'config.yaml'), CONFIG(name));
  return performance.now();
}

function servicePid(sb) {
  const out = sb.cli(['status', '--json']);
  return JSON.parse(out).services.find((s) => s.name === 'notify')?.pid ?? null;
}

function procStatus(pid) {
  try {
    const t = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number((new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(t) || [])[1] || 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  const tck = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  return (Number(rest[11]) + Number(rest[12])) / tck;
}

/** Pre-fill the datasite with n jobs (bench/gen-datasite.js, the mix of the approve benchmarks). */
async function prefill(sb, n) {
  if (!n) return undefined;
  const { generate } = require('./gen-datasite');
  const g = await generate({ root: sb.root, count: n, do: DO, peers: 10, seed: 42, mix: { done: 88.5, failed: 5, rejected: 4, pending: 2.5, approved: 0 } });
  return { jobs: n, seconds: g.seconds };
}

/** The service's `first pass: N jobs in X ms` log line (waits for it), in ms; null when a build does not log it. */
async function firstPass(sb) {
  try {
    const line = await waitFor('the first pass', () => /first pass: (\d+) jobs in (\d+) ms[^\n]*/.exec(sb.cli(['logs', 'notify', '-n', '400'])), 30_000, 250);
    return { jobs: Number(line[1]), ms: Number(line[2]), line: line[0] };
  } catch {
    return { jobs: null, ms: null, line: 'no "first pass" log line' };
  }
}

/** CPU (% of one core) over `seconds` after `warmup` seconds, and RSS. */
async function idle(pid, o) {
  await sleep(o.idleWarmup * 1000);
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  await sleep(o.idleSeconds * 1000);
  const c1 = cpuSeconds(pid);
  const wall = (performance.now() - t0) / 1000;
  const m = procStatus(pid);
  return { warmup_s: o.idleWarmup, measured_s: Math.round(wall), cpu_pct: Math.round(((c1 - c0) / wall) * 10000) / 100, rss_mb: r1(m.rss / 1048576), peak_rss_mb: r1(m.hwm / 1048576) };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] : NaN;
};
const stats = (xs) => ({ n: xs.length, min: Math.min(...xs), p50: pct(xs, 50), p90: pct(xs, 90), p99: pct(xs, 99), max: Math.max(...xs) });
const r1 = (x) => Math.round(x * 10) / 10;

// ---------------------------------------------------------------------------------------------------------------

async function latency(o) {
  const build = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'test/emulator/tsconfig.json')], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`emulator build failed: ${build.stdout}${build.stderr}`);
  const { startEmulator } = require(path.join(ROOT, '.emulator-build/test/emulator/index.js'));
  const emu = await startEmulator();
  const sends = [];
  const count = emu.world.count.bind(emu.world);
  emu.world.count = (route) => {
    if (route === 'gmail.messages.send') sends.push(performance.now());
    count(route);
  };
  const u = emu.world.addUser(DO, { scopes: ['https://www.googleapis.com/auth/gmail.modify', 'https://www.googleapis.com/auth/drive'] });
  const sb = sandbox(o.dir, 'nbench-lat');
  const env = { SYFT_BG_GOOGLE_ROOT_URL: emu.url };
  try {
    const tok = path.join(sb.dir, 'token.json');
    fs.writeFileSync(tok, JSON.stringify({ token: u.accessToken, refresh_token: u.refreshToken, token_uri: 'https://oauth2.googleapis.com/token', client_id: u.clientId, client_secret: u.clientSecret, scopes: u.scopes, expiry: new Date(Date.now() + 3600_000).toISOString() }));
    sb.cli(['init', '-e', DO, '-r', sb.root, '-t', tok], env);
    editConfig(sb, (t) => t.replace(/(transports:[\s\S]*?syftbox: )\w+/, '$1local').replace(/^(  heartbeat_enabled: )true$/m, '$1false'));
    fs.mkdirSync(path.join(sb.root, DO, 'app_data', 'job', 'inbox'), { recursive: true });
    const datasite = await prefill(sb, o.datasite);
    await sb.cliAsync(['start', 'notify'], env);
    const started = performance.now();
    await waitFor('journal', () => fs.existsSync(path.join(sb.syftBgHome, 'notify', 'journal.jsonl')), 30_000, 20);
    const journalMs = Math.round(performance.now() - started);
    let idleFigures;
    if (datasite) {
      const first = await firstPass(sb);
      console.log(`  ${first.line}; idling ${o.idleWarmup} + ${o.idleSeconds} s…`);
      idleFigures = { datasite, journal_after_start_ms: journalMs, first_pass_ms: first.ms, ...(await idle(servicePid(sb), o)) };
      console.log(`  ${JSON.stringify(idleFigures)}`);
    }
    const sends0 = sends.length;
    const toDo = [];
    const toDs = [];
    for (let i = 0; i < o.jobs; i++) {
      await sleep(400 + Math.random() * 500);
      const before = sends.length;
      const t0 = writeJob(sb.root, `lat-${i}`, `echo ${i}\n`);
      await waitFor(`sends for job ${i}`, () => sends.length >= before + 2, 30_000, 1);
      toDo.push(sends[before] - t0);
      toDs.push(sends[before + 1] - t0);
    }
    return { jobs: o.jobs, transport: 'gmail (emulator)', ...(idleFigures ? { idle: idleFigures } : {}), to_do_first_send_ms: mapStats(toDo), to_ds_send_ms: mapStats(toDs), total_sends: sends.length - sends0 };
  } finally {
    sb.cleanup(o.keep);
    await emu.close();
  }
}

function mapStats(xs) {
  const s = stats(xs);
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, k === 'n' ? v : r1(v)]));
}

async function burst(o) {
  const sb = sandbox(o.dir, 'nbench-burst');
  try {
    sb.cli(['init', '-e', DO, '-r', sb.root]);
    editConfig(sb, (t) => {
      let x = t.replace(/^(  heartbeat_enabled: )true$/m, '$1false');
      if (o.rate) x = x.replace(/^notify:\n/m, `notify:\n  send_rate_per_second: ${o.rate}\n  send_burst: ${o.rate}\n`);
      return x;
    });
    const cfgText = fs.readFileSync(path.join(sb.syftBgHome, 'config.yaml'), 'utf8');
    const maildir = path.resolve(sb.home, (/maildir_path: (.*)/.exec(cfgText) || [])[1] || path.join(sb.syftBgHome, 'mail'));
    fs.mkdirSync(path.join(sb.root, DO, 'app_data', 'job', 'inbox'), { recursive: true });
    const datasite = await prefill(sb, o.datasite);
    sb.cli(['start', 'notify']);
    await waitFor('journal', () => fs.existsSync(path.join(sb.syftBgHome, 'notify', 'journal.jsonl')), 30_000, 20);
    if (datasite) await firstPass(sb);
    const pid = servicePid(sb);
    const idle = procStatus(pid);
    const newDir = path.join(maildir, 'new');
    const count = () => { try { return fs.readdirSync(newDir).length; } catch { return 0; } };
    const before = count();
    const t0 = performance.now();
    for (let i = 0; i < o.burst; i++) writeJob(sb.root, `burst-${String(i).padStart(5, '0')}`, `echo ${i}\n`);
    const written = performance.now() - t0;
    let peak = idle.hwm;
    const want = before + 2 * o.burst;
    let firstMailMs;
    await waitFor('all mails', () => {
      const n = count();
      if (firstMailMs === undefined && n > before) firstMailMs = performance.now() - t0;
      peak = Math.max(peak, procStatus(pid).hwm);
      return n >= want;
    }, 30 * 60_000, 50);
    const total = performance.now() - t0;
    await sleep(2000); // anything extra would show up now
    const files = fs.readdirSync(newDir);
    const ids = new Map();
    for (const f of files) {
      const head = fs.readFileSync(path.join(newDir, f), 'utf8').split('\n\n')[0];
      const id = (/^Message-ID: (.*)$/im.exec(head) || [])[1];
      const subject = (/^Subject: (.*)$/im.exec(head) || [])[1];
      if (!/burst-/.test(subject || '')) continue;
      ids.set(id, (ids.get(id) || 0) + 1);
    }
    const status = JSON.parse(fs.readFileSync(path.join(sb.syftBgHome, 'notify', 'status.json'), 'utf8'));
    return {
      jobs: o.burst,
      ...(datasite ? { jobs_in_datasite: datasite.jobs } : {}),
      transport: 'maildir',
      rate: o.rate ? `${o.rate}/s` : 'default (50/s, burst 50)',
      jobs_written_ms: Math.round(written),
      first_mail_ms: Math.round(firstMailMs ?? NaN),
      total_ms: Math.round(total),
      mails: files.length - before,
      distinct_message_ids: ids.size,
      duplicates: [...ids.values()].filter((n) => n > 1).length,
      mails_per_s: r1(((files.length - before) / total) * 1000),
      rss_idle_mb: r1(idle.rss / 1048576),
      peak_rss_mb: r1(peak / 1048576),
      status_after: { pending: status.pending, failing: status.failing.length, sent_since_start: status.sent_since_start },
    };
  } finally {
    sb.cleanup(o.keep);
  }
}

async function main() {
  const o = options(process.argv);
  if (!fs.existsSync(CLI)) throw new Error('run `npm run build` first');
  const result = { when: new Date().toISOString(), node: process.version, cpus: os.cpus().length, dir: o.dir };
  console.log(`latency: ${o.jobs} jobs over Gmail (emulator)${o.datasite ? `, on a datasite of ${o.datasite} jobs` : ''}…`);
  result.latency = await latency(o);
  console.log(JSON.stringify(result.latency, null, 2));
  if (o.burst > 0) {
    console.log(`burst: ${o.burst} jobs over the Maildir…`);
    result.burst = await burst(o);
    console.log(JSON.stringify(result.burst, null, 2));
  }
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  const out = path.join(__dirname, 'results', `notify-${result.when.replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(`written ${path.relative(ROOT, out)}`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
