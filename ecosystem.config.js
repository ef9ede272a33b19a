// PM2 ecosystem file for syft-bg: `pm2 start ecosystem.config.js`, `pm2 ls`, `pm2 logs syft-bg-notify`,
// `pm2 stop syft-bg` (the namespace) all work on it. It declares exactly what `syft-bg start` starts:
// the definitions live in lib/pm2/apps.ts (compiled to dist/ by `npm run build`).
const path = require('node:path');
let apps;
let guard;
try {
  apps = require('./dist/lib/pm2/apps.js');
  guard = require('./dist/lib/pm2/ecosystem-guard.js');
} catch (e) {
  throw new Error("syft-bg is not built: run 'npm run build' in " + __dirname + ' first (' + e.message + ')');
}

// PM2 app names are global per PM2 home: refuse to take over the apps of another syft-bg home running on the same
// daemon (`syft-bg start` refuses the same way). `syft-bg status --json` reads the daemon without starting one.
const { spawnSync } = require('node:child_process');
const st = spawnSync(process.execPath, [path.join(__dirname, 'dist', 'cli', 'main.js'), 'status', '--json'], { env: process.env, encoding: 'utf8', timeout: 15000 });
let report;
try {
  report = JSON.parse(st.stdout);
} catch {
  report = undefined; // status could not answer: nothing to compare with
}
const conflicts = report ? guard.ecosystemConflicts(report) : [];
if (conflicts.length > 0) throw new Error(conflicts.join('\n'));

module.exports = apps.ecosystem();
