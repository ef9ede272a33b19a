import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseReadyRecord, readinessOf, readyFilePath, restartWording, type ReadyRecord } from '../../lib/control';
import { writeReadyRecord } from '../../lib/service/runtime';
import { requireStartable, requireSupportedTransports } from '../../lib/service/requirements';
import { loadConfig } from '../../lib/config/load';
import { layout } from '../../lib/home';
import { deriveRuntime } from '../../lib/pm2/state';
import { isUserError } from '../../lib/errors';

describe('the readiness record (<home>/<svc>/ready.json)', () => {
  const at = '2030-01-01T00:00:01.500Z';
  const since = Date.parse('2030-01-01T00:00:01.000Z');

  it('is parsed only when it is whole and ours', () => {
    expect(parseReadyRecord(JSON.stringify({ pid: 42, state: 'ready', at }))).toEqual({ pid: 42, state: 'ready', at });
    expect(parseReadyRecord(JSON.stringify({ pid: 42, state: 'failed', message: 'no token', at }))).toEqual({ pid: 42, state: 'failed', message: 'no token', at });
    for (const bad of [undefined, '', '{"pid":42,"sta', 'null', '[]', '{"pid":"42","state":"ready","at":"x"}', JSON.stringify({ pid: 0, state: 'ready', at }), JSON.stringify({ pid: 4.5, state: 'ready', at }), JSON.stringify({ pid: 42, state: 'online', at }), JSON.stringify({ pid: 42, state: 'ready', at: 'yesterday' }), JSON.stringify({ pid: 42, state: 'ready' })]) {
      expect(parseReadyRecord(bad)).toBeNull();
    }
  });

  it('says ready only for the pid PM2 runs now, written after the start', () => {
    const rec = (r: Partial<ReadyRecord>): ReadyRecord => ({ pid: 42, state: 'ready', at, ...r });
    expect(readinessOf(null, 42, since)).toEqual({ kind: 'waiting' });
    expect(readinessOf(rec({}), 42, since)).toEqual({ kind: 'ready', pid: 42 });
    // A previous run's record (older than the start), even for a reused pid: not this start's.
    expect(readinessOf(rec({ at: '2030-01-01T00:00:00.999Z' }), 42, since)).toEqual({ kind: 'waiting' });
    // PM2 reports another pid than the record's: ask PM2 again (it may have restarted the process).
    expect(readinessOf(rec({ pid: 43 }), 42, since)).toEqual({ kind: 'other pid', pid: 43 });
    expect(readinessOf(rec({}), null, since)).toEqual({ kind: 'other pid', pid: 42 });
  });

  it('says failed for any pid of this start, with the service\'s message', () => {
    expect(readinessOf({ pid: 41, state: 'failed', message: 'config.yaml: bad', at }, 42, since)).toEqual({ kind: 'failed', pid: 41, message: 'config.yaml: bad' });
    expect(readinessOf({ pid: 42, state: 'failed', at }, 42, since)).toEqual({ kind: 'failed', pid: 42, message: 'the service failed while starting' });
    expect(readinessOf({ pid: 42, state: 'failed', message: 'old', at: '2029-12-31T23:59:59.000Z' }, 42, since)).toEqual({ kind: 'waiting' });
  });

  it('is written atomically where the CLI reads it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ready-'));
    try {
      const home = layout(dir);
      writeReadyRecord(home, 'notify', { pid: 7, state: 'failed', message: 'why', at });
      const file = readyFilePath(home, 'notify');
      expect(file).toBe(path.join(dir, 'notify', 'ready.json'));
      expect(parseReadyRecord(fs.readFileSync(file, 'utf8'))).toEqual({ pid: 7, state: 'failed', message: 'why', at });
      writeReadyRecord(home, 'notify', { pid: 8, state: 'ready', at });
      expect(parseReadyRecord(fs.readFileSync(file, 'utf8'))).toEqual({ pid: 8, state: 'ready', at });
      expect(fs.readdirSync(path.dirname(file))).toEqual(['ready.json']); // no temp file left behind
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('what restart says', () => {
  const rt = (status: string, extra: Record<string, unknown> = {}) =>
    deriveRuntime({ name: 'syft-bg-notify', pm_id: 0, pid: status === 'online' ? 10 : 0, pm2_env: { status, ...extra } }, 1000);
  it('a running service is restarted; a stopped or errored one is started, and said so', () => {
    expect(restartWording(rt('online'))).toEqual({ verb: 'Restarted', note: '' });
    expect(restartWording(deriveRuntime(undefined, 0))).toEqual({ verb: 'Started', note: '' });
    expect(restartWording(rt('stopped'))).toEqual({ verb: 'Started', note: '; it was stopped' });
    expect(restartWording(rt('errored', { exit_code: 78 }))).toEqual({ verb: 'Started', note: '; it was errored: last exit code 78: invalid configuration (see syft-bg logs)' });
  });
});

describe('the checks before start (requireStartable)', () => {
  let dir: string;
  const load = (transports: string) => {
    fs.writeFileSync(
      path.join(dir, 'config.yaml'),
      [
        'do_email: do@example.com',
        `syftbox_root: ${dir}/SyftBox`,
        `gmail_token_path: ${dir}/gmail.json`,
        `drive_token_path: ${dir}/drive.json`,
        'transports:',
        ...transports.split(',').map((t) => `  ${t.replace('=', ': ')}`),
        '',
      ].join('\n'),
    );
    return loadConfig({ ...layout(dir), userHome: dir });
  };
  const message = (f: () => void): string => {
    try {
      f();
    } catch (e) {
      expect(isUserError(e)).toBe(true);
      return (e as Error).message;
    }
    throw new Error('no error');
  };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'req-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('transports.email: gmail without the Gmail token is refused for notify, naming the file and what to change', () => {
    const loaded = load('email=gmail,syftbox=local');
    expect(message(() => requireStartable(loaded))).toBe(
      `${dir}/config.yaml: transports.email is 'gmail', but there is no Gmail token at ${dir}/gmail.json: sign in with 'syft-bg init -e EMAIL' (or -t TOKEN), or set transports.email: maildir.`,
    );
    expect(message(() => requireStartable(loaded, ['notify']))).toContain(`no Gmail token at ${dir}/gmail.json`);
    // approve does not send mail: starting it alone (and its own check) is not refused.
    expect(() => requireStartable(loaded, ['approve'])).not.toThrow();
    expect(() => requireSupportedTransports(loaded)).not.toThrow();
    fs.writeFileSync(path.join(dir, 'gmail.json'), '{}');
    expect(() => requireStartable(loaded)).not.toThrow();
  });

  it('both missing tokens are named at once', () => {
    const text = message(() => requireStartable(load('email=gmail,syftbox=drive')));
    expect(text).toContain(`transports.syftbox is 'drive', but there is no Drive token at ${dir}/drive.json`);
    expect(text).toContain(`transports.email is 'gmail', but there is no Gmail token at ${dir}/gmail.json`);
    // The Drive token is needed by both services.
    expect(message(() => requireStartable(load('email=maildir,syftbox=drive'), ['approve']))).toContain('no Drive token');
  });
});

describe('waiting for ready (the control logic against an in-memory PM2)', () => {
  const { startServices } = require('../../lib/control') as typeof import('../../lib/control');
  const { appDefinition } = require('../../lib/pm2/apps') as typeof import('../../lib/pm2/apps');
  type Api = import('../../lib/pm2/client').Pm2Api;
  type Proc = import('../../lib/pm2/daemon-reader').Pm2Process;

  function memoryPm2(pid: number): Api & { procs: Proc[] } {
    const procs: Proc[] = [];
    return {
      procs,
      list: async () => procs,
      start: async (app) => {
        procs.push({ name: app.name, pid, pm_id: 0, monit: { memory: 0, cpu: 0 }, pm2_env: { status: 'online', pm_uptime: Date.now(), restart_time: 0, pm_exec_path: app.script, exec_interpreter: app.interpreter, SYFT_BG_HOME: app.env.SYFT_BG_HOME } } as unknown as Proc);
      },
      stop: async () => {},
      restart: async () => {},
      delete: async () => {},
      version: async () => '7.0.4',
    };
  }

  it('a service that never reports: "online but not ready yet" after the timeout, exit 1, left running', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ready-unit-'));
    try {
      const api = memoryPm2(4242);
      const home = { dir, serviceDir: (s: string) => path.join(dir, s) };
      const t0 = Date.now();
      const r = await startServices({ api, definition: (s) => appDefinition(s, { env: { HOME: dir, SYFT_BG_HOME: dir, PM2_HOME: path.join(dir, 'pm2') } }), readyFile: (s) => path.join(home.serviceDir(s), 'ready.json'), readyTimeoutMs: 300 }, ['notify']);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
      expect(r.exitCode).toBe(1);
      expect(r.out).toEqual([]);
      expect(r.err).toEqual(['notify is online (pid 4242) but not ready yet: it did not finish starting within 0.3 s. See: syft-bg logs notify, then syft-bg status']);
      expect(api.procs).toHaveLength(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the ready record of the pid PM2 runs ends the wait at once: Started', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ready-unit-'));
    try {
      const api = memoryPm2(4343);
      const file = path.join(dir, 'notify', 'ready.json');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const started = api.start.bind(api);
      api.start = async (app) => {
        await started(app);
        setTimeout(() => fs.writeFileSync(file, JSON.stringify({ pid: 4343, state: 'ready', at: new Date().toISOString() })), 50);
      };
      const r = await startServices({ api, definition: (s) => appDefinition(s, { env: { HOME: dir, SYFT_BG_HOME: dir, PM2_HOME: path.join(dir, 'pm2') } }), readyFile: () => file, readyTimeoutMs: 5000 }, ['notify']);
      expect(r.err).toEqual([]);
      expect(r.out).toEqual(['Started notify (pid 4343).']);
      expect(r.exitCode).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
