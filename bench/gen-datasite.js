#!/usr/bin/env node
// Generate a datasite with <count> jobs in syft-job's on-disk layout (a benchmark fixture, not a test), e.g. the
// 10,000-job datasite of the approve benchmarks:
//
//   <root>/<do>/app_data/job/inbox/<ds>/syft.pub.yaml            DS may write its inbox folder
//   <root>/<do>/app_data/job/inbox/<ds>/<job>/{config.yaml,run.sh,code/...}
//   <root>/<do>/app_data/job/review/<ds>/syft.pub.yaml           DS reads its review folder + 4 rules per run job
//   <root>/<do>/app_data/job/review/<ds>/<job>/{state.yaml,stdout.txt,stderr.txt,returncode.txt,outputs/...}
//
// Mix (seeded, deterministic): ~88 % done, 5 % failed, 4 % rejected (by hand, or auto for a wrong shape),
// 2.5 % pending (do not match any object: stay pending), 0.5 % approved by hand and not run yet (trivial bash
// jobs: a service with run_approved_jobs runs them at start). 60 % bash jobs (one script.sh), 40 % python jobs
// (main.py + params.json + sometimes utils.py, syft-job's uv run.sh). Sizes as syft-job writes them: config.yaml
// ~210-270 B, state.yaml ~260-340 B, uv chatter of 1-2 KB in stderr, outputs of 10 B-8 KB. Every job that ran has
// its 4 rules (outputs/**, stdout.txt, stderr.txt, returncode.txt) in review/<ds>/syft.pub.yaml, exactly as
// lib/runner writes them (same bytes as emitRuleSet). Jobs are spread round-robin over --peers data scientists;
// the first is ds@example.org (the peer of the benchmarks' auto-approval object).
//
// Usage: node bench/gen-datasite.js <root> <count> [--do EMAIL] [--peers N] [--seed N] [--mix S] [--state-json FILE]
//          [--workers N] [--verify]
//   --mix S            status shares in percent, default done=88,failed=5,rejected=4,pending=2.5,approved=0.5
//                      (missing statuses get 0; shares are normalised)
//   --state-json FILE  also write the approve service's state.json (approved_jobs/jobs for every auto-approved job
//                      that ran), as a service that approved them would have left it.
//   --workers N        threads writing jobs (default: one per CPU, at most 4; the tree is the same for any N)
//   --verify           afterwards, check every job with dist/ (npm run build first): listJobs sees no problem, and
//                      each state.yaml, config.yaml and syft.pub.yaml is what emitState/emitConfig/emitRuleSet write.
// Prints a JSON summary (counts per status, bytes, files, seconds). From code: `await generate({ root, count, ... })`.
// 10,000 jobs (~83,000 files, ~42,000 folders, 30 MB) take ~1 s on tmpfs with 2 threads; on a disk it is the
// filesystem's inode cost (on the 2-vCPU VM this was written on, whose ext4 was slow and erratic: 5-27 s with 2
// threads, 50-58 s with 1).
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');

const STATUSES = ['done', 'failed', 'rejected', 'pending', 'approved'];
const DEFAULT_MIX = { done: 88, failed: 5, rejected: 4, pending: 2.5, approved: 0.5 };

function parseMix(text) {
  const mix = Object.fromEntries(STATUSES.map((s) => [s, 0]));
  for (const part of String(text).split(',')) {
    const [k, v] = part.split('=');
    if (!STATUSES.includes(k) || !(Number(v) >= 0)) throw new Error(`--mix: bad entry ${JSON.stringify(part)} (statuses: ${STATUSES.join(', ')})`);
    mix[k] = Number(v);
  }
  return mix;
}

/** Status for a uniform draw r in [0,1), by cumulative share. */
function pickStatus(mix, r) {
  const total = STATUSES.reduce((x, s) => x + (mix[s] ?? 0), 0);
  let acc = 0;
  for (const s of STATUSES) {
    acc += (mix[s] ?? 0) / total;
    if (r < acc) return s;
  }
  return 'done';
}

function parseArgs(argv) {
  const o = { do: 'do@example.com', peers: 10, seed: 42, stateJson: null, verify: false, mix: DEFAULT_MIX, pos: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--do') o.do = argv[++i];
    else if (a === '--peers') o.peers = Number(argv[++i]);
    else if (a === '--seed') o.seed = Number(argv[++i]);
    else if (a === '--state-json') o.stateJson = argv[++i];
    else if (a === '--verify') o.verify = true;
    else if (a === '--workers') o.workers = Number(argv[++i]);
    else if (a === '--mix') o.mix = parseMix(argv[++i]);
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else o.pos.push(a);
  }
  if (o.pos.length !== 2 || !Number.isInteger(Number(o.pos[1])) || Number(o.pos[1]) < 0 || !(o.peers >= 1)) {
    throw new Error('usage: node bench/gen-datasite.js <root> <count> [--do EMAIL] [--peers N] [--seed N] [--mix S] [--state-json FILE] [--workers N] [--verify]');
  }
  return { ...o, root: path.resolve(o.pos[0]), count: Number(o.pos[1]) };
}

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

/** pydantic's ISO form, as syft-job writes it in state.yaml/config.yaml: 6 fractional digits, `Z`. */
function iso(ms, micros) {
  const s = new Date(ms).toISOString(); // 2026-11-25T18:46:23.650Z
  return `${s.slice(0, 23)}${String(micros % 1000).padStart(3, '0')}Z`;
}
const q = (v) => (v === null ? 'null' : `'${v}'`);

/** `yaml.dump(JobState)`; every value here is a plain scalar or a quoted timestamp. */
function stateYaml(s) {
  return (
    `approval_method: ${s.approval_method ?? 'null'}\n` +
    `approved_at: ${q(s.approved_at)}\n` +
    `approved_by: ${s.approved_by ?? 'null'}\n` +
    `completed_at: ${q(s.completed_at)}\n` +
    `received_at: ${q(s.received_at)}\n` +
    `rejected_at: ${q(s.rejected_at)}\n` +
    `rejected_by: ${s.rejected_by ?? 'null'}\n` +
    `return_code: ${s.return_code ?? 'null'}\n` +
    `review_reason: ${s.review_reason ?? 'null'}\n` +
    `status: ${s.status}\n`
  );
}

function bashConfig(name, submittedAt, file = 'script.sh') {
  return (
    `code_path: null\ndatasets: null\ndependencies: []\nentrypoint: null\nfiles:\n- ${file}\nheaders: {}\n` +
    `is_folder_submission: false\njob_type: local\nname: ${name}\nsubmitted_at: '${submittedAt}'\ntype: bash\n`
  );
}
function pythonConfig(name, submittedAt, files) {
  return (
    `code_path: /home/ds/${name.split('-')[0]}\ndatasets: null\ndependencies:\n- syft-client==0.1.117\nentrypoint: main.py\n` +
    `files:\n${files.map((f) => `- ${f}\n`).join('')}headers: {}\nis_folder_submission: true\njob_type: local\n` +
    `name: ${name}\nsubmitted_at: '${submittedAt}'\ntype: python\n`
  );
}
const PY_RUNSH =
  '#!/bin/bash\nset -euo pipefail\nexport UV_SYSTEM_PYTHON=false\ncd code\nuv venv --python 3.12\nsource .venv/bin/activate\n' +
  'uv pip install "syft-client==0.1.117"\nexport PYTHONPATH=.:${PYTHONPATH:-}\npython main.py\n';

const BASH_SCRIPTS = [
  "cd code\nmkdir -p outputs\necho 'hello from job'\necho '{\"n\": 42}' > outputs/result.json\n",
  'cd code\nmkdir -p outputs\nwc -l /data/*.csv | tee outputs/counts.txt\n',
  'cd code\nmkdir -p outputs\nfor f in /data/*.csv; do head -1 "$f"; done > outputs/headers.txt\necho done\n',
];

function pyMain(rng) {
  const lines = [
    'import json',
    'import statistics',
    "params = json.load(open('params.json'))",
    "print('alpha =', params['alpha'])",
  ];
  const extra = 4 + Math.floor(rng() * 40);
  for (let i = 0; i < extra; i++) lines.push(`x_${i} = statistics.mean([params['alpha'] * k for k in range(${10 + i})])`);
  lines.push("json.dump({'n': 42, 'mean': x_0}, open('outputs/result.json', 'w'))", '');
  return lines.join('\n');
}

const UV_STDERR =
  'Using CPython 3.12.7 interpreter at: /usr/bin/python3.12\nCreating virtual environment at: .venv\n' +
  'Activate with: source .venv/bin/activate\nResolved 41 packages in 1.21s\nPrepared 41 packages in 2.87s\n' +
  'Installed 41 packages in 118ms\n' +
  [' + annotated-types==0.7.0', ' + anyio==4.6.2', ' + certifi==2024.8.30', ' + cryptography==43.0.3', ' + httpx==0.27.2',
    ' + idna==3.10', ' + pydantic==2.9.2', ' + pydantic-core==2.23.4', ' + pyyaml==6.0.2', ' + requests==2.32.3',
    ' + syft-client==0.1.117', ' + typing-extensions==4.12.2', ' + urllib3==2.2.3'].join('\n') + '\n';

function rulesYaml(doEmail, ds, ranJobs) {
  const head = `rules:\n- access:\n    admin: []\n    read:\n    - ${ds}\n    write: []\n  pattern: '**'\n`;
  const per = (job) =>
    `- access:\n    admin: []\n    read:\n    - ${doEmail}\n    - ${ds}\n    write: []\n  pattern: ${job}/outputs/**\n` +
    ['stdout.txt', 'stderr.txt', 'returncode.txt'].map((f) => `- access:\n    admin: []\n    read:\n    - ${ds}\n    write: []\n  pattern: ${job}/${f}\n`).join('');
  return head + ranJobs.map(per).join('') + 'terminal: false\n';
}
const inboxRules = (ds) => `rules:\n- access:\n    admin: []\n    read: []\n    write:\n    - ${ds}\n  pattern: '**'\nterminal: false\n`;

function peerNames(n) {
  const peers = ['ds@example.org'];
  for (let i = 1; i < n; i++) peers.push(`ds${String(i).padStart(2, '0')}@uni${i % 3}.example`);
  return peers;
}

/** Write jobs [from, to) (each from its own seeded generator, so any split gives the same tree). */
function writeJobs(o, from, to) {
  const peers = peerNames(o.peers);
  const base = path.join(o.root, o.do, 'app_data', 'job');
  const t0Ms = o.nowMs - 3600_000 - o.count * 240_000;
  const counts = { done: 0, failed: 0, rejected: 0, pending: 0, approved: 0 };
  const ran = [];
  let bytes = 0;
  let files = 0;
  const write = (f, text) => {
    fs.writeFileSync(f, text);
    bytes += Buffer.byteLength(text);
    files++;
  };
  for (let i = from; i < to; i++) {
    const rng = mulberry32((Math.imul(o.seed, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0);
    // Submissions ~4 minutes apart, the last one an hour ago.
    const tMs = t0Ms + i * 240_000 + Math.floor(rng() * 200_000);
    const ds = peers[i % peers.length];
    const r = rng();
    const status = pickStatus(o.mix ?? DEFAULT_MIX, r);
    const python = status === 'approved' ? false : status === 'pending' ? true : rng() < 0.4;
    const shapeReject = status === 'rejected' && rng() < 0.3;
    const kind = python ? ['analysis', 'train', 'stats'][i % 3] : ['count', 'headers', 'hello'][i % 3];
    const name = `${kind}-${String(i).padStart(6, '0')}`;
    const inbox = path.join(base, 'inbox', ds, name);
    const review = path.join(base, 'review', ds, name);
    fs.mkdirSync(inbox);
    fs.mkdirSync(path.join(inbox, 'code'));
    fs.mkdirSync(review);
    const us = () => Math.floor(rng() * 1e6);
    const submitted = iso(tMs, us());
    let codeFiles;
    if (python) {
      codeFiles = ['main.py', 'params.json', ...(rng() < 0.3 ? ['utils.py'] : [])];
      write(path.join(inbox, 'code', 'main.py'), pyMain(rng));
      write(path.join(inbox, 'code', 'params.json'), JSON.stringify({ alpha: Math.floor(rng() * 10), columns: ['age', 'income', 'zip'] }) + '\n');
      if (codeFiles.includes('utils.py')) write(path.join(inbox, 'code', 'utils.py'), 'def clip(x, lo, hi):\n    return max(lo, min(hi, x))\n'.repeat(1 + Math.floor(rng() * 20)));
      write(path.join(inbox, 'run.sh'), PY_RUNSH);
      write(path.join(inbox, 'config.yaml'), pythonConfig(name, submitted, codeFiles));
    } else {
      const script = status === 'approved' ? `echo 'manual ${i}'\n` : BASH_SCRIPTS[i % BASH_SCRIPTS.length];
      write(path.join(inbox, 'code', 'script.sh'), script);
      write(path.join(inbox, 'run.sh'), script);
      write(path.join(inbox, 'config.yaml'), bashConfig(name, submitted));
    }
    if (shapeReject) write(path.join(inbox, 'notes.txt'), 'please run this on the full table\n');
    const received = iso(tMs + 40 + Math.floor(rng() * 3000), us());
    const st = { approval_method: null, approved_at: null, approved_by: null, completed_at: null, received_at: received, rejected_at: null, rejected_by: null, return_code: null, review_reason: null, status };
    if (status === 'rejected') {
      st.rejected_by = o.do;
      if (shapeReject) {
        st.rejected_at = received;
        st.review_reason = "Expected {'config.yaml', 'code', 'run.sh'}, got {'config.yaml', 'notes.txt',\n  'code', 'run.sh'}";
      } else {
        st.rejected_at = iso(tMs + 600_000 + Math.floor(rng() * 7200_000), us());
        st.review_reason = ['uses too much data', 'please aggregate first', 'not with this dataset'][i % 3];
      }
    }
    const auto = !python && rng() < 0.7;
    if (status === 'done' || status === 'failed' || status === 'approved') {
      const approvedMs = tMs + (auto ? 60 + Math.floor(rng() * 100) : 300_000 + Math.floor(rng() * 7200_000));
      st.approved_at = iso(approvedMs, us());
      st.approved_by = o.do;
      st.approval_method = status === 'approved' ? 'manual' : auto ? 'auto' : 'manual';
      if (!auto && status !== 'approved' && rng() < 0.3) st.review_reason = 'ok';
      if (status !== 'approved') {
        const rc = status === 'done' ? 0 : python ? 1 : 127;
        st.return_code = rc;
        st.completed_at = iso(approvedMs + (python ? 4000 + Math.floor(rng() * 60_000) : 20 + Math.floor(rng() * 200)), us());
        fs.mkdirSync(path.join(review, 'outputs'));
        if (status === 'done') {
          write(path.join(review, 'stdout.txt'), python ? `alpha = ${i % 10}\n` + 'row,value\n'.repeat(Math.floor(rng() * 60)) : 'hello from job\n');
          write(path.join(review, 'stderr.txt'), python ? UV_STDERR : '');
          const n = 1 + Math.floor(rng() * (rng() < 0.2 ? 400 : 20));
          write(path.join(review, 'outputs', 'result.json'), JSON.stringify({ n: 42, rows: Array.from({ length: n }, (_, k) => ({ k, v: (k * 7919) % 1000 })) }) + '\n');
          if (python && rng() < 0.3) write(path.join(review, 'outputs', 'summary.csv'), 'column,mean,std\n' + 'income,51234.2,1234.5\n'.repeat(1 + Math.floor(rng() * 50)));
        } else {
          write(path.join(review, 'stdout.txt'), python ? `alpha = ${i % 10}\n` : '');
          write(
            path.join(review, 'stderr.txt'),
            python
              ? UV_STDERR + 'Traceback (most recent call last):\n  File "main.py", line 3, in <module>\n    params = json.load(open(\'params.json\'))\nKeyError: \'alpha\'\n'
              : 'run.sh: line 3: /data/*.csv: No such file or directory\n',
          );
        }
        write(path.join(review, 'returncode.txt'), String(rc));
        ran.push({ i, ds, name, auto: st.approval_method === 'auto', at: st.approved_at });
      }
    }
    write(path.join(review, 'state.yaml'), stateYaml(st));
    counts[status]++;
  }
  return { counts, ran, bytes, files };
}

/**
 * Generate the datasite (see the header). Jobs are written by `o.workers` worker threads (default: one per CPU,
 * at most 4): creating ~125,000 inodes is kernel time, which parallelises on most filesystems.
 */
async function generate(o) {
  const t0 = process.hrtime.bigint();
  o = { do: 'do@example.com', peers: 10, seed: 42, mix: DEFAULT_MIX, stateJson: null, nowMs: Date.now(), ...o };
  const peers = peerNames(o.peers);
  const base = path.join(o.root, o.do, 'app_data', 'job');
  let bytes = 0;
  let files = 0;
  const write = (f, text) => {
    fs.writeFileSync(f, text);
    bytes += Buffer.byteLength(text);
    files++;
  };
  for (const ds of peers) {
    fs.mkdirSync(path.join(base, 'inbox', ds), { recursive: true });
    fs.mkdirSync(path.join(base, 'review', ds), { recursive: true });
    write(path.join(base, 'inbox', ds, 'syft.pub.yaml'), inboxRules(ds));
  }
  const workers = Math.max(1, Math.min(o.workers ?? Math.min(os.cpus().length, 4), Math.ceil(o.count / 1000)));
  const chunk = Math.ceil(o.count / workers);
  const parts = await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const from = w * chunk;
      const to = Math.min(o.count, from + chunk);
      if (workers === 1) return writeJobs(o, from, to);
      return new Promise((resolve, reject) => {
        const wk = new Worker(__filename, { workerData: { o, from, to } });
        wk.once('message', resolve);
        wk.once('error', reject);
        wk.once('exit', (code) => code !== 0 && reject(new Error(`generator worker exited with ${code}`)));
      });
    }),
  );
  const counts = { done: 0, failed: 0, rejected: 0, pending: 0, approved: 0 };
  const ran = [];
  for (const p of parts) {
    for (const k of Object.keys(counts)) counts[k] += p.counts[k];
    ran.push(...p.ran);
    bytes += p.bytes;
    files += p.files;
  }
  ran.sort((a, b) => a.i - b.i); // rules are appended in run order
  for (const ds of peers) write(path.join(base, 'review', ds, 'syft.pub.yaml'), rulesYaml(o.do, ds, ran.filter((r) => r.ds === ds).map((r) => r.name)));
  const approvedByNode = ran.filter((r) => r.auto);
  if (o.stateJson) {
    const st = { approved_jobs: {}, jobs: {} };
    for (const a of approvedByNode) {
      st.approved_jobs[a.name] = { approved_at: a.at, submitted_by: a.ds };
      st.jobs[`${o.do}/${a.ds}/${a.name}`] = { approved_at: a.at, object: 'bench', source: 'node' };
    }
    fs.mkdirSync(path.dirname(o.stateJson), { recursive: true });
    const text = JSON.stringify(st, null, 2);
    fs.writeFileSync(o.stateJson, text, { mode: 0o600 });
    bytes += text.length;
    files++;
  }
  return {
    root: o.root,
    datasite: o.do,
    jobs: o.count,
    peers: peers.length,
    counts,
    files,
    mbytes: +(bytes / 1048576).toFixed(1),
    review_syft_pub_yaml_bytes_first_peer: fs.statSync(path.join(base, 'review', peers[0], 'syft.pub.yaml')).size,
    state_json_entries: o.stateJson ? approvedByNode.length : null,
    workers,
    seconds: +(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(2),
  };
}

/** Check the generated tree with the real codecs (dist/). Returns the number of jobs checked; throws on a mismatch. */
function verify(root, doEmail) {
  const d = require(path.resolve(__dirname, '..', 'dist', 'lib', 'datasite'));
  const listing = d.listJobs(root, doEmail);
  if (listing.problems.length) throw new Error(`listing problems: ${listing.problems.map((p) => p.message).join('; ')}`);
  const rulesChecked = new Set();
  for (const job of listing.jobs) {
    if (job.problems.length) throw new Error(`${job.key}: ${job.problems.map((p) => p.message).join('; ')}`);
    if (job.state.kind !== 'ok' || d.emitState(job.state.value) !== job.state.text) throw new Error(`${job.key}: state.yaml is not what emitState writes`);
    if (job.config.kind !== 'ok' || d.emitConfig(job.config.value) !== job.config.text) throw new Error(`${job.key}: config.yaml is not what emitConfig writes`);
    for (const area of ['inbox', 'review']) {
      const f = path.join(d.jobRootDir(root, doEmail), area, job.id.submitter, 'syft.pub.yaml');
      if (rulesChecked.has(f)) continue;
      rulesChecked.add(f);
      const text = fs.readFileSync(f, 'utf8');
      const p = d.parseRuleSet(text);
      if (!p.ok || d.emitRuleSet(p.value) !== text) throw new Error(`${f} is not what emitRuleSet writes`);
    }
  }
  return listing.jobs.length;
}

module.exports = { generate, verify, rulesYaml, DEFAULT_MIX };

if (!isMainThread) {
  parentPort.postMessage(writeJobs(workerData.o, workerData.from, workerData.to));
} else if (require.main === module) {
  (async () => {
    const o = parseArgs(process.argv.slice(2));
    const summary = await generate(o);
    if (o.verify) summary.verified_jobs = verify(o.root, o.do);
    console.log(JSON.stringify(summary, null, 2));
  })().catch((e) => {
    console.error(e.message);
    process.exit(2);
  });
}
