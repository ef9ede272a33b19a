// PM2 ecosystem file for syft-bg: `pm2 start ecosystem.config.js`, `pm2 ls`, `pm2 logs syft-bg-notify`,
// `pm2 stop syft-bg` (the namespace) all work on it. It declares exactly what `syft-bg start` starts:
// the definitions live in lib/pm2/apps.ts (compiled to dist/ by `npm run build`).
let apps;
try {
  apps = require('./dist/lib/pm2/apps.js');
} catch (e) {
  throw new Error("syft-bg is not built: run 'npm run build' in " + __dirname + ' first (' + e.message + ')');
}
module.exports = apps.ecosystem();
