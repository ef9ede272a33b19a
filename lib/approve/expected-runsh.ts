import type { ExpectedRunSh as ApprovalExpectedRunSh, JobConfig as RawJobConfig } from '../approval';
import type { JobConfig as DatasiteJobConfig } from '../datasite';

/** Shared by the approve service and `syft-bg explain`, so both judge run.sh by the same generator. */

function laxTrue(v: unknown): boolean {
  if (v === true || v === 1) return true;
  return typeof v === 'string' && ['1', 'on', 't', 'true', 'y', 'yes'].includes(v.trim().toLowerCase());
}

function stringList(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
}

/**
 * The approval core's `ExpectedRunSh` (parsed config.yaml → run.sh text or undefined) on top of the datasite
 * library's `expectedRunSh` (typed config → `{ok, script}`). The core only asks for python jobs (a bash job's
 * run.sh is compared with its `code/script.sh`); malformed fields give undefined, which the core reports as
 * "no run.sh can be generated".
 */
export function approvalExpectedRunSh(): ApprovalExpectedRunSh {
  const { expectedRunSh } = require('../datasite') as typeof import('../datasite');
  return (raw: RawJobConfig) => {
    const dependencies = stringList(raw.dependencies);
    const files = stringList(raw.files);
    const entrypoint = raw.entrypoint === undefined || raw.entrypoint === null ? null : raw.entrypoint;
    if (dependencies === undefined || files === undefined || (entrypoint !== null && typeof entrypoint !== 'string')) return undefined;
    const config: DatasiteJobConfig = {
      name: typeof raw.name === 'string' ? raw.name : '',
      type: raw.type === 'bash' ? 'bash' : 'python',
      submitted_at: typeof raw.submitted_at === 'string' ? raw.submitted_at : '',
      entrypoint,
      dependencies,
      files,
      is_folder_submission: laxTrue(raw.is_folder_submission),
      code_path: typeof raw.code_path === 'string' ? raw.code_path : null,
      job_type: raw.job_type === 'enclave' ? 'enclave' : 'local',
      datasets: null,
      headers: {},
    };
    const r = expectedRunSh(config);
    return r.ok ? r.script : undefined;
  };
}
