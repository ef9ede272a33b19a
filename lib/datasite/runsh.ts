/**
 * The `run.sh` syft-job generates for a submission (protocol §1.4.2, `JobClient._generate_python_run_script` and
 * `_write_bash_script`), pure. The approve service accepts a job only when its `run.sh` is byte-identical to
 * `expectedRunSh(config, ...)`, so that auto-approval, which only looks at `code/`, cannot be bypassed through the
 * script the runner actually executes.
 *
 * Byte-identical is necessary, not sufficient: syft-job pastes `dependencies` and `entrypoint` into the script
 * unescaped (`uv pip install "<dep>"`, `python <entrypoint>`), so a hostile config.yaml yields a "template" run.sh
 * that runs arbitrary commands. `runShHazards` lists such values; treat any hazard as a refusal.
 */

import type { JobConfig } from './config';

export const RUN_SCRIPT_PYTHON_VERSION = '3.12';

/**
 * The python template. `dependencies` is the full list as config.yaml holds it (install source first); each is
 * wrapped in double quotes and joined with spaces. `hasPyproject` adds `uv sync` for a folder with pyproject.toml.
 */
export function pythonRunSh(entrypoint: string, dependencies: readonly string[], hasPyproject: boolean): string {
  const deps = dependencies.map((d) => `"${d}"`).join(' ');
  const v = RUN_SCRIPT_PYTHON_VERSION;
  const sync = hasPyproject ? `uv sync --python ${v}\n` : '';
  return (
    '#!/bin/bash\n' +
    'set -euo pipefail\n' +
    'export UV_SYSTEM_PYTHON=false\n' +
    'cd code\n' +
    `uv venv --python ${v}\n` +
    'source .venv/bin/activate\n' +
    sync +
    `uv pip install ${deps}\n` +
    'export PYTHONPATH=.:${PYTHONPATH:-}\n' +
    `python ${entrypoint}\n`
  );
}

/** syft-job uses `uv sync` when the submitted folder had `pyproject.toml` at its root. */
export function configHasPyproject(config: JobConfig): boolean {
  return config.is_folder_submission && config.files.includes('pyproject.toml');
}

export type ExpectedRunSh = { ok: true; script: string } | { ok: false; reason: string };

/**
 * What syft-job wrote as run.sh for this config. Python: the template (with `uv sync` when
 * `opts.hasPyproject ?? configHasPyproject(config)`). Bash: the script itself, which syft-job also stores as
 * `code/script.sh`; pass that file's content as `bashScript`.
 */
export function expectedRunSh(config: JobConfig, opts: { bashScript?: string; hasPyproject?: boolean } = {}): ExpectedRunSh {
  if (config.type === 'bash') {
    if (opts.bashScript === undefined) return { ok: false, reason: 'bash job: the expected run.sh is code/script.sh, which was not given' };
    return { ok: true, script: opts.bashScript };
  }
  if (config.entrypoint === null || config.entrypoint === '') return { ok: false, reason: 'python job without an entrypoint' };
  return { ok: true, script: pythonRunSh(config.entrypoint, config.dependencies, opts.hasPyproject ?? configHasPyproject(config)) };
}

/** Characters that change the meaning of `"<dep>"` or `python <entrypoint>` in bash. */
const DEP_UNSAFE = /["$`\\\n\r\0]/;
const ENTRYPOINT_SAFE = /^[A-Za-z0-9_][A-Za-z0-9_.\-/]*\.py$/;

/** Values that would let a template run.sh do something else than install and run; empty when none. */
export function runShHazards(config: JobConfig): string[] {
  const out: string[] = [];
  if (config.type !== 'python') return out;
  config.dependencies.forEach((d, i) => {
    if (DEP_UNSAFE.test(d)) out.push(`dependencies[${i}] contains a character that escapes the double quotes in run.sh: ${JSON.stringify(d)}`);
    if (d.startsWith('-')) out.push(`dependencies[${i}] starts with "-" and would be read as an option by uv: ${JSON.stringify(d)}`);
  });
  const ep = config.entrypoint;
  if (ep !== null && (!ENTRYPOINT_SAFE.test(ep) || ep.split('/').includes('..'))) {
    out.push(`entrypoint is not a plain relative .py path (run.sh runs \`python <entrypoint>\` unquoted): ${JSON.stringify(ep)}`);
  }
  return out;
}

export type RunShCheck =
  | { matches: true; hazards: string[] }
  | { matches: false; reason: string; expected?: string; hazards: string[] };

/** Compare an actual run.sh with the expected one, byte for byte. */
export function checkRunSh(config: JobConfig, actual: string, opts: { bashScript?: string; hasPyproject?: boolean } = {}): RunShCheck {
  const hazards = runShHazards(config);
  const exp = expectedRunSh(config, opts);
  if (!exp.ok) return { matches: false, reason: exp.reason, hazards };
  if (exp.script === actual) return { matches: true, hazards };
  let i = 0;
  while (i < actual.length && i < exp.script.length && actual[i] === exp.script[i]) i++;
  const line = exp.script.slice(0, i).split('\n').length;
  return { matches: false, reason: `run.sh differs from what syft-job generates for this config.yaml (first difference on line ${line})`, expected: exp.script, hazards };
}
