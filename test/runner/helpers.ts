import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { snapshotJob } from '../../lib/approval/snapshot';
import type { JobSnapshot } from '../../lib/approval/types';
import { approve, defaultState, emitState, jobPaths, setupPeerJobFolders, type JobPaths } from '../../lib/datasite';
import { clockAt } from '../../lib/datasite/time';
import type { RunRequest } from '../../lib/runner';

export const DO = 'do@example.com';
export const DS = 'ds@example.org';

const created: string[] = [];
afterAll(() => {
  for (const d of created.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh temp dir (real path), removed after the test file. */
export function tempDir(prefix = 'syft-bg-runner-'): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  created.push(dir);
  return dir;
}

export interface TestJob {
  root: string;
  name: string;
  paths: JobPaths;
  /** The approved state.yaml text. */
  stateText: string;
  /** Where runs go (`runDir` of `request`). */
  runsRoot: string;
}

/**
 * An approved bash job in a fresh SyftBox root (peer folders and their syft.pub.yaml set up as the DO does):
 * `run.sh` = `runSh`, `code/script.sh` = `runSh` (as syft-job's bash submission), plus `files` under code/.
 */
export function approvedJob(runSh: string, opts: { name?: string; root?: string; files?: Record<string, string | Uint8Array> } = {}): TestJob {
  const root = opts.root ?? tempDir('syftbox-');
  const name = opts.name ?? 'job-1';
  const setup = setupPeerJobFolders(root, DO, DS);
  if (!setup.ok) throw new Error(setup.problem.message);
  const paths = jobPaths(root, DO, DS, name);
  fs.mkdirSync(paths.codeDir, { recursive: true });
  fs.writeFileSync(paths.runSh, runSh);
  fs.writeFileSync(path.join(paths.codeDir, 'script.sh'), runSh);
  for (const [rel, content] of Object.entries(opts.files ?? {})) {
    const f = path.join(paths.codeDir, ...rel.split('/'));
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, content);
  }
  fs.writeFileSync(
    paths.config,
    [
      'code_path: null',
      'datasets: null',
      'dependencies: []',
      'entrypoint: null',
      'files:',
      '- script.sh',
      'headers: {}',
      'is_folder_submission: false',
      'job_type: local',
      `name: ${name}`,
      "submitted_at: '2026-11-25T18:46:23.650403Z'",
      'type: bash',
      '',
    ].join('\n'),
  );
  const pending = { ...defaultState(), status: 'pending' as const, received_at: '2026-11-25T18:46:23.654761Z' };
  const approved = approve(pending, { approvedBy: DO, method: 'auto' }, clockAt('2026-11-25T18:46:23.668330Z'));
  const stateText = emitState(approved);
  fs.mkdirSync(paths.reviewDir, { recursive: true });
  fs.writeFileSync(paths.state, stateText);
  return { root, name, paths, stateText, runsRoot: path.join(tempDir('runs-'), 'runs') };
}

export function snap(job: TestJob): JobSnapshot {
  return snapshotJob(job.paths.codeDir, { status: 'approved', submitter: DS });
}

let runCounter = 0;
export function request(job: TestJob, over: Partial<RunRequest> = {}): RunRequest {
  return {
    root: job.root,
    datasite: DO,
    submitter: DS,
    job: job.name,
    snapshot: snap(job),
    stateText: job.stateText,
    runDir: path.join(job.runsRoot, DS, `${job.name}-${++runCounter}`),
    timeoutMs: 30_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    clock: clockAt('2026-11-25T18:46:23.703576Z'),
    ...over,
  };
}

export const read = (f: string): string => fs.readFileSync(f, 'utf8');
export const exists = (f: string): boolean => fs.existsSync(f);

/** Live (non-zombie) processes whose environment contains `TAG=<tag>`. */
export function taggedProcesses(tag: string): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'latin1');
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
      if (state === 'Z' || state === 'X') continue;
      const env = fs.readFileSync(`/proc/${name}/environ`, 'latin1').split('\0');
      if (env.includes(`TAG=${tag}`)) out.push(Number(name));
    } catch {
      // gone or not ours
    }
  }
  return out;
}

export async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out waiting for a condition');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** All regular files under dir, relative, sorted, with their bytes (directories as `<rel>/`). */
export function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        out[`${r}/`] = '';
        walk(r);
      } else out[r] = fs.readFileSync(path.join(dir, r), 'latin1');
    }
  };
  walk('');
  return out;
}
