import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeSandbox, Sandbox, ROOT, waitFor } from '../helpers/sandbox';
import { DO, DS, readState, writeBashJob } from '../helpers/datasite';

/**
 * The programmatic API as a user's script calls it: the built package entry (dist/lib/index.js, what
 * `require('syft-bg')` loads), in a sandbox user (own HOME, own PM2_HOME, given to every call as `env`), with a real
 * PM2 daemon. Each result is checked against what the CLI prints for the same state.
 */
type SyftBg = typeof import('../../lib');
const SCRIPT = "cd code\necho 'hello from the api test'\n";

describe('syft-bg API (built package, real PM2)', () => {
  let sb: Sandbox;
  let bg: SyftBg;
  let root: string;
  let ctx: { env: NodeJS.ProcessEnv; cwd: string };
  const cliJson = (args: string[]) => {
    const r = sb.cli(args);
    if (r.code !== 0) throw new Error(`syft-bg ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as unknown;
  };
  /** The CLI's `Error: …` line and exit code for a command. */
  const cliError = (args: string[]) => {
    const r = sb.cli(args);
    return { code: r.code, message: r.stderr.replace(/^Error: /, '').replace(/\n$/, '') };
  };
  /** The API call's error as the CLI would show it. */
  const apiError = async (fn: () => unknown) => {
    try {
      await fn();
    } catch (e) {
      expect(e).toBeInstanceOf(bg.UserError);
      expect(bg.isUserError(e)).toBe(true);
      return { code: (e as InstanceType<SyftBg['UserError']>).exitCode, message: (e as Error).message };
    }
    throw new Error('expected the call to throw');
  };

  beforeAll(() => {
    sb = makeSandbox('api');
    root = path.join(sb.dir, 'SyftBox');
    ctx = { env: sb.env, cwd: sb.dir };
    bg = require(path.join(ROOT, 'dist', 'lib', 'index.js')) as SyftBg;
  });
  afterAll(() => sb.cleanup());

  it('errors before init are UserErrors with the CLI messages and exit codes', async () => {
    expect(await apiError(() => bg.start(undefined, ctx))).toEqual(cliError(['start']));
    expect(await apiError(() => bg.start('nope', ctx))).toEqual(cliError(['start', 'nope']));
    expect(await apiError(() => bg.logs('nope', ctx))).toEqual(cliError(['logs', 'nope']));
    expect(await apiError(() => bg.init({ email: 'not-an-email', ...ctx }))).toEqual(cliError(['init', '-e', 'not-an-email']));
    const e = await apiError(() => bg.explain(`${DS}/none`, ctx));
    expect(e).toEqual(cliError(['explain', `${DS}/none`]));
    expect(e.code).toBe(1);
    // stop without a daemon never spawns one
    const r = await bg.stop(undefined, ctx);
    expect(r.stdout).toEqual(sb.cli(['stop']).stdout.trimEnd().split('\n'));
    expect(r.services.map((s) => s.state)).toEqual(['not started', 'not started']);
    expect(fs.existsSync(path.join(sb.pm2Home, 'rpc.sock'))).toBe(false);
  });

  it('init → autoApproveJob → listAutoApprovals → explain, as the CLI sees them', async () => {
    const i = await bg.init({ email: DO, syftboxRoot: 'SyftBox', google: false, ...ctx });
    expect(i.configPath).toBe(path.join(sb.syftBgHome, 'config.yaml'));
    expect(i.messages).toEqual([`Config saved to ${i.configPath}`, `Created SyftBox folder ${root}`]);
    expect(i.createdSyftboxRoot).toBe(root);
    expect(i.signedIn).toBe(false);

    writeBashJob(root, DS, 'job1', SCRIPT);
    const before = await bg.explain(`${DS}/job1`, ctx);
    expect(before.approved).toBe(false);
    expect(before.objects).toEqual([]);

    const c = bg.autoApproveJob(`${DS}/job1`, ctx);
    expect(c).toMatchObject({ name: 'job1', created: true, autoApprovalEnabled: true, added: ['script.sh'] });
    expect(c.object.peers).toEqual([DS]);
    expect(c.lines[c.lines.length - 1]).toBe("Created auto-approval object 'job1'.");

    // A second object by content, with name-only files; updating it reports what changed.
    const src = path.join(sb.dir, 'approved');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'script.sh'), SCRIPT);
    const a = bg.autoApprove({ contents: ['approved/script.sh'], filePaths: ['params.json'], peers: ['other@example.org'], name: 'by-content', ...ctx });
    expect(a.created).toBe(true);
    expect(a.object.file_paths).toEqual(['params.json']);
    const again = bg.autoApprove({ contents: [path.join(src, 'script.sh')], name: 'by-content', ...ctx });
    expect(again).toMatchObject({ created: false, unchanged: ['script.sh'], replaced: [], added: [] });
    expect(again.object.peers).toEqual(['other@example.org']);
    expect(again.lines[again.lines.length - 1]).toBe("Updated auto-approval object 'by-content' (unchanged script.sh).");

    const list = bg.listAutoApprovals(ctx);
    expect(list.objects.map((o) => o.name)).toEqual(['job1', 'by-content']);
    const { lines, ...json } = list;
    expect(json).toEqual(cliJson(['list-auto-approvals', '--json']));
    expect(lines.join('\n') + '\n').toBe(sb.cli(['list-auto-approvals']).stdout);
    expect(await apiError(() => bg.listAutoApprovals({ name: 'nope', ...ctx }))).toEqual(cliError(['list-auto-approvals', '-n', 'nope']));

    const x = bg.explain(`${DS}/job1`, ctx);
    // Not yet pending (the approve service has not taken it in): its files match job1 only.
    expect(x).toMatchObject({ approved: false, approvedBy: null, reason: 'status is received, not pending', files: { 'script.sh': c.object.file_contents[0]!.hash } });
    expect(x.objects.map((o) => [o.name, o.result])).toEqual([
      ['job1', 'matches'],
      ['by-content', 'not-for-peer'],
    ]);
    expect(x).toEqual(JSON.parse(sb.cli(['explain', `${DS}/job1`, '--json']).stdout));
    expect(bg.renderExplanation(x).join('\n') + '\n').toBe(sb.cli(['explain', `${DS}/job1`]).stdout);

    // Refusals carry the CLI's text; nothing changes.
    expect(await apiError(() => bg.removePeer(DS, ctx))).toEqual(cliError(['remove-peer', DS]));
    expect(await apiError(() => bg.removeAutoApproval('job1', { files: ['x'], all: true, ...ctx }))).toEqual(cliError(['remove-auto-approval', 'x', '-n', 'job1', '--all']));
    expect(await apiError(() => bg.autoApprove({ ...ctx }))).toMatchObject({ code: 2, message: expect.stringMatching(/^missing argument 'CONTENTS\.\.\.'/) });
    const r = bg.removeAutoApproval('by-content', { files: ['params.json', 'nothere.py'], ...ctx });
    expect(r).toMatchObject({ removed: ['params.json'], notFound: ['nothere.py'], objectRemoved: false });
    expect(r.lines.slice(0, 2)).toEqual(["Removed 1 file(s) from 'by-content'.", "Not in 'by-content': nothere.py"]);
    expect(bg.removePeer('other@example.org', { name: 'by-content', allowAnyPeer: true, ...ctx })).toMatchObject({ changed: ['by-content'], widened: ['by-content'] });
    expect(bg.removeAutoApproval('by-content', { all: true, ...ctx }).objectRemoved).toBe(true);
    expect(bg.listAutoApprovals(ctx).objects.map((o) => o.name)).toEqual(['job1']);
  });

  it('start → status() is `status --json` → the service approves the job → logs → ensureRunning → stop', async () => {
    const started = await bg.start('approve', ctx);
    expect(started.stdout).toEqual([expect.stringMatching(/^Started approve \(pid \d+\)\.$/)]);
    expect(started.services).toEqual([expect.objectContaining({ name: 'approve', pm2Name: 'syft-bg-approve', state: 'online' })]);

    const volatile = (s: unknown) => {
      const o = JSON.parse(JSON.stringify(s)) as { services: Array<Record<string, unknown>> };
      for (const x of o.services) for (const k of ['uptimeMs', 'memoryBytes', 'cpuPercent']) x[k] = typeof x[k];
      return o;
    };
    const st = await bg.status(ctx);
    expect(JSON.parse(JSON.stringify(st))).toEqual(st); // plain JSON data
    expect(volatile(st)).toEqual(volatile(cliJson(['status', '--json'])));
    expect(st.pm2).toMatchObject({ daemon: 'running', home: sb.pm2Home });
    expect(st.services.map((s) => [s.name, s.state])).toEqual([
      ['notify', 'not started'],
      ['approve', 'online'],
    ]);
    expect(bg.renderStatus(st)).toContain('approve          🟢 online');

    const done = await waitFor('job1 done', () => {
      const s = readState(root, DS, 'job1');
      return s && (s.status === 'done' || s.status === 'failed') && s;
    }, 20_000);
    expect(done).toMatchObject({ status: 'done', approval_method: 'auto' });

    const lg = await waitFor('approve log lines', () => {
      const l = bg.logs('approve', { lines: 5, ...ctx });
      return l.lines.length > 0 && l;
    });
    expect(lg.files.length).toBeGreaterThan(0);
    expect(lg.lines.length).toBeLessThanOrEqual(5);
    for (const l of lg.lines) expect(JSON.parse(l)).toMatchObject({ service: 'approve' });
    const cliLines = sb.cli(['logs', 'approve', '-n', '5', '--json']).stdout.trimEnd().split('\n');
    expect(cliLines.slice(0, lg.lines.length)).toEqual(lg.lines);
    expect(bg.logs('notify', ctx)).toMatchObject({ files: [], lines: [] });
    expect(await apiError(() => bg.logs('approve', { lines: -1, ...ctx }))).toMatchObject({ code: 2 });

    const ens = await bg.ensureRunning(['approve'], ctx);
    expect(ens.stdout).toEqual([`approve is already running (pid ${started.services[0]!.pid}), skipping. Use --restart to restart it.`]);

    const stopped = await bg.stop(undefined, ctx);
    expect(stopped.stdout).toEqual(['notify is not running (not started); nothing changed.', 'Stopped approve.']);
    expect(stopped.services.map((s) => s.state)).toEqual(['not started', 'stopped']);
    expect(statusStates(await bg.status(ctx))).toEqual(statusStates(cliJson(['status', '--json']) as Awaited<ReturnType<SyftBg['status']>>));
  });

  it('`home` targets another syft-bg home; setupStatus is what setup-status checks', async () => {
    const other = path.join(sb.dir, 'other-home');
    const r = await bg.init({ email: 'x@example.com', home: other, google: false, ...ctx, syftboxRoot: 'box2' });
    expect(r.configPath).toBe(path.join(other, 'config.yaml'));
    const st = await bg.status({ home: other, ...ctx });
    expect(st.home).toBe(other);
    expect(st.config.email).toBe('x@example.com');
    expect((await bg.status(ctx)).config.email).toBe(DO);
    const setup = await bg.setupStatus({ home: other, ...ctx });
    const cli = sb.cli(['setup-status'], { env: { SYFT_BG_HOME: other } });
    expect(bg.renderChecks(setup.checks).text).toBe(cli.stdout);
    expect(setup.ready).toBe(cli.code === 0);
  });
});

function statusStates(s: { services: Array<{ name: string; state: string }> }): string[] {
  return s.services.map((x) => `${x.name}:${x.state}`);
}
