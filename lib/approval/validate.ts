import { bytesEqual, entryHashHex, fullHash, hashFileBytes, parseExpectedHash, sameText, sha256Hex, HASH_PREFIX } from './hash';
import { display, pyRepr, pySetRepr } from './text';
import {
  objectEntries,
  type ApprovalFileEntry,
  type ApprovalObject,
  type ApprovalObjects,
  type ExpectedRunSh,
  type FileRead,
  type JobConfig,
  type JobSnapshot,
  type SnapshotFile,
} from './types';

/**
 * Auto-approval validation (reference §5.5, `syft_bg/approve/criteria.py` + `approve/handlers/job.py:59-88`). Pure:
 * the job comes in as a snapshot of its bytes (`snapshotJob`), stored copies through `ctx.storedCopy`, and the
 * run.sh generator is injected.
 *
 * The reference algorithm, kept:
 *   1. status must be `pending` (`status is <s>, not pending`);
 *   2. candidates = objects, in config order, with empty `peers` or the submitter in `peers` (exact,
 *      case-sensitive) (`no auto-approval objects match peer: <submitter>`);
 *   3. per candidate: exact set equality of `code/` files with `file_contents ∪ file_paths`, then per content entry
 *      the hash, then the stored copy; the first matching object wins, else the reason of the last candidate,
 *      prefixed `[<name>] `.
 *
 * Security fixes of the reference (each marked FIX below):
 *   * an empty expected hash no longer matches every file; a short-hash prefix needs ≥ 16 hex digits;
 *     upper-case hex is compared case-insensitively;
 *   * symbolic links (and FIFOs, devices, unreadable or oversized files) anywhere in `code/` refuse the job:
 *     they are never followed;
 *   * files named `config.yaml` / `run.sh` inside `code/` are ordinary files (the reference ignored them at any
 *     depth, so unvalidated content could ride along, e.g. a `code/config.yaml` that approved code loads);
 *   * a stored copy differing by lone CRs or mixed line endings is a mismatch (see `sameText`).
 *
 * Beyond the reference (which never looks at run.sh or config.yaml, so a DS could run anything through an
 * approved object):
 *   * config.yaml must parse, with `type` python (default) or bash;
 *   * python: `entrypoint` must be a file approved *by content* and a plain file name (it is unquoted in run.sh);
 *     otherwise a name-only file such as `params.json` could be executed;
 *   * bash: `script.sh` must be approved by content (run.sh is its copy);
 *   * every dependency must be allowed: the syft-client install source (`syft-client` / `syft-client==<version>`,
 *     or `ctx.installSource` exactly), or listed in the object's `allowed_dependencies` (`'*'` = any); never one
 *     starting with `-` (an option to `uv pip install`, e.g. `--index-url`) or containing `" $ \` \\` or control
 *     characters (it is pasted inside double quotes in run.sh);
 *   * run.sh must be byte-identical to the one syft-job generates for that config.yaml (`ctx.expectedRunSh`;
 *     for bash jobs: to `code/script.sh`), or its raw sha256 must be in the object's `run_sh_hashes`.
 *
 * Not this module's concern: files changing between the snapshot and the run. The service must execute a copy of
 * the snapshot's bytes (or re-snapshot and compare), never re-read the inbox after validating.
 */

export interface ValidationContext {
  /** The auto-approval objects, in config.yaml order. */
  objects: ApprovalObjects;
  /** The bytes of a stored copy (`FileEntry.path`), or undefined when missing/unreadable. Must be deterministic. */
  storedCopy: (path: string) => Uint8Array | undefined;
  /** syft-job's run.sh for a python job's config.yaml (lib/datasite/runsh.ts). */
  expectedRunSh: ExpectedRunSh;
  /** The syft-client install source the DO advertises (SYFT_version.json), allowed as a dependency as is. */
  installSource?: string;
}

export interface ObjectReason {
  /** The object the reason is about; absent for job-level reasons (status, peer, unreadable files). */
  object?: string;
  reason: string;
}

export interface Verdict {
  approved: boolean;
  /** The first matching object. */
  object?: string;
  /** `ok`, or the reference's single reason (`[<name>] …` for the last failing candidate). */
  reason: string;
  /** One per candidate object tried (in order), or one job-level reason. Empty when approved by the first. */
  reasons: ObjectReason[];
  /** `sha256:` hash of every readable file under `code/` (text hash; raw-bytes hash for non-UTF-8 files). */
  hashes: Record<string, string>;
  /** Raw-bytes hash of run.sh, when readable (what `run_sh_hashes` lists). */
  runShHash?: string;
}

/** The syft-client install source as syft-job writes it from PyPI: `syft-client` or `syft-client==<PEP 440 version>`. */
export const SYFT_CLIENT_PYPI_RE = /^syft-client(?:==\d+(?:\.\d+)*(?:(?:a|b|rc)\d+)?(?:\.post\d+)?(?:\.dev\d+)?)?$/;

/** Allows any dependency in `allowed_dependencies`. */
export const ANY_DEPENDENCY = '*';

const SHELL_UNSAFE_DEP = /[\p{Cc}"$`\\]/u;
/** An entrypoint is pasted unquoted after `python ` in run.sh: no spaces, globs, quotes, `;`, `$`, … */
const SAFE_ENTRYPOINT = /^[A-Za-z0-9_.@%+=:,][A-Za-z0-9_.@%+=:,/-]*$/;

export const BASH_SCRIPT = 'script.sh';

/** Why a FileRead is not usable, or undefined for a readable file. */
export function readProblem(rawName: string, r: FileRead): string | undefined {
  const name = display(rawName);
  switch (r.kind) {
    case 'file':
      return undefined;
    case 'missing':
      return `${name} is missing`;
    case 'symlink':
      return `symbolic link not allowed: ${name}`;
    case 'tooLarge':
      return `file too large: ${name} (${r.size} bytes, limit ${r.limit})`;
    case 'special':
      return `not a regular file: ${name} (${r.what})`;
    case 'unreadable':
      return `could not read file: ${name}`;
  }
}

function jobLevelProblem(job: JobSnapshot): string | undefined {
  if (job.problems && job.problems.length > 0) return job.problems[0];
  // FIX: the reference's rglob()+is_file() followed symlinks (a link to ~/.ssh/id_rsa was hashed and then run);
  // here anything that is not a readable regular file refuses the job, whichever object it is checked against.
  for (const f of job.files) {
    const p = readProblem(f.rel, f);
    if (p !== undefined) return p;
  }
  const c = job.config;
  if (c.kind === 'invalid') return `config.yaml is invalid: ${c.error}`;
  if (c.kind !== 'parsed') return readProblem('config.yaml', c);
  return readProblem('run.sh', job.runSh);
}

function fileHashes(files: readonly SnapshotFile[]): Record<string, string> {
  return Object.fromEntries(files.flatMap((f) => (f.kind === 'file' ? [[f.rel, hashFileBytes(f.bytes).hash]] : [])));
}

/** `{relative_path: entry}` as Python builds it: a later duplicate replaces the value, keeping the first position. */
function contentEntries(obj: ApprovalObject): Map<string, ApprovalFileEntry> {
  const m = new Map<string, ApprovalFileEntry>();
  for (const e of obj.file_contents) m.set(e.relative_path, e);
  return m;
}

export function fileSetReason(expected: ReadonlySet<string>, actual: ReadonlySet<string>): string | undefined {
  const missing = [...expected].filter((p) => !actual.has(p));
  const extra = [...actual].filter((p) => !expected.has(p));
  if (missing.length === 0 && extra.length === 0) return undefined;
  const parts: string[] = [];
  if (missing.length) parts.push(`missing files: ${pySetRepr(missing)}`);
  if (extra.length) parts.push(`extra files: ${pySetRepr(extra)}`);
  return `job files do not match expected filenames: ${parts.join('; ')}`;
}

/** Checks one content entry against the job's bytes; undefined when it passes. */
export function contentReason(rawRel: string, entry: ApprovalFileEntry, bytes: Uint8Array, storedCopy: ValidationContext['storedCopy']): string | undefined {
  const rel = display(rawRel);
  const binary = entry.binary === true;
  const actual = entryHashHex(bytes, binary);
  // The reference: read_text() raised → "could not read file". A text entry needs a UTF-8 job file.
  if (actual === undefined) return `could not read file: ${rel} (not UTF-8 text)`;
  const expected = parseExpectedHash(entry.hash);
  // FIX: the reference matched `actual[:len(expected)] == expected`, so `sha256:` (empty) matched every file and
  // upper-case hex never matched; see parseExpectedHash.
  if (!expected.ok) return `invalid expected hash for ${rel}: ${display(entry.hash)} (${expected.why})`;
  if (!actual.startsWith(expected.hex)) return `file hash mismatch for ${rel}: expected ${display(entry.hash)}, got ${HASH_PREFIX}${actual}`;
  const stored = storedCopy(entry.path);
  if (stored === undefined) return `file content mismatch for ${rel} against stored copy (stored copy missing or unreadable: ${display(entry.path)})`;
  const same = binary ? bytesEqual(bytes, stored) : sameText(bytes, stored);
  if (!same) return `file content mismatch for ${rel} against stored copy`;
  return undefined;
}

export function dependencyAllowed(dep: string, obj: ApprovalObject, installSource?: string): boolean {
  if (SHELL_UNSAFE_DEP.test(dep) || dep.startsWith('-') || dep.trim() === '') return false;
  if (SYFT_CLIENT_PYPI_RE.test(dep)) return true;
  if (installSource !== undefined && dep === installSource) return true;
  const allowed = obj.allowed_dependencies ?? [];
  return allowed.includes(ANY_DEPENDENCY) || allowed.includes(dep);
}

/** config.yaml + run.sh against one object; undefined when they pass. */
export function metadataReason(config: JobConfig, runSh: Uint8Array, obj: ApprovalObject, byContent: ReadonlyMap<string, Uint8Array>, ctx: ValidationContext): string | undefined {
  const type = config.type ?? 'python';
  if (type !== 'python' && type !== 'bash') return `unsupported job type in config.yaml: ${typeof type === 'string' ? pyRepr(type) : JSON.stringify(type)}`;

  let expectedFromScript: Uint8Array | undefined;
  if (type === 'python') {
    const ep = config.entrypoint;
    if (typeof ep !== 'string' || ep === '') return 'config.yaml has no entrypoint (a python job needs one)';
    if (!SAFE_ENTRYPOINT.test(ep) || ep.split('/').some((s) => s === '..' || s === '.' || s === '')) {
      return `entrypoint ${pyRepr(ep)} in config.yaml is not a plain relative file name`;
    }
    if (!byContent.has(ep)) return `entrypoint ${pyRepr(ep)} in config.yaml is not a file approved by content`;
  } else {
    expectedFromScript = byContent.get(BASH_SCRIPT);
    if (expectedFromScript === undefined) return `bash job: ${BASH_SCRIPT} (the script run.sh runs) is not a file approved by content`;
  }

  const deps = config.dependencies ?? [];
  if (!Array.isArray(deps) || deps.some((d) => typeof d !== 'string')) return 'config.yaml: dependencies must be a list of strings';
  const refused = (deps as string[]).filter((d) => !dependencyAllowed(d, obj, ctx.installSource));
  if (refused.length > 0) return `dependencies not allowed: ${pySetRepr(refused)}`;

  const runShHash = HASH_PREFIX + sha256Hex(runSh);
  const pinned = (obj.run_sh_hashes ?? []).map(fullHash);
  if (pinned.includes(runShHash)) return undefined;
  if (expectedFromScript !== undefined) {
    if (bytesEqual(runSh, expectedFromScript)) return undefined;
    return `run.sh differs from code/${BASH_SCRIPT} (got ${runShHash})`;
  }
  let generated: string | undefined;
  try {
    generated = ctx.expectedRunSh(config);
  } catch (e) {
    return `run.sh cannot be checked: generating the expected run.sh failed (${(e as Error).message})`;
  }
  if (generated === undefined) return `run.sh cannot be checked: no run.sh can be generated for this config.yaml and ${runShHash} is not in run_sh_hashes`;
  if (bytesEqual(runSh, Buffer.from(generated, 'utf8'))) return undefined;
  return `run.sh differs from the one syft-job generates for this config.yaml (got ${runShHash})`;
}

/**
 * The reference's `_validate_job_against_object` plus the checks above; undefined = match. Expects a snapshot
 * without job-level problems (`validateJob` checks those first).
 */
export function validateAgainstObject(job: JobSnapshot, obj: ApprovalObject, ctx: ValidationContext): string | undefined {
  if (obj.invalid !== undefined) return `invalid auto-approval object: ${obj.invalid}`;
  const expectedContents = contentEntries(obj);
  const expected = new Set<string>([...expectedContents.keys(), ...obj.file_paths]);
  const files = new Map<string, SnapshotFile>(job.files.map((f) => [f.rel, f]));
  const setReason = fileSetReason(expected, new Set(files.keys()));
  if (setReason !== undefined) return setReason;

  const byContent = new Map<string, Uint8Array>();
  for (const [rel, entry] of expectedContents) {
    const f = files.get(rel);
    if (f === undefined || f.kind !== 'file') return readProblem(rel, f ?? { kind: 'missing' }) ?? `could not read file: ${display(rel)}`;
    const r = contentReason(rel, entry, f.bytes, ctx.storedCopy);
    if (r !== undefined) return r;
    byContent.set(rel, f.bytes);
  }

  if (job.config.kind !== 'parsed') return job.config.kind === 'invalid' ? `config.yaml is invalid: ${job.config.error}` : readProblem('config.yaml', job.config);
  if (job.runSh.kind !== 'file') return readProblem('run.sh', job.runSh);
  return metadataReason(job.config.value, job.runSh.bytes, obj, byContent, ctx);
}

/** `evaluate_auto_approval(job)` (§5.5): the verdict for one job against all objects. */
export function validateJob(job: JobSnapshot, ctx: ValidationContext): Verdict {
  const hashes = fileHashes(job.files);
  const runShHash = job.runSh.kind === 'file' ? HASH_PREFIX + sha256Hex(job.runSh.bytes) : undefined;
  const base = { hashes, ...(runShHash !== undefined ? { runShHash } : {}) };
  const refuse = (reason: string): Verdict => ({ approved: false, reason, reasons: [{ reason }], ...base });

  if (job.status !== 'pending') return refuse(`status is ${display(job.status)}, not pending`);
  const candidates = objectEntries(ctx.objects).filter(([, o]) => o.peers.length === 0 || o.peers.includes(job.submitter));
  if (candidates.length === 0) return refuse(`no auto-approval objects match peer: ${display(job.submitter)}`);
  const problem = jobLevelProblem(job);
  if (problem !== undefined) return refuse(problem);

  const reasons: ObjectReason[] = [];
  for (const [name, obj] of candidates) {
    const reason = validateAgainstObject(job, obj, ctx);
    if (reason === undefined) return { approved: true, object: name, reason: 'ok', reasons, ...base };
    reasons.push({ object: name, reason });
  }
  const last = reasons[reasons.length - 1] as ObjectReason;
  return { approved: false, reason: `[${display(last.object as string)}] ${last.reason}`, reasons, ...base };
}
