import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { captureOutput, explainArg, explainRow, reportMessage, runControl, safeComponent } from '../../cli/tui/actions';
import type { FeedRow } from '../../cli/tui/model';

const row = (submitter: string, name: string, datasite = 'do@x.org'): FeedRow => ({
  key: 'k',
  time: 0,
  source: 'approve',
  label: 'received',
  tone: 'neutral',
  subject: `${submitter}/${name}`,
  detail: '',
  job: { datasite, submitter, name },
});

describe('explainArg', () => {
  test('the inbox folder under the SyftBox folder, or <submitter>/<job> without one', () => {
    expect(explainArg(row('ds@y.org', 'j1'), '/box')).toBe(path.join('/box', 'do@x.org', 'app_data', 'job', 'inbox', 'ds@y.org', 'j1'));
    expect(explainArg(row('ds@y.org', 'j1'), null)).toBe('ds@y.org/j1');
    expect(explainArg(row('ds@y.org', 'j1', '..'), '/box')).toBe('ds@y.org/j1');
  });

  test('names from peers that could leave their folder are refused', () => {
    for (const [s, n] of [
      ['..', 'j'],
      ['ds', '..'],
      ['ds', 'a/b'],
      ['ds', 'a\\b'],
      ['', 'j'],
      ['ds', 'x\0'],
    ]) {
      expect(explainArg(row(s!, n!), '/box')).toBeUndefined();
    }
    expect(explainArg({ ...row('a', 'b'), job: undefined }, '/box')).toBeUndefined();
    expect(safeComponent('job.v2')).toBe(true);
    expect(explainRow(row('ds', '../../etc'), '/box').lines[0]).toContain('not a plain folder name');
  });
});

test('reportMessage: problems first, tone from the exit code', () => {
  expect(reportMessage({ out: ['Started notify (pid 3).'], err: [], exitCode: 0 })).toEqual({ text: 'Started notify (pid 3).', tone: 'good' });
  expect(reportMessage({ out: [], err: ['notify did not come online (state: errored).', 'Note: x'], exitCode: 1 })).toEqual({
    text: 'notify did not come online (state: errored).  Note: x',
    tone: 'bad',
  });
  expect(reportMessage({ out: [], err: [], exitCode: 1 })).toEqual({ text: 'Failed.', tone: 'bad' });
});

test('captureOutput: console and stderr go to the sink until restored', () => {
  const got: string[] = [];
  const origLog = console.log;
  const origWrite = process.stderr.write;
  const restore = captureOutput((l) => got.push(l));
  try {
    console.log('[PM2] Starting %s', '\x1b[32mapp\x1b[39m');
    console.error(new Error('oops').message);
    let called = false;
    process.stderr.write('warn line 1\nwarn line 2\n', () => (called = true));
    expect(called).toBe(true);
  } finally {
    restore();
  }
  expect(got).toEqual(['[PM2] Starting app', 'oops', 'warn line 1', 'warn line 2']);
  expect(console.log).toBe(origLog);
  expect(process.stderr.write).toBe(origWrite);
});

describe('with a home of its own', () => {
  let dir: string;
  const saved = { SYFT_BG_HOME: process.env.SYFT_BG_HOME, PM2_HOME: process.env.PM2_HOME };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tui-act-'));
    process.env.SYFT_BG_HOME = path.join(dir, 'home');
    process.env.PM2_HOME = path.join(dir, 'pm2');
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  test('start without a configuration: the command\'s error, as a message (no PM2 daemon spawned)', async () => {
    const r = await runControl('start', 'notify');
    expect(r.tone).toBe('bad');
    expect(r.text).toContain(`No configuration at ${path.join(dir, 'home', 'config.yaml')}`);
    expect(fs.existsSync(path.join(dir, 'pm2', 'rpc.sock'))).toBe(false);
  });

  test('stop with no daemon: nothing to do', async () => {
    expect(await runControl('stop', 'approve')).toEqual({ text: 'approve is not running (no PM2 daemon); nothing changed.', tone: 'good' });
  });

  test('explain of a job that is not there: the error in the panel', () => {
    const x = explainRow(row('ds@y.org', 'gone_job'), path.join(dir, 'box'));
    expect(x.title).toBe('Explain: ds@y.org/gone_job');
    expect(x.lines.join('\n')).toMatch(/gone_job/);
  });
});
