/**
 * The pieces of lib/boot on their own, plus the install/uninstall paths that stop before pm2 startup (these run in
 * the jest process: nothing there can reach /etc/systemd/system).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseJlist } from '../../lib/boot/pm2cli';
import { describeFailure } from '../../lib/boot/run';
import { shellLine, shellQuote } from '../../lib/boot/shell';
import { install, uninstall, UNIT_PATH } from '../../lib/boot/startup';
import { pm2EnvPath, readSystemdTemplate, renderSystemdUnit } from '../../lib/boot/unit';
import { chownRootOwned, ensureUserPm2Home, lookupUser } from '../../lib/boot/users';
import { NOBODY, PM2_BIN, SYS_PATH, isRoot, tempRoot } from './helpers';

let root: string;
beforeAll(() => {
  root = tempRoot('syft-bg-boot-parts-');
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe('shell quoting', () => {
  it('leaves plain words bare and single-quotes the rest', () => {
    expect(shellQuote('/usr/bin/node')).toBe('/usr/bin/node');
    expect(shellQuote('PATH=/a:/b')).toBe('PATH=/a:/b');
    expect(shellQuote('/home/a b/.pm2')).toBe("'/home/a b/.pm2'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('')).toBe("''");
    expect(shellLine(['sh', '-c', 'a && b'])).toBe("sh -c 'a && b'");
  });
});

describe('parseJlist', () => {
  const list = JSON.stringify([
    { name: 'syft-bg-notify', pm2_env: { namespace: 'syft-bg', status: 'online' } },
    { name: 'pm2-logrotate', pm2_env: { namespace: 'default', status: 'online', pmx_module: true } },
  ]);
  it('finds the JSON among pm2 banner / version warning lines', () => {
    const out = `\n>>>> In-memory PM2 is out-of-date, do:\n>>>> $ pm2 update\n${list}`;
    expect(parseJlist(out)).toEqual([
      { name: 'syft-bg-notify', namespace: 'syft-bg', status: 'online', module: false },
      { name: 'pm2-logrotate', namespace: 'default', status: 'online', module: true },
    ]);
    expect(parseJlist('[]')).toEqual([]);
  });
  it('returns undefined when there is no list', () => {
    expect(parseJlist('[PM2][ERROR] something')).toBeUndefined();
    expect(parseJlist('')).toBeUndefined();
  });
});

describe('unit rendering (pm2 7 systemd.tpl)', () => {
  it('appends the node folder to PATH only when pm2 would', () => {
    expect(pm2EnvPath('/usr/local/bin:/usr/bin', '/usr/bin/node', PM2_BIN)).toBe('/usr/local/bin:/usr/bin');
    expect(pm2EnvPath('/usr/bin', '/opt/node/bin/node', PM2_BIN)).toBe('/usr/bin:/opt/node/bin');
  });
  it('fills every placeholder', () => {
    const unit = renderSystemdUnit(readSystemdTemplate(PM2_BIN), {
      pm2Bin: '/p/pm2/bin/pm2',
      envPath: '/usr/bin',
      user: 'alice',
      pm2Home: '/home/alice/.pm2',
      serviceName: 'syft-bg',
    });
    expect(unit).not.toMatch(/%[A-Z_]+%/);
    expect(unit.split('\n')).toEqual(
      expect.arrayContaining([
        'User=alice',
        'Environment=PATH=/usr/bin:/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin',
        'Environment=PM2_HOME=/home/alice/.pm2',
        'PIDFile=/home/alice/.pm2/pm2.pid',
        'ExecStart=/p/pm2/bin/pm2 resurrect',
        'ExecReload=/p/pm2/bin/pm2 reload all',
        'ExecStop=/p/pm2/bin/pm2 kill',
        'WantedBy=multi-user.target',
      ]),
    );
  });
});

describe('describeFailure', () => {
  const cmd = { file: 'x', args: [], env: {}, display: 'env PM2_HOME=/h node pm2 save --force' };
  it('shows the command, the exit code and stderr without stack frames or colours', () => {
    const stderr = '\u001b[31m[PM2][ERROR]\u001b[39m boom\nError: boom\n    at Object.<anonymous> (/x/y.js:1:2)\n    at /x/z.js:3:4\n';
    expect(describeFailure(cmd, { code: 1, signal: null, stdout: 'ignored', stderr })).toEqual([
      'Command failed (exit code 1): env PM2_HOME=/h node pm2 save --force',
      '  stderr:',
      '    [PM2][ERROR] boom',
      '    Error: boom',
    ]);
  });
  it('falls back to stdout when stderr is empty, and reports timeouts', () => {
    expect(describeFailure(cmd, { code: 1, signal: null, stdout: '[ERROR] Exit code : 1\n', stderr: '' })).toEqual([
      'Command failed (exit code 1): env PM2_HOME=/h node pm2 save --force',
      '  stdout:',
      '    [ERROR] Exit code : 1',
    ]);
    expect(describeFailure(cmd, { code: null, signal: 'SIGKILL', stdout: '', stderr: '', failure: 'timed out after 60 s' })[0]).toBe(
      'Command failed (timed out after 60 s): env PM2_HOME=/h node pm2 save --force',
    );
  });
});

describe('users', () => {
  it('looks users up by name and uid', () => {
    expect(lookupUser('nobody')).toMatchObject({ name: 'nobody', uid: 65534 });
    expect(lookupUser(0)).toMatchObject({ name: 'root', uid: 0, home: '/root' });
    expect(lookupUser('no-such-user-syftbg')).toBeUndefined();
  });

  (isRoot() ? it : it.skip)('ensureUserPm2Home creates the home, its parents and pm2 skeleton as the user', () => {
    const home = path.join(root, 'u1', '.syft-bg', 'pm2');
    const created = ensureUserPm2Home(home, NOBODY.uid, NOBODY.gid);
    expect(created).toEqual(
      ['u1', 'u1/.syft-bg', 'u1/.syft-bg/pm2', 'u1/.syft-bg/pm2/logs', 'u1/.syft-bg/pm2/pids', 'u1/.syft-bg/pm2/modules', 'u1/.syft-bg/pm2/module_conf.json', 'u1/.syft-bg/pm2/touch'].map(
        (p) => path.join(root, p),
      ),
    );
    for (const p of created) expect(fs.statSync(p).uid).toBe(NOBODY.uid);
    expect(ensureUserPm2Home(home, NOBODY.uid, NOBODY.gid)).toEqual([]);
  });

  (isRoot() ? it : it.skip)('chownRootOwned gives root-owned entries back and does not follow symlinks', () => {
    const home = path.join(root, 'u2');
    fs.mkdirSync(path.join(home, 'logs'), { recursive: true });
    fs.writeFileSync(path.join(home, 'logs', 'a.log'), '');
    fs.writeFileSync(path.join(home, 'pm2.log'), '');
    const outside = path.join(root, 'outside-root-file');
    fs.writeFileSync(outside, '');
    fs.symlinkSync(outside, path.join(home, 'link'));
    const mine = path.join(home, 'mine');
    fs.writeFileSync(mine, '');
    fs.chownSync(mine, 1234, 1234);
    const changed = chownRootOwned(home, NOBODY.uid, NOBODY.gid);
    expect(changed.sort()).toEqual([home, path.join(home, 'link'), path.join(home, 'logs'), path.join(home, 'logs', 'a.log'), path.join(home, 'pm2.log')].sort());
    expect(fs.lstatSync(path.join(home, 'logs', 'a.log')).uid).toBe(NOBODY.uid);
    expect(fs.lstatSync(path.join(home, 'link')).uid).toBe(NOBODY.uid);
    expect(fs.statSync(outside).uid).toBe(0); // the symlink target is untouched
    expect(fs.statSync(mine).uid).toBe(1234); // not root's: left alone
  });
});

describe('install / uninstall: early exits', () => {
  it('no systemctl on PATH: a clear message with alternatives, exit 1, nothing saved', async () => {
    // A node outside /usr/bin (whose folder is always added to PATH, and which has a real systemctl here).
    const bin = path.join(root, 'nodebin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'node'), `#!/bin/sh\nexec ${process.execPath} "$@"\n`, { mode: 0o755 });
    const home = path.join(root, 'nosd-home');
    const res = await install({ env: { PATH: bin, HOME: root, PM2_HOME: home }, node: path.join(bin, 'node') });
    expect(res.exitCode).toBe(1);
    expect(res.stdout).toEqual([]);
    expect(res.stderr[0]).toBe('Cannot set up boot start: `systemctl` is not on PATH, so this machine does not seem to use systemd.');
    expect(res.stderr.join('\n')).toContain(`@reboot env PM2_HOME=${home} ${path.join(bin, 'node')} ${PM2_BIN} resurrect`);
    expect(fs.existsSync(home)).toBe(false);
  });

  it('no PM2 daemon: tells to `syft-bg start` first, exit 1, starts no daemon', async () => {
    const home = path.join(root, 'empty-home');
    const res = await install({ env: { PATH: SYS_PATH, HOME: root, PM2_HOME: home } });
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toEqual([
      `No syft-bg service is running: no PM2 daemon runs for PM2_HOME=${home}.`,
      'Start them first with `syft-bg start`, then run `syft-bg install` again.',
    ]);
    expect(fs.existsSync(home)).toBe(false);
  });

  it('unknown --user: exit 1', async () => {
    const res = await install({ env: { PATH: SYS_PATH, HOME: root }, user: 'no-such-user-syftbg' });
    expect(res).toEqual({ exitCode: 1, stdout: [], stderr: ['Unknown user "no-such-user-syftbg" (not found with getent passwd).'] });
  });

  (fs.existsSync(UNIT_PATH) ? it.skip : it)('uninstall with nothing installed says so, exit 0', async () => {
    const res = await uninstall({ env: { PATH: SYS_PATH } });
    expect(res).toEqual({ exitCode: 0, stdout: [`Boot start is not installed (no ${UNIT_PATH}): nothing to do.`], stderr: [] });
  });
});
