import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { makeSandbox, Sandbox, ROOT } from '../helpers/sandbox';

/**
 * The package as a user installs it: `require('syft-bg')` from a script (node_modules/syft-bg → this repository,
 * resolved through package.json `exports`/`main`), cheap to load, and its type declarations compile in a TS consumer.
 */

const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

function linkPackage(dir: string): void {
  fs.mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
  fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'syft-bg'), 'dir');
}

describe('syft-bg as a package', () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = makeSandbox('pkg');
    linkPackage(sb.dir);
  });
  afterAll(() => sb.cleanup());

  it("a user's script: require('syft-bg') loads no dependency, then init, autoApprove, list, status and typed errors work", () => {
    fs.writeFileSync(path.join(sb.dir, 'script.sh'), 'echo hi\n');
    const script = `
      const t0 = process.hrtime.bigint();
      const bg = require('syft-bg');
      const requireMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const loaded = Object.keys(require.cache).filter((k) => k.includes('node_modules' + require('path').sep) && !k.includes('syft-bg'));
      (async () => {
        const init = await bg.init({ email: 'do@example.com', syftboxRoot: 'box', google: false });
        const change = bg.autoApprove({ contents: ['script.sh'], peers: ['ds@example.org'] });
        const list = bg.listAutoApprovals();
        let error;
        try { await bg.start('nope'); } catch (e) { error = { userError: e instanceof bg.UserError, code: e.exitCode, message: e.message }; }
        const status = await bg.status();
        const version = require('syft-bg/package.json').version;
        process.stdout.write(JSON.stringify({ requireMs, loaded, init, change, list, error, status, version, exported: Object.keys(bg).sort() }));
      })().catch((e) => { console.error(e); process.exit(1); });
    `;
    const r = spawnSync(process.execPath, ['-e', script], { cwd: sb.dir, env: sb.env, encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    // pm2, yaml, zod, googleapis, pino… load when a function needs them, not with the package.
    expect(out.loaded).toEqual([]);
    expect(out.requireMs).toBeLessThan(1000);
    expect(out.version).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
    for (const f of ['init', 'start', 'stop', 'restart', 'ensureRunning', 'status', 'setupStatus', 'logs', 'followLogs', 'autoApprove', 'autoApproveJob', 'listAutoApprovals', 'removeAutoApproval', 'removePeer', 'explain', 'install', 'uninstall', 'UserError', 'EXIT']) {
      expect(out.exported).toContain(f);
    }
    // The defaults are the CLI's: HOME/.syft-bg, PM2_HOME, the current directory.
    expect(out.init.configPath).toBe(path.join(sb.syftBgHome, 'config.yaml'));
    expect(out.change).toMatchObject({ name: 'script', created: true, object: { peers: ['ds@example.org'] } });
    expect(out.list.objects).toEqual(JSON.parse(sb.cli(['list-auto-approvals', '--json']).stdout).objects);
    expect(out.error).toEqual({ userError: true, code: 2, message: sb.cli(['start', 'nope']).stderr.replace(/^Error: /, '').trimEnd() });
    expect(out.status).toEqual(JSON.parse(sb.cli(['status', '--json']).stdout));
    expect(out.status.pm2.daemon).toBe('not running');
  });

  it('the type declarations compile in a TypeScript consumer, and catch misuse', () => {
    const dir = path.join(sb.dir, 'consumer');
    fs.mkdirSync(dir);
    linkPackage(dir);
    const tsconfig = (files: string[], module: string) => ({
      compilerOptions: { strict: true, module, target: 'ES2022', lib: ['ES2022'], types: ['node'], typeRoots: [path.join(ROOT, 'node_modules', '@types')], noEmit: true, skipLibCheck: false },
      files,
    });
    fs.writeFileSync(
      path.join(dir, 'good.ts'),
      `import * as bg from 'syft-bg';
import { status, start, init, autoApprove, autoApproveJob, listAutoApprovals, removeAutoApproval, removePeer, logs, explain, install, UserError, EXIT } from 'syft-bg';
import type { StatusReport, ServicesResult, Explanation, AutoApprovalChange, LogsResult, ApiOptions, ServiceName } from 'syft-bg';

export async function main(): Promise<number> {
  const ctx: ApiOptions = { home: '/tmp/syft-bg-home', env: process.env };
  const i = await init({ email: 'do@example.com', google: false, ...ctx });
  const messages: string[] = i.messages;
  const c: AutoApprovalChange = autoApprove({ contents: ['main.py'], filePaths: ['params.json'], peers: ['ds@example.org'], name: 'analysis', baseDir: '.', ...ctx });
  const hash: string = c.object.file_contents[0]!.hash;
  autoApproveJob('ds@example.org/job', { peers: ['ds@example.org'], ...ctx });
  const names: string[] = listAutoApprovals(ctx).objects.map((o) => o.name);
  removeAutoApproval('analysis', { files: ['params.json'], ...ctx });
  removeAutoApproval('analysis', { all: true, ...ctx });
  removePeer('ds@example.org', { allowAnyPeer: true });
  const r: ServicesResult = await start('approve', ctx);
  await bg.ensureRunning(['notify', 'approve'], { restart: true, ...ctx });
  await bg.stop();
  await bg.restart(['notify']);
  const pid: number | null = r.services[0]!.pid;
  const s: StatusReport = await status(ctx);
  const email: string | null = s.config.email;
  const svc: ServiceName = s.services[0]!.name;
  const l: LogsResult = logs('approve', { lines: 10, ...ctx });
  const x: Explanation = explain('ds@example.org/job', ctx);
  await install({ dryRun: true });
  try {
    await start();
  } catch (e) {
    if (e instanceof UserError) return e.exitCode;
    if (e instanceof bg.ServiceControlError) return e.result.stdout.length + e.failed.length;
  }
  void [messages, hash, names, pid, email, svc, l.lines.length, x.approved ? EXIT.ok : EXIT.notApproved];
  return 0;
}
`,
    );
    fs.writeFileSync(
      path.join(dir, 'bad.ts'),
      `import { status, logs, start } from 'syft-bg';
export async function bad(): Promise<void> {
  const n: number = (await status()).config.email;
  logs('approve', { lines: '10' });
  await start('approve', { home: 42 });
}
`,
    );
    const tsc = (name: string, files: string[], module: string) => {
      fs.writeFileSync(path.join(dir, name), JSON.stringify(tsconfig(files, module)));
      return spawnSync(process.execPath, [TSC, '-p', path.join(dir, name)], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    };
    for (const module of ['commonjs', 'nodenext']) {
      const good = tsc(`good.${module}.json`, ['good.ts'], module);
      expect(good.stdout + good.stderr).toBe('');
      expect(good.status).toBe(0);
    }
    const bad = tsc('bad.json', ['bad.ts'], 'commonjs');
    expect(bad.status).not.toBe(0);
    const errors = bad.stdout.split('\n').filter((l) => /^bad\.ts\(\d+,\d+\): error/.test(l));
    // One error on each misuse: a nullable string as a number, lines as a string, home as a number.
    expect(errors.map((l) => Number(/^bad\.ts\((\d+),/.exec(l)![1]))).toEqual([3, 4, 5]);
  });
});
