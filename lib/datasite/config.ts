/**
 * `inbox/<ds>/<job>/config.yaml` — syft-job's `JobSubmissionMetadata` (protocol §1.4.1), pure codec.
 *
 * Written by the DS as `yaml.dump(model_dump(mode="json", exclude={"datasite_email", "submitted_by"}),
 * default_flow_style=False)`. syft-job derives `submitted_by` and `datasite_email` from the path; a file that
 * contains either key makes `JobSubmissionMetadata.load` raise (`TypeError: multiple values`) and the job vanishes
 * from every Python listing, so `parseConfig` refuses it (`invalid`) and `emitConfig` can never write them.
 * Unknown keys are ignored, as pydantic ignores them.
 */

import { problem, type Parsed } from './problems';
import { PyTimestamp, pyYamlDump, type PyLoaded, type PyValue } from './pyyaml';
import { normalizePyDatetime } from './time';
import { describe, isMapping, laxBool, loadYamlText, optStr } from './yamlfile';

export type JobType = 'python' | 'bash';

export interface JobConfig {
  name: string;
  type: JobType;
  /** pydantic-normalised ISO timestamp (`…Z`). */
  submitted_at: string;
  /** python: file name relative to `code/`; bash: null. */
  entrypoint: string | null;
  /** python: install source first (e.g. `syft-client==0.1.117`), then the user's dependencies; bash: []. */
  dependencies: string[];
  /** Files under `code/`, relative (`rglob` order on the DS). */
  files: string[];
  is_folder_submission: boolean;
  /** Absolute path on the DS machine (informational only). */
  code_path: string | null;
  job_type: 'local' | 'enclave';
  datasets: Record<string, string[]> | null;
  headers: Record<string, PyValue>;
}

/** Keys syft-job writes, sorted as PyYAML writes them. */
export const CONFIG_KEYS = [
  'code_path',
  'datasets',
  'dependencies',
  'entrypoint',
  'files',
  'headers',
  'is_folder_submission',
  'job_type',
  'name',
  'submitted_at',
  'type',
] as const satisfies ReadonlyArray<keyof JobConfig>;

/** Keys that make syft-job drop the job (it passes them again as keyword arguments). */
export const FORBIDDEN_CONFIG_KEYS = ['submitted_by', 'datasite_email'] as const;

function strList(v: PyLoaded | undefined): string[] | undefined {
  if (v === undefined) return [];
  if (!Array.isArray(v)) return undefined;
  return v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
}

function jsonish(v: PyLoaded): v is PyValue {
  if (v instanceof PyTimestamp) return false;
  if (typeof v === 'number') return Number.isSafeInteger(v);
  if (Array.isArray(v)) return v.every(jsonish);
  if (v !== null && typeof v === 'object') return Object.values(v).every(jsonish);
  return true;
}

/**
 * Parse `config.yaml`. `dirName`, when given, must equal `name` (syft-job keys the review folder by `name` when
 * approving but by the directory when scanning); a mismatch is reported in `notes`, not refused, so callers can
 * show the job and explain why it must not be approved.
 */
export function parseConfig(text: string, opts: { dirName?: string } = {}): Parsed<JobConfig> {
  const loaded = loadYamlText(text, 'config.yaml');
  if (!loaded.ok) return loaded;
  const data = loaded.data;
  const cut = !text.endsWith('\n');
  const bad = (msg: string) => ({ ok: false as const, problem: problem(cut ? 'incomplete' : 'invalid', `config.yaml: ${msg}`) });
  if (!isMapping(data)) return bad(`holds ${describe(data)}, not a mapping`);
  const absent = CONFIG_KEYS.filter((k) => !(k in data));
  if (cut && absent.length > 0) {
    return { ok: false, problem: problem('incomplete', `config.yaml has no final newline and lacks ${absent.join(', ')} (cut short while being written?)`) };
  }
  const forbidden = FORBIDDEN_CONFIG_KEYS.filter((k) => k in data);
  if (forbidden.length > 0) {
    return bad(`contains ${forbidden.join(' and ')}; syft-job derives these from the path and cannot load a file that has them, so Python ignores this job`);
  }
  if (typeof data.name !== 'string') return bad(data.name === undefined ? 'name is missing' : `name is ${describe(data.name)}, not a string`);
  const type = data.type === undefined ? 'python' : data.type;
  if (type !== 'python' && type !== 'bash') return bad(`type is ${describe(type)}, not python or bash`);
  if (data.submitted_at === undefined || data.submitted_at === null) return bad('submitted_at is missing');
  const submittedAt = normalizePyDatetime(data.submitted_at);
  if (submittedAt === undefined) return bad(`submitted_at is ${describe(data.submitted_at)}, not a datetime`);
  const entrypoint = optStr(data.entrypoint);
  if (entrypoint === undefined) return bad(`entrypoint is ${describe(data.entrypoint)}, not a string`);
  const dependencies = strList(data.dependencies);
  if (dependencies === undefined) return bad('dependencies is not a list of strings');
  const files = strList(data.files);
  if (files === undefined) return bad('files is not a list of strings');
  const folder = data.is_folder_submission === undefined ? false : laxBool(data.is_folder_submission);
  if (folder === undefined) return bad(`is_folder_submission is ${describe(data.is_folder_submission)}, not a boolean`);
  const codePath = optStr(data.code_path);
  if (codePath === undefined) return bad(`code_path is ${describe(data.code_path)}, not a string`);
  const jobType = data.job_type === undefined ? 'local' : data.job_type;
  if (jobType !== 'local' && jobType !== 'enclave') return bad(`job_type is ${describe(jobType)}, not local or enclave`);
  let datasets: Record<string, string[]> | null = null;
  if (data.datasets !== undefined && data.datasets !== null) {
    if (!isMapping(data.datasets)) return bad('datasets is not a mapping');
    datasets = {};
    for (const [k, v] of Object.entries(data.datasets)) {
      const l = strList(v);
      if (l === undefined || v === undefined) return bad(`datasets[${JSON.stringify(k)}] is not a list of strings`);
      Object.defineProperty(datasets, k, { value: l, enumerable: true, writable: true, configurable: true });
    }
  }
  let headers: Record<string, PyValue> = {};
  if (data.headers !== undefined && data.headers !== null) {
    if (!isMapping(data.headers) || !jsonish(data.headers)) return bad('headers is not a mapping of plain values');
    headers = data.headers as Record<string, PyValue>;
  }
  const notes: string[] = [];
  const known = new Set<string>(CONFIG_KEYS);
  const extra = Object.keys(data).filter((k) => !known.has(k));
  if (extra.length > 0) notes.push(`config.yaml: unknown keys ignored: ${extra.join(', ')}`);
  if (absent.length > 0) notes.push(`config.yaml: lacks keys syft-job always writes (defaults used): ${absent.join(', ')}`);
  if (opts.dirName !== undefined && opts.dirName !== data.name) {
    notes.push(`config.yaml: name ${JSON.stringify(data.name)} differs from the job directory ${JSON.stringify(opts.dirName)}`);
  }
  return {
    ok: true,
    value: {
      name: data.name,
      type,
      submitted_at: submittedAt,
      entrypoint,
      dependencies,
      files,
      is_folder_submission: folder,
      code_path: codePath,
      job_type: jobType,
      datasets,
      headers,
    },
    notes,
  };
}

/** The bytes a Python DS writes for this config (used to build test submissions; the DO never writes one). */
export function emitConfig(config: JobConfig): string {
  const out: Record<string, PyValue> = {};
  for (const k of CONFIG_KEYS) out[k] = config[k] as PyValue;
  const ts = normalizePyDatetime(config.submitted_at);
  if (ts === undefined) throw new TypeError(`emitConfig: submitted_at is not a datetime: ${config.submitted_at}`);
  out.submitted_at = ts;
  return pyYamlDump(out);
}
