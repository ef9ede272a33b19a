#!/usr/bin/env node
// In-process cold scan of the approve service (a benchmark helper, not a test), run in a fresh process per sample
// by bench/approve.js. It builds what apps/approve/service.ts builds (config through the validated cache, the
// objects view that reloads config.yaml, AuditLog, ApproveStateStore, approvalExpectedRunSh, ApproveEngine) from
// the built dist/, with two stand-ins: the runner only counts what it is asked to run (so samples are repeatable:
// nothing is executed), and the logger only counts lines. It times, in the service's order:
//   recover  cleanRunsDir() (jobs left running are found by pass 1: the engine's recoverRunning hook, counted here)
//   pass1    the first engine.pass() (every job looked at: the cold scan)
//   idle     further passes with nothing changed, { full: false } (what most `approve.interval` ticks cost)
//   full     further passes with { full: true } (the service runs one about once a minute: pending jobs re-read)
// (pass({ full }) as apps/approve/service.ts calls it; an engine without that option does a full pass every time)
// and reports RSS/heap after recover, after pass 1 and at the end.
//
// Usage: HOME=<sandbox home> node [--expose-gc] bench/approve-scan.js [--passes N] [--cpu-prof DIR]
//   The sandbox must have run `syft-bg init`. On a datasite without new submissions (as gen-datasite.js makes
//   them) nothing is modified: decisions go to a throw-away audit file. A new submission, though, would be received
//   and approved for real (state.yaml, approve/state.json). Prints one JSON object.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const DIST = path.resolve(__dirname, '..', 'dist');
const mb = (b) => +(b / 1048576).toFixed(1);
const now = () => performance.now();

function main() {
  const argv = process.argv.slice(2);
  const passes = Number(argv[argv.indexOf('--passes') + 1] || 0) || 5;
  const rss0 = process.memoryUsage().rss;
  const t0 = now();
  const { currentHome } = require(path.join(DIST, 'lib', 'home'));
  const { loadConfigCached } = require(path.join(DIST, 'lib', 'config', 'cached'));
  const { AuditLog } = require(path.join(DIST, 'lib', 'approve', 'audit'));
  const { ApproveStateStore } = require(path.join(DIST, 'lib', 'approve', 'state'));
  const { ApproveEngine, sweepSlicesFor } = require(path.join(DIST, 'lib', 'approve', 'engine'));
  const { approvalExpectedRunSh } = require(path.join(DIST, 'lib', 'approve', 'expected-runsh'));
  const { loadApprovalObjects } = require(path.join(DIST, 'lib', 'approval'));
  const { cleanRunsDir } = require(path.join(DIST, 'lib', 'runner'));
  const home = currentHome(process.env);
  const loaded = loadConfigCached(home);
  const a = loaded.config.approve;
  const email = a.do_email;
  const root = a.syftbox_root;
  const tLoaded = now();

  let logLines = 0;
  const logger = { info: () => logLines++, warn: () => logLines++, error: () => logLines++, debug: () => logLines++ };
  const auditFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'scan-audit-')), 'decisions.jsonl');
  const audit = new AuditLog(auditFile);
  const state = new ApproveStateStore(a.approve_state_path, email);

  let objectsSig = '';
  let objectsView = { enabled: a.auto_approvals.enabled, objects: new Map(), version: 'initial' };
  const objects = () => {
    let sig;
    try {
      const st = fs.statSync(home.config);
      sig = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    } catch {
      sig = '-';
    }
    if (sig !== objectsSig) {
      const l = loadApprovalObjects(home);
      objectsView = { enabled: l.enabled, objects: l.objects, version: sig };
      objectsSig = sig;
      logger.info();
    }
    return objectsView;
  };

  // As the service: the runs directory is cleaned before anything runs (nothing to clean here), and jobs left
  // `running` are recovered by the first pass (counted here, not modified: samples stay repeatable).
  const tr0 = now();
  cleanRunsDir(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'scan-runs-')), 'runs'));
  const recoverMs = now() - tr0;
  const rssRecover = process.memoryUsage().rss;
  let recoveredJobs = 0;

  let enqueued = 0;
  const engine = new ApproveEngine({
    root,
    doEmail: email,
    objects,
    expectedRunSh: approvalExpectedRunSh(),
    audit,
    state,
    runApprovedJobs: a.run_approved_jobs,
    logger,
    recoverRunning: () => recoveredJobs++,
    sweepSlices: sweepSlicesFor(a.interval),
    runner: { has: () => false, enqueue: () => enqueued++ },
  });
  // --cpu-prof DIR: V8 CPU profiles of pass 1 and of the idle passes (open in Chrome DevTools or speedscope).
  const profDir = argv.includes('--cpu-prof') ? argv[argv.indexOf('--cpu-prof') + 1] : null;
  let session;
  const profStart = () => {
    if (!profDir) return;
    if (!session) {
      session = new (require('node:inspector').Session)();
      session.connect();
      session.post('Profiler.enable');
      session.post('Profiler.setSamplingInterval', { interval: 200 });
    }
    session.post('Profiler.start');
  };
  const profStop = (name) => {
    if (!profDir) return;
    session.post('Profiler.stop', (err, r) => {
      fs.mkdirSync(profDir, { recursive: true });
      fs.writeFileSync(path.join(profDir, `${name}-${process.pid}.cpuprofile`), JSON.stringify(r.profile));
    });
  };
  profStart();
  const tp = now();
  const first = engine.pass({ full: true });
  const tPass1End = now();
  const pass1Ms = tPass1End - tp;
  profStop('pass1');
  const mem1 = process.memoryUsage();
  // With --expose-gc: what pass 1 really retains (the rest of heap_used was garbage not yet collected).
  global.gc?.();
  const mem1gc = global.gc ? process.memoryUsage() : null;
  const watchMs0 = now();
  const watched = engine.watchPaths().length;
  const watchMs = now() - watchMs0;
  const later = [];
  profStart();
  for (let i = 0; i < passes; i++) {
    const t = now();
    const s = engine.pass({ full: false });
    later.push({ ms: +(now() - t).toFixed(2), read: s.read });
  }
  profStop('idle-passes');
  const fulls = [];
  for (let i = 0; i < 2; i++) {
    const t = now();
    const s = engine.pass({ full: true });
    fulls.push({ ms: +(now() - t).toFixed(2), read: s.read });
  }
  global.gc?.();
  const memEnd = process.memoryUsage();
  audit.close();
  fs.rmSync(path.dirname(auditFile), { recursive: true, force: true });
  return {
    pid: process.pid,
    require_and_config_ms: +(tLoaded - t0).toFixed(1),
    recover_ms: +recoverMs.toFixed(1),
    recover_jobs_found: recoveredJobs,
    pass1_ms: +pass1Ms.toFixed(1),
    pass1: first,
    start_to_pass1_end_ms: +(tPass1End - t0).toFixed(1),
    watch_paths: watched,
    watch_paths_ms: +watchMs.toFixed(2),
    idle_pass_ms: later.map((l) => l.ms),
    idle_pass_reads: later.map((l) => l.read),
    full_pass_ms: fulls.map((l) => l.ms),
    full_pass_reads: fulls.map((l) => l.read),
    runs_requested: enqueued,
    log_lines: logLines,
    rss_mb_at_start: mb(rss0),
    rss_mb_after_recover: mb(rssRecover),
    rss_mb_after_pass1: mb(mem1.rss),
    heap_used_mb_after_pass1: mb(mem1.heapUsed),
    heap_used_mb_after_pass1_gc: mem1gc ? mb(mem1gc.heapUsed) : null,
    rss_mb_after_pass1_gc: mem1gc ? mb(mem1gc.rss) : null,
    rss_mb_end: mb(memEnd.rss),
    heap_used_mb_end: mb(memEnd.heapUsed),
  };
}

console.log(JSON.stringify(main()));
