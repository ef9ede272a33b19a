#!/usr/bin/env node
// Figures for the foundation issue (a benchmark, not a test):
//   1. `syft-bg status` wall time with the daemon up, and `pm2 jlist` in the same run;
//   2. `syft-bg ensure-running notify approve` from no daemon to both online and ready;
//   3. RSS of each idle service.
// Runs in a throw-away HOME and PM2_HOME; needs `npm run build` first. Usage: node bench/cli.js [runs]
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const PM2 = require.resolve('pm2/bin/pm2', { paths: [ROOT] });
const RUNS = Number(process.argv[2] || 15);

if (!fs.existsSync(CLI)) {
  console.error('Build first: npm run build');
  process.exit(1);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-'));
const env = { PATH: process.env.PATH, HOME: path.join(dir, 'home'), PM2_HOME: path.join(dir, 'pm2'), LANG: 'C.UTF-8' };
fs.mkdirSync(env.HOME, { recursive: true });
fs.mkdirSync(env.PM2_HOME, { recursive: true });
fs.writeFileSync(path.join(env.PM2_HOME, 'touch'), String(Date.now())); // no version check from the pm2 binary

function run(bin, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${path.basename(bin)} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { ms, out: r.stdout };
}
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, min: +s[0].toFixed(1), p50: +q(0.5).toFixed(1), p90: +q(0.9).toFixed(1), max: +s[s.length - 1].toFixed(1) };
};
const kill = () => spawnSync(process.execPath, [PM2, 'kill'], { env, encoding: 'utf8' });
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

try {
  run(CLI, ['init', '-e', 'bench@example.com']);

  // 2. cold start: no daemon → both online (the command returns once both are ready: set-up done).
  const cold = [];
  for (let i = 0; i < Math.min(RUNS, 7); i++) {
    kill();
    cold.push(run(CLI, ['ensure-running', 'notify', 'approve']).ms);
    const j = JSON.parse(run(CLI, ['status', '--json']).out);
    if (!j.services.every((s) => s.state === 'online')) throw new Error('not online after ensure-running');
  }

  // 1. status vs pm2 jlist, interleaved, daemon up.
  const status = [];
  const jlist = [];
  run(CLI, ['status']); // warm the config cache
  for (let i = 0; i < RUNS; i++) {
    status.push(run(CLI, ['status']).ms);
    jlist.push(run(PM2, ['jlist']).ms);
  }

  // 3. idle RSS after 20 s.
  sleep(20000);
  const j = JSON.parse(run(CLI, ['status', '--json']).out);
  const rss = {};
  for (const s of j.services) {
    const st = fs.readFileSync(`/proc/${s.pid}/status`, 'utf8');
    rss[s.name] = +(Number(/VmRSS:\s+(\d+)/.exec(st)[1]) / 1024).toFixed(1);
  }

  const result = {
    when: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    status_ms: stats(status),
    pm2_jlist_ms: stats(jlist),
    ensure_running_cold_ms: stats(cold),
    idle_rss_mb: rss,
  };
  console.log(JSON.stringify(result, null, 2));
  const outDir = path.join(__dirname, 'results');
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, `cli-${result.when.replace(/[:.]/g, '-')}.json`), JSON.stringify(result, null, 2));
} finally {
  kill();
  fs.rmSync(dir, { recursive: true, force: true });
}
