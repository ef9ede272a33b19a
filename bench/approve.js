#!/usr/bin/env node
// Figures for the approve-service performance issue (a benchmark, not a test). For each datasite size (default
// 0, 1,000 and 10,000 jobs made by bench/gen-datasite.js, plus the peer folders), in its own throw-away HOME and
// PM2_HOME, with the real service under PM2 (`init`, `auto-approve script.sh -p ds@example.org -n bench`,
// `start approve`); numbered as in the issue (2 is the generator, bench/gen-datasite.js):
//
//   1. approval latency: N trivial bash jobs submitted one at a time (mkdir, code/script.sh, run.sh, config.yaml
//      last, as a syncer writes them; a random 50-250 ms pause between jobs), from the moment config.yaml has
//      landed to the moment state.yaml says `approved` (and then `done`), seen by polling state.yaml every 1 ms.
//      Each job is written once the service has used no CPU for 150 ms (plus a random 0-100 ms), i.e. on an idle
//      service, not while a pass triggered by the previous job is still in flight.
//      Also from the service's own stamps in state.yaml (received_at/approved_at/completed_at, same clock) and
//      done -> `ran` in decisions.jsonl (the results being shared). Extra variants: "paced" (files written 100 ms apart, as a
//      slow syncer does; smallest size) and "busy" (a job landing just as the previous one reached `done`; largest
//      size).
//   3. cold scan: in-process (bench/approve-scan.js, fresh process per sample: recoverInterrupted + first
//      engine.pass() + idle passes, RSS), and under PM2: `start approve` -> a probe job placed before the start
//      (under a peer that sorts last, so it is the last job of the first pass) is approved. RSS (VmRSS, VmHWM) of
//      the service after that first pass and later.
//   4. idle CPU of the service (and of the PM2 daemon) over --idle seconds on the largest datasite, starting
//      --idle-settle seconds after the last job finished (its GC and follow-up passes over), from
//      /proc/<pid>/stat utime+stime (sampled every 10 ms: the bursts are the interval passes, and their CPU each).
//   5. permission-file limit: how many runs from one peer review/<ds>/syft.pub.yaml can record before the runner
//      can no longer edit it (byte cap MAX_PERMISSION_FILE_BYTES, YAML node cap of pyyaml.ts; found in-process with
//      dist/'s parseRuleSet), and, under PM2, does a new matching job reach `done` on a datasite whose one peer
//      already has 3,000 runs? (--no-cap-check skips both)
//   Machine noise: a fixed CPU workload timed at start and end, file-creation cost in the bench folder, CPU steal.
//
// Usage: npm run build && node bench/approve.js [--jobs 50] [--jobs-at-max 15] [--sizes 0,1000,10000]
//          [--idle 60] [--idle-settle 30] [--scan-runs 3] [--paced-jobs 4] [--paced-gap 100] [--busy-jobs 3] [--no-cap-check]
//          [--dir DIR] [--keep]
//   --dir: where the sandboxes go. Default /dev/shm (tmpfs) when writable, else the OS temp dir: on the VM this was
//     written on, creating a file on the ext4 disk cost 0.1-0.7 ms and varied tenfold from run to run, which drowned
//     the service's own costs. `--dir /tmp` measures on the disk.
//   The largest size runs only --jobs-at-max jobs: there each run spends ~3 s editing review/<ds>/syft.pub.yaml
//     (5 parse + emit rounds of a ~400 KB file), so 50 jobs alone would take ~3 minutes.
// Writes bench/results/approve-<time>.json and prints a summary. About 5 minutes with the defaults.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawnSync } = require('node:child_process');
const { generate, rulesYaml } = require('./gen-datasite');

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const PM2 = require.resolve('pm2/bin/pm2', { paths: [ROOT] });
const SCAN = path.join(__dirname, 'approve-scan.js');
const DO = 'do@example.com';
const DS = 'ds@example.org';
const PROBE_DS = 'zz-probe@example.org'; // sorts after every generated peer: its job is the last of a pass
const SCRIPT = "cd code\nmkdir -p outputs\necho 'hello from job'\necho '{\"n\": 42}' > outputs/result.json\n";
// The bench datasites: the generator's default mix without jobs approved-but-not-run (a service runs those at
// start; at 10,000 jobs that is ~50 runs of ~3 s each before the service is idle).
const BENCH_MIX = { done: 88.5, failed: 5, rejected: 4, pending: 2.5, approved: 0 };

// ---------------------------------------------------------------------------------------------------------------
// options

function options(argv) {
  const o = { jobs: 50, jobsAtMax: 15, sizes: [0, 1000, 10000], idle: 60, idleSettle: 30, scanRuns: 3, pacedJobs: 4, pacedGap: 100, busyJobs: 3, capCheck: true, dir: null, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 0) throw new Error(`${a} needs a number`);
      return v;
    };
    if (a === '--jobs') o.jobs = num();
    else if (a === '--jobs-at-max') o.jobsAtMax = num();
    else if (a === '--sizes') o.sizes = argv[++i].split(',').map(Number);
    else if (a === '--idle') o.idle = num();
    else if (a === '--idle-settle') o.idleSettle = num();
    else if (a === '--scan-runs') o.scanRuns = num();
    else if (a === '--paced-jobs') o.pacedJobs = num();
    else if (a === '--paced-gap') o.pacedGap = num();
    else if (a === '--busy-jobs') o.busyJobs = num();
    else if (a === '--dir') o.dir = path.resolve(argv[++i]);
    else if (a === '--keep') o.keep = true;
    else if (a === '--no-cap-check') o.capCheck = false;
    else throw new Error(`unknown option ${a}`);
  }
  if (o.sizes.some((n) => !Number.isInteger(n) || n < 0)) throw new Error('--sizes: non-negative integers');
  o.sizes.sort((a, b) => a - b);
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

// ---------------------------------------------------------------------------------------------------------------
// small tools

const wallMs = () => performance.timeOrigin + performance.now(); // the service stamps state.yaml with this clock
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rng = mulberry32(7);

const r1 = (x) => (x === null || x === undefined ? null : +x.toFixed(1));
function stats(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x));
  const missing = xs.length - v.length;
  if (v.length === 0) return { n: 0, missing };
  const s = [...v].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
  return { n: s.length, ...(missing ? { missing } : {}), min: r1(s[0]), p50: r1(q(0.5)), p90: r1(q(0.9)), p99: r1(q(0.99)), max: r1(s[s.length - 1]) };
}
const short = (st) => (st.n ? `min ${st.min}  p50 ${st.p50}  p90 ${st.p90}  p99 ${st.p99}  max ${st.max}  (n=${st.n}${st.missing ? `, ${st.missing} timed out` : ''})` : `no samples${st.missing ? ` (${st.missing} timed out)` : ''}`);

/** `'2026-11-25T18:46:23.650403Z'` -> epoch ms with the microseconds. */
function isoMs(iso) {
  if (!iso) return null;
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(iso);
  if (!m) return null;
  const frac = (m[2] ?? '').padEnd(6, '0').slice(0, 6);
  return Date.parse(`${m[1]}Z`) + Number(frac) / 1000;
}
function stateFields(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+): (.*)$/.exec(line);
    if (m) out[m[1]] = m[2].replace(/^'(.*)'$/, '$1');
  }
  return out;
}

function procStatus(pid) {
  try {
    const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(st)?.[1] ?? NaN);
    return { rss_mb: r1(kb('VmRSS') / 1024), hwm_mb: r1(kb('VmHWM') / 1024) };
  } catch {
    return null;
  }
}
/** utime + stime of a process, in clock ticks. */
function cpuTicks(pid) {
  const t = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = t.slice(t.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** cpu line of /proc/stat: [user, nice, system, idle, iowait, irq, softirq, steal]. */
function cpuTimes() {
  return fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
}

/** Wait until the process has used no CPU for `quietMs` (a pass or a run in flight has ended). */
function waitQuiet(pid, quietMs = 150, timeoutMs = 10_000) {
  const deadline = wallMs() + timeoutMs;
  let last = cpuTicks(pid);
  let since = wallMs();
  while (wallMs() < deadline) {
    sleep(10);
    const c = cpuTicks(pid);
    if (c !== last) {
      last = c;
      since = wallMs();
    } else if (wallMs() - since >= quietMs) return true;
  }
  return false;
}

/**
 * Sample the CPU ticks of `pid` every 10 ms for `seconds`: total CPU, and the bursts (runs of samples with CPU use,
 * separated by >= 200 ms without): on an idle service each burst is one pass.
 */
function cpuProfile(pid, seconds) {
  const samples = [];
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    samples.push([performance.now(), cpuTicks(pid)]);
    sleep(10);
  }
  samples.push([performance.now(), cpuTicks(pid)]);
  const bursts = [];
  let cur = null;
  for (let i = 1; i < samples.length; i++) {
    const [t, c] = samples[i];
    const d = c - samples[i - 1][1];
    if (d > 0) {
      if (cur && samples[i - 1][0] - cur.end < 200) {
        cur.ticks += d;
        cur.end = t;
      } else {
        cur = { start: samples[i - 1][0], end: t, ticks: d };
        bursts.push(cur);
      }
    }
  }
  const secs = (samples[samples.length - 1][0] - t0) / 1000;
  const ticks = samples[samples.length - 1][1] - samples[0][1];
  return {
    seconds: r1(secs),
    cpu_percent: +(((ticks / CLK_TCK) / secs) * 100).toFixed(2),
    bursts: bursts.length,
    burst_cpu_ms: stats(bursts.map((b) => (b.ticks / CLK_TCK) * 1000)),
    burst_wall_ms: stats(bursts.map((b) => b.end - b.start)),
    burst_interval_ms: stats(bursts.slice(1).map((b, i) => b.start - bursts[i].start)),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// machine noise

function calibrate() {
  const buf = Buffer.alloc(1 << 20, 7);
  const cpu = [];
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    for (let k = 0; k < 40; k++) crypto.createHash('sha256').update(buf).digest();
    cpu.push(performance.now() - t);
  }
  return stats(cpu);
}
function fileCreateCost(dir) {
  const d = fs.mkdtempSync(path.join(dir, 'fc-'));
  const t = performance.now();
  for (let i = 0; i < 300; i++) {
    fs.mkdirSync(path.join(d, `d${i}`));
    fs.writeFileSync(path.join(d, `d${i}`, 'f'), 'x');
  }
  const us = ((performance.now() - t) * 1000) / 600;
  fs.rmSync(d, { recursive: true, force: true });
  return +us.toFixed(1);
}

// ---------------------------------------------------------------------------------------------------------------
// sandbox

function makeSandbox(base, tag) {
  // Short paths: PM2's unix sockets live in PM2_HOME (sun_path is limited to 107 bytes).
  const dir = fs.mkdtempSync(path.join(base, `ba${tag}-`));
  const env = { PATH: process.env.PATH, HOME: path.join(dir, 'h'), PM2_HOME: path.join(dir, 'p'), LANG: 'C.UTF-8' };
  fs.mkdirSync(env.HOME, { recursive: true });
  fs.mkdirSync(env.PM2_HOME, { recursive: true });
  fs.writeFileSync(path.join(env.PM2_HOME, 'touch'), String(Date.now())); // no version check from the pm2 binary
  const sb = {
    dir,
    env,
    root: path.join(dir, 'SyftBox'),
    syftBg: path.join(env.HOME, '.syft-bg'),
    cli(args, extraEnv = {}) {
      const t = performance.now();
      const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 120_000, cwd: dir });
      if (r.error) throw r.error;
      if (r.status !== 0) throw new Error(`syft-bg ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`);
      return { ms: performance.now() - t, out: r.stdout };
    },
    servicePid() {
      const j = JSON.parse(sb.cli(['status', '--json']).out);
      const s = j.services.find((x) => x.name === 'approve');
      if (!s || s.state !== 'online' || !s.pid) throw new Error(`approve is not online: ${JSON.stringify(s)}`);
      return s.pid;
    },
    daemonPid() {
      try {
        return Number(fs.readFileSync(path.join(env.PM2_HOME, 'pm2.pid'), 'utf8').trim()) || null;
      } catch {
        return null;
      }
    },
    kill() {
      if (fs.existsSync(path.join(env.PM2_HOME, 'rpc.sock')) || fs.existsSync(path.join(env.PM2_HOME, 'pm2.pid'))) {
        spawnSync(process.execPath, [PM2, 'kill'], { env, encoding: 'utf8', timeout: 30_000 });
      }
    },
  };
  return sb;
}

function jobDirs(root, ds, name) {
  const base = path.join(root, DO, 'app_data', 'job');
  return { inbox: path.join(base, 'inbox', ds, name), review: path.join(base, 'review', ds, name) };
}

/**
 * A bash job as syft-job writes it for a data scientist (test/helpers/datasite.ts writeBashJob): code/script.sh,
 * run.sh (= the script), config.yaml last, `gapMs` apart. Returns the wall time at which config.yaml landed.
 */
function writeBashJob(root, ds, name, script, gapMs = 0) {
  const { inbox } = jobDirs(root, ds, name);
  const config =
    'code_path: null\ndatasets: null\ndependencies: []\nentrypoint: null\nfiles:\n- script.sh\nheaders: {}\n' +
    `is_folder_submission: false\njob_type: local\nname: ${name}\nsubmitted_at: '${new Date().toISOString().slice(0, 23)}000Z'\ntype: bash\n`;
  const gap = () => gapMs > 0 && sleep(gapMs);
  fs.mkdirSync(path.join(inbox, 'code'), { recursive: true });
  gap();
  fs.writeFileSync(path.join(inbox, 'code', 'script.sh'), script);
  gap();
  fs.writeFileSync(path.join(inbox, 'run.sh'), script);
  gap();
  fs.writeFileSync(path.join(inbox, 'config.yaml'), config);
  return wallMs();
}

/** Poll state.yaml every ~1 ms until `approved` (or later) is seen, and, with `untilDone`, until done/failed. */
function pollState(root, ds, name, { untilDone, timeoutMs }) {
  const file = path.join(jobDirs(root, ds, name).review, 'state.yaml');
  const deadline = wallMs() + timeoutMs;
  let tApproved = null;
  let status = null;
  let text = null;
  for (;;) {
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      text = null;
    }
    const t = wallMs();
    if (text) {
      status = /^status: (\w+)$/m.exec(text)?.[1] ?? null;
      if (tApproved === null && status && status !== 'pending' && status !== 'received') tApproved = t;
      if (status === 'done' || status === 'failed') return { tApproved, tDone: t, status, text };
      if (!untilDone && tApproved !== null) return { tApproved, tDone: null, status, text };
    }
    if (t > deadline) return { tApproved, tDone: null, status, text, timedOut: true };
    sleep(1);
  }
}

/** Incremental reader of approve/decisions.jsonl. */
function decisionsTail(file) {
  let offset = 0;
  let rest = '';
  const recs = [];
  const read = () => {
    let fd;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      return recs;
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size > offset) {
        const buf = Buffer.alloc(size - offset);
        fs.readSync(fd, buf, 0, buf.length, offset);
        offset = size;
        const lines = (rest + buf.toString('utf8')).split('\n');
        rest = lines.pop();
        for (const l of lines) if (l.trim()) recs.push(JSON.parse(l));
      }
    } finally {
      fs.closeSync(fd);
    }
    return recs;
  };
  return {
    read,
    waitFor(pred, timeoutMs) {
      const deadline = wallMs() + timeoutMs;
      for (;;) {
        const r = read().find(pred);
        if (r) return r;
        if (wallMs() > deadline) return null;
        sleep(2);
      }
    },
  };
}

/** Submit one job and measure it; returns once its results are shared (`ran` in decisions.jsonl). */
function measureJob(sb, tail, name, { gapMs = 0, timeoutMs = 20_000 } = {}) {
  const tLast = writeBashJob(sb.root, DS, name, SCRIPT, gapMs);
  const p = pollState(sb.root, DS, name, { untilDone: true, timeoutMs });
  const f = p.text ? stateFields(p.text) : {};
  const ran = tail.waitFor((r) => r.job === name && r.verdict === 'ran', timeoutMs);
  return {
    name,
    status: p.status,
    approved_ms: p.tApproved === null ? null : p.tApproved - tLast,
    done_ms: p.tDone === null ? null : p.tDone - tLast,
    // The service's own stamps (same clock as wallMs()):
    stamp_received_ms: isoMs(f.received_at) === null ? null : isoMs(f.received_at) - tLast,
    stamp_approved_ms: isoMs(f.approved_at) === null ? null : isoMs(f.approved_at) - tLast,
    stamp_completed_ms: isoMs(f.completed_at) === null ? null : isoMs(f.completed_at) - tLast,
    done_to_ran_ms: ran && p.tDone !== null ? Date.parse(ran.time) - p.tDone : null,
  };
}

function summarise(samples) {
  const col = (k) => stats(samples.map((s) => s[k]));
  return {
    approved_ms: col('approved_ms'),
    done_ms: col('done_ms'),
    stamp_received_ms: col('stamp_received_ms'),
    stamp_approved_ms: col('stamp_approved_ms'),
    stamp_completed_ms: col('stamp_completed_ms'),
    done_to_ran_ms: col('done_to_ran_ms'),
  };
}

/** Every record of the service's log (pino JSON lines), oldest first. */
function logAll(sb) {
  const dir = path.join(sb.syftBg, 'logs', 'approve');
  const out = [];
  let files = [];
  try {
    // current.log is a symlink to the newest file: skip links, or every line counts twice.
    files = fs.readdirSync(dir).filter((f) => f.endsWith('.log') && !fs.lstatSync(path.join(dir, f)).isSymbolicLink());
  } catch {
    return out;
  }
  for (const f of files) {
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const j = JSON.parse(line);
        out.push({ ...j, t: typeof j.time === 'number' ? j.time : Date.parse(j.time) });
      } catch {
        // a line being written
      }
    }
  }
  return out.sort((a, b) => a.t - b.t);
}
const logRecords = (sb, msg) => logAll(sb).filter((r) => r.msg === msg);

// ---------------------------------------------------------------------------------------------------------------
// one datasite size

async function scenario(o, size, isMax, isMin, log) {
  const res = { size };
  const sb = makeSandbox(o.dir, size);
  try {
    sb.cli(['init', '-e', DO, '-r', sb.root]);
    const gen = await generate({ root: sb.root, count: size, do: DO, peers: 10, seed: 42, mix: BENCH_MIX, stateJson: path.join(sb.syftBg, 'approve', 'state.json') });
    res.generate = { seconds: gen.seconds, counts: gen.counts, files: gen.files, mbytes: gen.mbytes, review_syft_pub_yaml_bytes_ds: gen.review_syft_pub_yaml_bytes_first_peer };
    log(`  generated ${size} jobs in ${gen.seconds} s (${gen.files} files; review/${DS}/syft.pub.yaml ${gen.review_syft_pub_yaml_bytes_first_peer} B)`);
    const script = path.join(sb.dir, 'script.sh');
    fs.writeFileSync(script, SCRIPT);
    sb.cli(['auto-approve', script, '-p', DS, '-p', PROBE_DS, '-n', 'bench']);

    // 3a. cold scan, in-process, fresh process per sample.
    if (size > 0 && o.scanRuns > 0) {
      res.scan = [];
      for (let i = 0; i < o.scanRuns; i++) {
        const r = spawnSync(process.execPath, ['--expose-gc', SCAN, '--passes', '5'], { env: sb.env, encoding: 'utf8', timeout: 180_000 });
        if (r.status !== 0) throw new Error(`approve-scan failed: ${r.stderr}`);
        res.scan.push(JSON.parse(r.stdout));
      }
      const s = res.scan;
      res.scan_summary = {
        recover_ms: stats(s.map((x) => x.recover_ms)),
        pass1_ms: stats(s.map((x) => x.pass1_ms)),
        start_to_pass1_end_ms: stats(s.map((x) => x.start_to_pass1_end_ms)),
        idle_pass_ms: stats(s.flatMap((x) => x.idle_pass_ms)),
        idle_pass_reads: s[0].idle_pass_reads[0],
        full_pass_ms: stats(s.flatMap((x) => x.full_pass_ms ?? [])),
        full_pass_reads: s[0].full_pass_reads?.[0] ?? null,
        rss_mb_after_pass1: stats(s.map((x) => x.rss_mb_after_pass1)),
        heap_used_mb_after_pass1_gc: stats(s.map((x) => x.heap_used_mb_after_pass1_gc)),
        watch_paths: s[0].watch_paths,
      };
      log(`  in-process: recover ${short(res.scan_summary.recover_ms)}`);
      log(`              pass 1  ${short(res.scan_summary.pass1_ms)}`);
      log(`              idle pass ${short(res.scan_summary.idle_pass_ms)} (${res.scan_summary.idle_pass_reads} jobs re-read each)`);
      log(`              full pass ${short(res.scan_summary.full_pass_ms)} (${res.scan_summary.full_pass_reads} jobs re-read each)`);
      log(`              RSS after pass 1 ${short(res.scan_summary.rss_mb_after_pass1)} MB; live heap after GC ${res.scan_summary.heap_used_mb_after_pass1_gc.p50} MB`);
    }

    // 3b. cold start under PM2: the probe is the last job of the first pass.
    writeBashJob(sb.root, PROBE_DS, 'zz-probe', SCRIPT);
    const tStart = wallMs();
    // debug: the service logs each pass that did something ('approve pass', with its duration in ms).
    const start = sb.cli(['start', 'approve'], { SYFT_BG_LOG_LEVEL: 'debug' });
    const probe = pollState(sb.root, PROBE_DS, 'zz-probe', { untilDone: false, timeoutMs: 120_000 });
    const pf = probe.text ? stateFields(probe.text) : {};
    const pid = sb.servicePid();
    const daemon = sb.daemonPid();
    const started = logRecords(sb, 'approve started').find((r) => r.t >= tStart - 1000)?.t;
    res.pm2_start = {
      start_cli_ms: r1(start.ms),
      start_to_service_started_log_ms: started ? r1(started - tStart) : null,
      start_to_probe_approved_ms: isoMs(pf.approved_at) === null ? null : r1(isoMs(pf.approved_at) - tStart),
      rss_after_first_pass: procStatus(pid),
    };
    log(`  PM2: start -> 'approve started' ${res.pm2_start.start_to_service_started_log_ms} ms, -> probe approved (first pass over) ${res.pm2_start.start_to_probe_approved_ms} ms; RSS ${JSON.stringify(res.pm2_start.rss_after_first_pass)}`);
    const tail = decisionsTail(path.join(sb.syftBg, 'approve', 'decisions.jsonl'));
    tail.waitFor((r) => r.job === 'zz-probe' && r.verdict === 'ran', 60_000);
    sleep(1000);

    // 1. latency, one job at a time.
    const n = isMax && o.sizes.length > 1 ? Math.min(o.jobs, o.jobsAtMax) : o.jobs;
    const samples = [];
    const tLat = wallMs();
    for (let i = 0; i < n; i++) {
      // An idle service: the passes the previous run triggered are over (else the job is picked up by a pass
      // already in flight, which is faster than a fresh one on a large datasite), then a random pause.
      waitQuiet(pid);
      sleep(Math.floor(rng() * 100));
      samples.push(measureJob(sb, tail, `lat-${String(i).padStart(3, '0')}`));
    }
    res.latency = { jobs: n, ...summarise(samples), samples };
    // The passes that received + approved these jobs, as the service logged them (their `ms` includes the
    // runner's synchronous set-up of the job it queued: materialise, outputs permission rule, state -> running).
    const passes = logRecords(sb, 'approve pass').filter((r) => r.t >= tLat && r.pass?.approved > 0);
    res.latency.service_pass_ms = stats(passes.map((r) => r.pass.ms));
    res.latency.service_pass_reads = stats(passes.map((r) => r.pass.read));
    log(`  approved  ${short(res.latency.approved_ms)} ms`);
    log(`  done      ${short(res.latency.done_ms)} ms`);
    log(`  service passes that approved them: ${short(res.latency.service_pass_ms)} ms (jobs read per pass p50 ${res.latency.service_pass_reads.p50})`);
    log(`  stamps: received ${res.latency.stamp_received_ms.p50}, approved ${res.latency.stamp_approved_ms.p50}, completed ${res.latency.stamp_completed_ms.p50} ms (p50); done -> results shared (ran) ${short(res.latency.done_to_ran_ms)} ms`);
    res.rss_after_latency = procStatus(pid);

    // Variant: a slow syncer (files `pacedGap` ms apart), smallest size only.
    if (isMin && o.pacedJobs > 0) {
      const ps = [];
      for (let i = 0; i < o.pacedJobs; i++) {
        waitQuiet(pid);
        sleep(Math.floor(rng() * 100));
        ps.push(measureJob(sb, tail, `paced-${String(i).padStart(3, '0')}`, { gapMs: o.pacedGap, timeoutMs: 15_000 }));
      }
      res.paced = { gap_ms: o.pacedGap, jobs: o.pacedJobs, ...summarise(ps), samples: ps };
      log(`  paced (${o.pacedGap} ms between files): approved ${short(res.paced.approved_ms)} ms`);
    }

    // Variant: a job arriving just as the previous one reached `done` (its results are then being shared).
    if (isMax && o.busyJobs > 0 && size > 0) {
      const bs = [];
      for (let i = 0; i < o.busyJobs; i++) {
        waitQuiet(pid);
        const a = `busyA-${i}`;
        writeBashJob(sb.root, DS, a, SCRIPT);
        pollState(sb.root, DS, a, { untilDone: true, timeoutMs: 30_000 });
        bs.push(measureJob(sb, tail, `busyB-${i}`, { timeoutMs: 30_000 }));
      }
      res.busy = { jobs: o.busyJobs, ...summarise(bs), samples: bs };
      log(`  busy (lands as the previous job reaches done): approved ${short(res.busy.approved_ms)} ms`);
    }

    // 4. idle CPU.
    if (isMax && o.idle > 0) {
      // Idle means idle: the last job's run, its garbage collection and the passes it triggered are over.
      sleep(o.idleSettle * 1000);
      const d0 = daemon ? cpuTicks(daemon) : null;
      const p = cpuProfile(pid, o.idle);
      const dmn = daemon ? ((cpuTicks(daemon) - d0) / CLK_TCK / p.seconds) * 100 : null;
      res.idle = { ...p, service_cpu_percent: p.cpu_percent, pm2_daemon_cpu_percent: dmn === null ? null : +dmn.toFixed(2), rss: procStatus(pid) };
      log(`  idle ${res.idle.seconds} s: service ${res.idle.service_cpu_percent} % of a core, PM2 daemon ${res.idle.pm2_daemon_cpu_percent} %; RSS ${JSON.stringify(res.idle.rss)}`);
      log(`    ${p.bursts} bursts of CPU (= passes) every ${p.burst_interval_ms.p50} ms (p50); CPU per burst ${short(p.burst_cpu_ms)} ms`);
    }
    res.service_restarts = JSON.parse(sb.cli(['status', '--json']).out).services.find((x) => x.name === 'approve').restarts;
  } finally {
    sb.kill();
    if (o.keep) log(`  kept ${sb.dir}`);
    else fs.rmSync(sb.dir, { recursive: true, force: true });
  }
  return res;
}

/** One job on a datasite where the submitter's review/<ds>/syft.pub.yaml has passed 1 MiB (3,000 earlier runs). */
async function capCheck(o, log) {
  const sb = makeSandbox(o.dir, 'cap');
  try {
    sb.cli(['init', '-e', DO, '-r', sb.root]);
    const gen = await generate({ root: sb.root, count: 3000, do: DO, peers: 1, seed: 42, mix: { done: 95, failed: 5 } });
    const script = path.join(sb.dir, 'script.sh');
    fs.writeFileSync(script, SCRIPT);
    sb.cli(['auto-approve', script, '-p', DS, '-n', 'bench']);
    sb.cli(['start', 'approve']);
    for (let i = 0; i < 300 && logRecords(sb, 'approve started').length === 0; i++) sleep(100);
    const tLast = writeBashJob(sb.root, DS, 'cap-job', SCRIPT);
    const approved = pollState(sb.root, DS, 'cap-job', { untilDone: false, timeoutMs: 10_000 });
    // Then: done, or the runner's refusal in the log (at most 8 s), and 1 s more to see that nothing follows.
    const stateFile = path.join(jobDirs(sb.root, DS, 'cap-job').review, 'state.yaml');
    const statusNow = () => /^status: (\w+)$/m.exec(fs.readFileSync(stateFile, 'utf8'))?.[1] ?? null;
    let why = null;
    const deadline = wallMs() + 8000;
    while (wallMs() < deadline) {
      why = logAll(sb).find((j) => j.job === `${DS}/cap-job` && j.code);
      const st = statusNow();
      if (why || st === 'done' || st === 'failed') break;
      sleep(50);
    }
    sleep(1000);
    const m = { status: statusNow(), approved_ms: approved.tApproved === null ? null : approved.tApproved - tLast };
    // The largest number of earlier runs (4 rules each) whose file the runner can still read and edit.
    const d = require(path.join(ROOT, 'dist', 'lib', 'datasite'));
    const names = (n) => Array.from({ length: n }, (_, i) => `hello-${String(i).padStart(6, '0')}`);
    const editable = (n) => {
      const text = rulesYaml(DO, DS, names(n));
      return Buffer.byteLength(text) <= d.MAX_PERMISSION_FILE_BYTES && d.parseRuleSet(text).ok;
    };
    // Bisection to 8 runs between 256 and 8,192 (each probe parses up to ~3 MB: ~1 s).
    let lo = 256;
    let hi = 8192;
    if (!editable(lo)) hi = lo = 0;
    else if (editable(hi)) lo = hi;
    while (hi - lo > 8) {
      const mid = (lo + hi) >> 1;
      if (editable(mid)) lo = mid;
      else hi = mid;
    }
    const failText = rulesYaml(DO, DS, names(hi));
    const failParse = d.parseRuleSet(failText);
    const limit = {
      max_runs_per_peer: lo,
      fails_at_runs: hi,
      max_bytes: d.MAX_PERMISSION_FILE_BYTES,
      fails_with: Buffer.byteLength(failText) > d.MAX_PERMISSION_FILE_BYTES ? `over ${d.MAX_PERMISSION_FILE_BYTES} bytes` : failParse.ok ? null : failParse.problem.message,
    };
    if (lo === hi) log(`  review/<ds>/syft.pub.yaml stays editable with ${lo} runs from one peer (${Buffer.byteLength(rulesYaml(DO, DS, names(lo)))} B), the largest probed`);
    else log(`  review/<ds>/syft.pub.yaml stays editable up to ${lo}-${hi - 1} runs from one peer (${Buffer.byteLength(rulesYaml(DO, DS, names(lo)))} B); at ${hi}: ${limit.fails_with}`);
    const res = { limit, earlier_runs: gen.counts.done + gen.counts.failed, review_syft_pub_yaml_bytes: gen.review_syft_pub_yaml_bytes_first_peer, status_after: m.status, approved_ms: r1(m.approved_ms), not_run: why ? why.msg.split(sb.dir).join('<sandbox>') : null };
    log(`  ${res.earlier_runs} earlier runs, syft.pub.yaml ${res.review_syft_pub_yaml_bytes} B: new job ${res.status_after}${res.not_run ? `: ${res.not_run}` : ''}`);
    return res;
  } finally {
    sb.kill();
    if (o.keep) log(`  kept ${sb.dir}`);
    else fs.rmSync(sb.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------

async function main() {
  const o = options(process.argv.slice(2));
  if (!fs.existsSync(CLI)) {
    console.error('Build first: npx tsc -p tsconfig.json');
    process.exit(1);
  }
  const log = (s) => console.log(s);
  const tAll = performance.now();
  const fsType = spawnSync('stat', ['-f', '-c', '%T', o.dir], { encoding: 'utf8' }).stdout.trim();
  const cpu0 = cpuTimes();
  const noise = { cpu_calibration_ms_start: calibrate(), file_create_us_start: fileCreateCost(o.dir), loadavg_start: fs.readFileSync('/proc/loadavg', 'utf8').trim() };
  log(`approve benchmark: sizes ${o.sizes.join(', ')}; ${o.dir} (${fsType}); ${os.cpus().length} CPUs; node ${process.version}`);
  log(`noise: sha256 40 MB ${short(noise.cpu_calibration_ms_start)} ms; mkdir+create ${noise.file_create_us_start} µs/op`);
  const scenarios = [];
  for (const size of o.sizes) {
    log(`\n== datasite with ${size} jobs`);
    scenarios.push(await scenario(o, size, size === o.sizes[o.sizes.length - 1], size === o.sizes[0], log));
  }
  let cap = null;
  if (o.capCheck) {
    log('\n== permission-file limit');
    cap = await capCheck(o, log);
  }
  const cpu1 = cpuTimes();
  const total = cpu1.reduce((a, b) => a + b, 0) - cpu0.reduce((a, b) => a + b, 0);
  noise.cpu_calibration_ms_end = calibrate();
  noise.file_create_us_end = fileCreateCost(o.dir);
  noise.steal_percent = +((100 * (cpu1[7] - cpu0[7])) / total).toFixed(2);
  noise.iowait_percent = +((100 * (cpu1[4] - cpu0[4])) / total).toFixed(2);
  log(`\nnoise at the end: sha256 40 MB ${short(noise.cpu_calibration_ms_end)} ms; mkdir+create ${noise.file_create_us_end} µs/op; steal ${noise.steal_percent} %, iowait ${noise.iowait_percent} % over the run`);
  const git = (args) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout?.trim() ?? null;
  const result = {
    when: new Date().toISOString(),
    commit: git(['rev-parse', '--short', 'HEAD']),
    dirty_files: (git(['status', '--porcelain']) || '').split('\n').filter(Boolean),
    dist_built: fs.statSync(path.join(ROOT, 'dist', 'lib', 'approve', 'engine.js')).mtime.toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model,
    dir: o.dir,
    fs_type: fsType,
    options: o,
    targets: { approved_p50_ms: 100, approved_p99_ms: 500, cold_scan_ms: 2000, rss_mb: 100, idle_cpu_percent: 0.5 },
    noise,
    scenarios,
    permission_cap: cap,
    total_seconds: r1((performance.now() - tAll) / 1000),
  };
  const outDir = path.join(__dirname, 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const out = path.join(outDir, `approve-${result.when.replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(out, JSON.stringify(result, null, 2));
  log(`\ntotal ${result.total_seconds} s; results in ${path.relative(ROOT, out)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
