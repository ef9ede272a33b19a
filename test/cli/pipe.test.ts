import { spawnSync } from 'node:child_process';
import { CLI, makeSandbox, type Sandbox } from '../helpers/sandbox';

// `syft-bg … | head`: when the reader goes away, the command stops quietly (exit 0), never with an EPIPE stack.
describe('output into a closed pipe', () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = makeSandbox('pipe');
    expect(sb.cli(['init', '-e', 'do@example.com']).code).toBe(0);
  });
  afterAll(() => sb.cleanup());

  it.each([
    [['install', '--dry-run']],
    [['status']],
    [['setup-status']],
    [['--help']],
    [['list-auto-approvals']],
  ])('syft-bg %j | true', (args) => {
    // `true` exits at once without reading: every write of the command meets a closed pipe.
    const quoted = args.map((a) => `'${a}'`).join(' ');
    const r = spawnSync('bash', ['-c', `set -o pipefail; '${process.execPath}' '${CLI}' ${quoted} | true`], { env: sb.env, encoding: 'utf8', cwd: sb.dir, timeout: 30_000 });
    expect(r.stderr).not.toMatch(/EPIPE|\n\s+at /);
    // setup-status exits 1 here (no PM2 daemon is not a problem, but the SyftBox folder check may be): only the
    // absence of a crash matters, so any exit the command itself chose is fine, but not a signal or a crash code.
    expect(r.signal).toBeNull();
    expect([0, 1]).toContain(r.status);
  });
});
