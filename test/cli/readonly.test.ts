import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, makeSandbox, type Sandbox } from '../helpers/sandbox';

// A service that cannot write (read-only file system) says where and why, in words: never "internal error", never
// Node's ENOENT of a recursive mkdir. The folder is made read-only by a bind mount in a private mount namespace
// (gone with the process).
describe('services on a read-only file system', () => {
  let sb: Sandbox;
  beforeEach(() => {
    sb = makeSandbox('ro');
    expect(sb.cli(['init', '-e', 'do@example.com']).code).toBe(0);
  });
  afterEach(() => sb.cleanup());

  function foregroundOnReadOnly(dir: string, service: string) {
    const r = spawnSync(
      'unshare',
      ['-m', '--propagation', 'private', 'sh', '-c', 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"', 'sh', dir, process.execPath, CLI, 'run-foreground', '-s', service, '--once'],
      { env: sb.env, encoding: 'utf8', cwd: sb.dir, timeout: 60_000 },
    );
    if (r.error) throw r.error;
    expect(r.stderr).not.toMatch(/^(unshare|mount|sh):/m);
    return r;
  }

  it('no log folder yet under a read-only ~/.syft-bg: "cannot write its logs … read-only file system (EROFS)", exit 1', () => {
    fs.rmSync(path.join(sb.syftBgHome, 'logs'), { recursive: true, force: true });
    const r = foregroundOnReadOnly(sb.syftBgHome, 'notify');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`Error: cannot write its logs at ${path.join(sb.syftBgHome, 'logs')}: read-only file system (EROFS)\n`);
  });

  it("a read-only state folder: the service's reason names the folder and the OS's reason, no stack", () => {
    const dir = path.join(sb.syftBgHome, 'notify');
    fs.mkdirSync(dir, { recursive: true });
    const r = foregroundOnReadOnly(dir, 'notify');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`Error: could not start: cannot write in ${dir}: read-only file system (EROFS)`);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  });
});
