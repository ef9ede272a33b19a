import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { hashFileBytes } from '../../lib/approval/hash';
import { snapshotJob, storedCopyReader } from '../../lib/approval/snapshot';
import type { ApprovalFileEntry, ApprovalObject, ApprovalObjects, JobConfig, JobSnapshot } from '../../lib/approval/types';
import type { ValidationContext } from '../../lib/approval/validate';

export const SYFT = 'syft-client==0.1.117';

/** A stand-in for lib/datasite/runsh.ts: the python run.sh template of protocol §1.4.2. */
export function pythonRunSh(config: JobConfig): string | undefined {
  if ((config.type ?? 'python') !== 'python') return undefined;
  const deps = Array.isArray(config.dependencies) ? (config.dependencies as string[]) : [];
  return [
    '#!/bin/bash',
    'set -euo pipefail',
    'export UV_SYSTEM_PYTHON=false',
    'cd code',
    'uv venv --python 3.12',
    'source .venv/bin/activate',
    `uv pip install ${deps.map((d) => `"${d}"`).join(' ')}`,
    'export PYTHONPATH=.:${PYTHONPATH:-}',
    `python ${String(config.entrypoint)}`,
    '',
  ].join('\n');
}

export function tempDir(prefix = 'syft-bg-approval-'): { dir: string; cleanup: () => void } {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function writeFile(file: string, content: string | Uint8Array): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

export interface JobSpec {
  /** Files under code/. */
  files: Record<string, string | Uint8Array>;
  /** config.yaml: data (dumped), raw text, or null for none. Default: a python job running main.py. */
  config?: Record<string, unknown> | string | null;
  /** run.sh: text, or null for none. Default: `pythonRunSh(config)`. */
  runSh?: string | Uint8Array | null;
}

export function pythonConfig(name: string, files: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  const entrypoint = files.includes('main.py') ? 'main.py' : files.find((f) => f.endsWith('.py')) ?? null;
  return {
    code_path: '/home/ds/analysis',
    datasets: null,
    dependencies: [SYFT],
    entrypoint,
    files,
    headers: {},
    is_folder_submission: true,
    job_type: 'local',
    name,
    submitted_at: '2026-11-25T18:46:23.644926Z',
    type: 'python',
    ...extra,
  };
}

/** `<root>/<name>/{code/…, config.yaml, run.sh}`; returns the code dir. */
export function writeJob(root: string, name: string, spec: JobSpec): { jobDir: string; codeDir: string } {
  const jobDir = path.join(root, name);
  const codeDir = path.join(jobDir, 'code');
  fs.mkdirSync(codeDir, { recursive: true });
  for (const [rel, content] of Object.entries(spec.files)) writeFile(path.join(codeDir, rel), content);
  const config = spec.config === undefined ? pythonConfig(name, Object.keys(spec.files)) : spec.config;
  if (config !== null) writeFile(path.join(jobDir, 'config.yaml'), typeof config === 'string' ? config : stringify(config, { sortMapEntries: true }));
  let runSh = spec.runSh;
  if (runSh === undefined && config !== null && typeof config !== 'string') runSh = pythonRunSh(config) ?? null;
  if (runSh !== undefined && runSh !== null) writeFile(path.join(jobDir, 'run.sh'), runSh);
  return { jobDir, codeDir };
}

export function snap(codeDir: string, opts: { status?: string; submitter?: string } = {}): JobSnapshot {
  return snapshotJob(codeDir, { status: opts.status ?? 'pending', submitter: opts.submitter ?? 'alice@test.com' });
}

/** The reference's `_make_script_entry`: writes the stored copy, returns the entry with its hash. */
export function makeEntry(rel: string, content: string | Uint8Array, storedPath: string): ApprovalFileEntry {
  writeFile(storedPath, content);
  const h = hashFileBytes(typeof content === 'string' ? Buffer.from(content) : content);
  return { relative_path: rel, path: storedPath, hash: h.hash, ...(h.binary ? { binary: true } : {}) };
}

export function obj(file_contents: ApprovalFileEntry[], more: Partial<ApprovalObject> = {}): ApprovalObject {
  return { file_contents, file_paths: [], peers: [], ...more };
}

export function ctx(objects: ApprovalObjects, more: Partial<ValidationContext> = {}): ValidationContext {
  return { objects, storedCopy: storedCopyReader(), expectedRunSh: pythonRunSh, ...more };
}
