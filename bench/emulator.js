#!/usr/bin/env node
// Emulator throughput (a benchmark, not a test): the emulator runs in a child process (`npm run emulator`'s
// build), this process sends keep-alive requests with fixed concurrency for a fixed time and reports req/s.
// Usage: node bench/emulator.js [seconds=5] [concurrency=16]
'use strict';
const http = require('node:http');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..');
const SECONDS = Number(process.argv[2] || 5);
const CONCURRENCY = Number(process.argv[3] || 16);

const build = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'test/emulator/tsconfig.json')], { encoding: 'utf8' });
if (build.status !== 0) {
  console.error(build.stdout, build.stderr);
  process.exit(1);
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
function request(port, method, p, { token, body, type } = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = http.request(
      { host: '127.0.0.1', port, method, path: p, agent, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(data ? { 'content-type': type || 'application/json', 'content-length': Buffer.byteLength(data) } : {}) } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

async function main() {
  const child = spawn(process.execPath, [path.join(ROOT, '.emulator-build/test/emulator/main.js'), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve) => {
    child.stdout.on('data', (d) => {
      const m = /listening on (\S+)/.exec(String(d));
      if (m) resolve(m[1]);
    });
  });
  const port = Number(new URL(url).port);
  const user = JSON.parse((await request(port, 'POST', '/__admin/users', { body: { email: 'do@example.com' } })).body);
  const token = user.accessToken;
  // a folder with 50 files to list
  const folder = JSON.parse((await request(port, 'POST', '/drive/v3/files', { token, body: { name: 'SyftBox', mimeType: 'application/vnd.google-apps.folder' } })).body);
  for (let i = 0; i < 50; i++) await request(port, 'POST', '/drive/v3/files', { token, body: { name: `f${i}.json`, parents: [folder.id] } });
  const q = encodeURIComponent(`'${folder.id}' in parents and trashed=false`);
  const check = JSON.parse((await request(port, 'GET', `/drive/v3/files?q=${q}&fields=files(id,name),nextPageToken&pageSize=100`, { token })).body);
  if (!check.files || check.files.length !== 50) throw new Error(`expected 50 files, got ${JSON.stringify(check).slice(0, 200)}`);
  const mixes = {
    'drive files.list (50 files)': () => request(port, 'GET', `/drive/v3/files?q=${q}&fields=files(id,name),nextPageToken&pageSize=100`, { token }),
    'drive files.get': () => request(port, 'GET', `/drive/v3/files/${folder.id}?fields=id,name,parents`, { token }),
    'gmail messages.send': () => request(port, 'POST', '/gmail/v1/users/me/messages/send', { token, body: { raw: Buffer.from('From: do@example.com\r\nTo: ds@example.org\r\nSubject: hi\r\nMessage-ID: <' + Math.random() + '@x>\r\n\r\nbody\r\n').toString('base64url') } }),
  };
  const results = {};
  for (const [name, fn] of Object.entries(mixes)) {
    let n = 0;
    let errors = 0;
    const deadline = Date.now() + SECONDS * 1000;
    const t0 = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (Date.now() < deadline) {
          const r = await fn();
          if (r.status !== 200) errors++;
          n++;
        }
      }),
    );
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    results[name] = { requests: n, errors, req_per_s: Math.round(n / secs) };
  }
  console.log(JSON.stringify({ when: new Date().toISOString(), node: process.version, seconds: SECONDS, concurrency: CONCURRENCY, results }, null, 2));
  child.kill('SIGTERM');
  agent.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
