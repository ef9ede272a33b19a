/**
 * `syft.pub.yaml` permission files (protocol §1.9): codec, pure edits, and the few edits the DO makes in the job
 * flow, done as syft-perms does them (`PermissionModifier`): find the governing yaml (the nearest one at or above
 * the target, stopping at a `terminal: true` one; none -> create one in the target folder, or the file's folder),
 * compute the pattern relative to it (`<rel>/**` for folders, `<rel>` for files), find or append the rule with
 * that exact pattern, append the user to the level's list if absent, save with `yaml.safe_dump`.
 *
 * Writes are atomic and idempotent: when the file would not change, it is not written. Python rewrites the file
 * even then; the bytes are the same. A permission file we cannot read (malformed, half-written, symlink, too
 * large) is never overwritten: the edit returns the problem instead.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../fs/atomic';
import { readCapped } from './fsread';
import { jobRootDir, datasiteDir, assertSegment } from './paths';
import { problem, type Parsed, type Problem } from './problems';
import { pyYamlDump } from './pyyaml';
import { describe, isMapping, laxBool, loadYamlText } from './yamlfile';

export const PERMISSION_FILE_NAME = 'syft.pub.yaml';
/**
 * Only the data owner can write these files (writing syft.pub.yaml needs admin), and the review folder's file gains
 * a rule or two per job run (about 450 bytes each): 1 MiB was reached after ~2,300 jobs of one data scientist.
 * 64 MiB bounds a corrupt file without refusing a long-lived datasite.
 */
export const MAX_PERMISSION_FILE_BYTES = 64 * 1024 * 1024;

export type AccessLevel = 'read' | 'write' | 'admin';

export interface Access {
  admin: string[];
  read: string[];
  write: string[];
}

export interface Rule {
  pattern: string;
  access: Access;
}

export interface RuleSet {
  rules: Rule[];
  terminal: boolean;
}

function strings(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
}

/**
 * The rules of a file exactly as `emitRuleSet` (PyYAML's safe_dump) writes it, read line by line; undefined for
 * anything else. Only a candidate: `parseRuleSet` accepts it when emitting it gives back the very same text.
 */
export function canonicalRuleSet(text: string): RuleSet | undefined {
  const lines = text.split('\n');
  if (lines.pop() !== '') return undefined; // a canonical dump ends with a newline
  const scalar = (raw: string): string | undefined => {
    if (raw.startsWith("'")) {
      const inner = raw.slice(1, -1);
      return raw.length >= 2 && raw.endsWith("'") && !inner.replace(/''/g, '').includes("'") ? inner.replace(/''/g, "'") : undefined;
    }
    if (raw === '' || raw.startsWith('"')) return undefined;
    return raw;
  };
  let i = 0;
  const rules: Rule[] = [];
  if (lines[i] === 'rules: []') i++;
  else if (lines[i] === 'rules:') {
    i++;
    while (lines[i] === '- access:') {
      i++;
      const access: Access = { admin: [], read: [], write: [] };
      for (const level of ['admin', 'read', 'write'] as const) {
        const head = lines[i++];
        if (head === `    ${level}: []`) continue;
        if (head !== `    ${level}:`) return undefined;
        while (lines[i]?.startsWith('    - ')) {
          const u = scalar(lines[i++]!.slice(6));
          if (u === undefined) return undefined;
          access[level].push(u);
        }
        if (access[level].length === 0) return undefined;
      }
      const pl = lines[i++];
      if (!pl?.startsWith('  pattern: ')) return undefined;
      const pattern = scalar(pl.slice(11));
      if (pattern === undefined) return undefined;
      rules.push({ pattern, access });
    }
    if (rules.length === 0) return undefined;
  } else return undefined;
  const t = lines[i++];
  if (i !== lines.length || (t !== 'terminal: false' && t !== 'terminal: true')) return undefined;
  return { rules, terminal: t === 'terminal: true' };
}

export function parseRuleSet(text: string): Parsed<RuleSet> {
  // The common case, a file written by syft-bg or syft-perms: read directly (a 1,000-run review file parses in a
  // few ms instead of ~0.5 s and ~50 MB through the YAML document model), proven by re-emitting it.
  const quick = canonicalRuleSet(text);
  if (quick && emitRuleSet(quick) === text) return { ok: true, value: quick, notes: [] };
  return parseRuleSetDocument(text);
}

/** `parseRuleSet` through the YAML document model (any valid file: comments, flow style, other quoting…). */
export function parseRuleSetDocument(text: string): Parsed<RuleSet> {
  const loaded = loadYamlText(text, PERMISSION_FILE_NAME);
  if (!loaded.ok) return loaded;
  const data = loaded.data;
  const bad = (msg: string) => ({ ok: false as const, problem: problem(text.endsWith('\n') ? 'invalid' : 'incomplete', `${PERMISSION_FILE_NAME}: ${msg}`) });
  if (!isMapping(data)) return bad(`holds ${describe(data)}, not a mapping`);
  if (!('terminal' in data)) {
    // syft-permissions always writes `terminal` last; without it the file was cut short (Python writes in place),
    // and editing it would drop the rules that had not been written yet.
    return { ok: false, problem: problem('incomplete', `${PERMISSION_FILE_NAME} has no terminal key (cut short while being written?)`) };
  }
  const rules: Rule[] = [];
  if (data.rules !== undefined && data.rules !== null) {
    if (!Array.isArray(data.rules)) return bad('rules is not a list');
    for (const [i, r] of data.rules.entries()) {
      if (!isMapping(r)) return bad(`rules[${i}] is not a mapping`);
      if (typeof r.pattern !== 'string') return bad(`rules[${i}].pattern is ${describe(r.pattern)}, not a string`);
      const acc = r.access ?? {};
      if (!isMapping(acc)) return bad(`rules[${i}].access is not a mapping`);
      const admin = strings(acc.admin);
      const read = strings(acc.read);
      const write = strings(acc.write);
      if (!admin || !read || !write) return bad(`rules[${i}].access lists must be lists of strings`);
      rules.push({ pattern: r.pattern, access: { admin, read, write } });
    }
  }
  const terminal = data.terminal === undefined || data.terminal === null ? false : laxBool(data.terminal);
  if (terminal === undefined) return bad(`terminal is ${describe(data.terminal)}, not a boolean`);
  return { ok: true, value: { rules, terminal }, notes: [] };
}

function dumpRuleSet(rs: RuleSet): string {
  return pyYamlDump({
    rules: rs.rules.map((r) => ({ access: { admin: [...r.access.admin], read: [...r.access.read], write: [...r.access.write] }, pattern: r.pattern })),
    terminal: rs.terminal,
  });
}

/**
 * The text of one rule inside a dump (`- access:` … `  pattern: …`), by rule content. PyYAML emits each item of
 * the block sequence on its own (same indentation, no anchors between fresh lists), so a dump is the concatenation
 * of its rules' texts between `rules:` and `terminal:` (the tests check this against whole dumps). A review file
 * gains four rules per run, so re-emitting only what is new keeps every run's edit cheap.
 */
const ruleTextCache = new Map<string, string>();
const RULE_TEXT_CACHE_MAX = 50_000;
const DUMP_HEAD = 'rules:\n';
const DUMP_TAIL = 'terminal: false\n';

/** By rule object: rules are never mutated, and an edit shares the unchanged ones (see addUser). */
const ruleTextByObject = new WeakMap<Rule, string>();

function ruleText(r: Rule): string {
  const known = ruleTextByObject.get(r);
  if (known !== undefined) return known;
  const key = JSON.stringify([r.pattern, r.access.admin, r.access.read, r.access.write]);
  const hit = ruleTextCache.get(key);
  if (hit !== undefined) {
    ruleTextByObject.set(r, hit);
    return hit;
  }
  const one = dumpRuleSet({ rules: [r], terminal: false });
  if (!one.startsWith(DUMP_HEAD) || !one.endsWith(DUMP_TAIL)) throw new Error('unexpected PyYAML dump of a rule');
  const text = one.slice(DUMP_HEAD.length, one.length - DUMP_TAIL.length);
  if (ruleTextCache.size >= RULE_TEXT_CACHE_MAX) ruleTextCache.clear();
  ruleTextCache.set(key, text);
  ruleTextByObject.set(r, text);
  return text;
}

/** `yaml.safe_dump(ruleset)`: keys sorted, block style, rules in list order. */
export function emitRuleSet(rs: RuleSet): string {
  if (rs.rules.length === 0) return dumpRuleSet(rs);
  return DUMP_HEAD + rs.rules.map(ruleText).join('') + `terminal: ${rs.terminal ? 'true' : 'false'}\n`;
}

/** `emitRuleSet` without the per-rule cache: one PyYAML dump of the whole set (for tests). */
export function emitRuleSetWhole(rs: RuleSet): string {
  return dumpRuleSet(rs);
}

/**
 * Find-or-create the rule with exactly this pattern and add the user to the level (pure; input untouched). The
 * result shares every rule it does not change with the input (rules are never mutated), so an edit of a file with
 * thousands of rules copies one array of references, not every rule.
 */
export function addUser(rs: RuleSet, pattern: string, level: AccessLevel, user: string): RuleSet {
  const i = rs.rules.findIndex((r) => r.pattern === pattern);
  const old = i >= 0 ? rs.rules[i]! : undefined;
  if (old && old.access[level].includes(user)) return { rules: [...rs.rules], terminal: rs.terminal };
  const access: Access = old ? { admin: [...old.access.admin], read: [...old.access.read], write: [...old.access.write] } : { admin: [], read: [], write: [] };
  access[level].push(user);
  const rule: Rule = { pattern, access };
  const rules = [...rs.rules];
  if (i >= 0) rules[i] = rule;
  else rules.push(rule);
  return { rules, terminal: rs.terminal };
}

// ---------------------------------------------------------------------------------------------------------------
// fs shell

export type PermissionEdit = { ok: true; file: string; pattern: string; changed: boolean } | { ok: false; problem: Problem };

type RuleSetRead = { kind: 'missing' } | { kind: 'ok'; rs: RuleSet; text: string } | { kind: 'problem'; problem: Problem };

/**
 * Parsed permission files by path, valid while the file's stat signature is unchanged. A DS's review
 * syft.pub.yaml grows by four rules per run (1.3 MB and ~0.75 s to parse after 3,000 runs), and every run edits
 * it, so re-parsing what we wrote ourselves a moment ago would dominate a run. RuleSets are never mutated
 * (`addUser` copies), so sharing them is safe.
 */
const ruleSetCache = new Map<string, { sig: string; rs: RuleSet; text: string }>();
const RULESET_CACHE_MAX = 64;

function fileSig(st: fs.Stats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

function remember(file: string, rs: RuleSet, text: string): void {
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(file);
  } catch {
    st = undefined;
  }
  ruleSetCache.delete(file);
  if (st === undefined || !st.isFile() || st.size !== Buffer.byteLength(text)) return;
  if (ruleSetCache.size >= RULESET_CACHE_MAX) ruleSetCache.delete(ruleSetCache.keys().next().value as string);
  ruleSetCache.set(file, { sig: fileSig(st), rs, text });
}

function readRuleSetFile(file: string): RuleSetRead {
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(file, { throwIfNoEntry: false });
  } catch {
    st = undefined;
  }
  const hit = st?.isFile() ? ruleSetCache.get(file) : undefined;
  if (hit && st && hit.sig === fileSig(st)) return { kind: 'ok', rs: hit.rs, text: hit.text };
  const r = readCapped(file, MAX_PERMISSION_FILE_BYTES);
  if (r.kind !== 'ok') return r;
  const p = parseRuleSet(r.value);
  if (!p.ok) return { kind: 'problem', problem: { ...p.problem, path: file } };
  remember(file, p.value, r.value);
  return { kind: 'ok', rs: p.value, text: r.value };
}

/** Edits not written yet, by file: later grants of one batch see them as a sequential caller would (`text` is not emitted yet). */
type Overlay = Map<string, { rs: RuleSet; text: string }>;

function readWithOverlay(file: string, overlay?: Overlay): RuleSetRead {
  const o = overlay?.get(file);
  return o ? { kind: 'ok', rs: o.rs, text: o.text } : readRuleSetFile(file);
}

/** Directories from the datasite down to `relDir` (both included), refusing symlinks on the way. */
function dirsDown(datasite: string, relDir: string): string[] | Problem {
  const parts = relDir === '' ? [] : relDir.split('/');
  const out = [datasite];
  let cur = datasite;
  for (const p of parts) {
    cur = path.join(cur, p);
    out.push(cur);
  }
  for (const d of out) {
    try {
      const st = fs.lstatSync(d);
      if (st.isSymbolicLink()) return problem('symlink', `${d} is a symbolic link; refusing to edit permissions through it`, d);
      if (!st.isDirectory()) return problem('not-a-directory', `${d} is not a directory`, d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return problem('unreadable', `${d}: ${(e as Error).message}`, d);
    }
  }
  return out;
}

/**
 * `PermissionModifier._find_governing_yaml` + `_compute_pattern` for `relPath` (relative to the datasite,
 * `/`-separated). Returns the yaml to edit and the pattern to use.
 */
export function governingYaml(datasite: string, relPath: string, isFolder: boolean, overlay?: Overlay): { file: string; pattern: string } | Problem {
  const clean = relPath.replace(/\/+$/, '');
  const relDir = isFolder ? clean : path.posix.dirname(clean) === '.' ? '' : path.posix.dirname(clean);
  const dirs = dirsDown(datasite, relDir);
  if (!Array.isArray(dirs)) return dirs;
  let governing: string | undefined;
  for (const d of dirs) {
    const f = path.join(d, PERMISSION_FILE_NAME);
    const r = readWithOverlay(f, overlay);
    if (r.kind === 'missing') continue;
    if (r.kind === 'problem') return r.problem;
    governing = d;
    if (r.rs.terminal) break;
  }
  const yamlDir = governing ?? path.join(datasite, ...relDir.split('/').filter(Boolean));
  const yamlRel = path.relative(datasite, yamlDir).split(path.sep).filter(Boolean).join('/');
  const rel = yamlRel === '' ? clean : clean === yamlRel ? '' : clean.slice(yamlRel.length + 1);
  const pattern = isFolder ? (rel ? `${rel}/**` : '**') : rel || path.posix.basename(clean);
  return { file: path.join(yamlDir, PERMISSION_FILE_NAME), pattern };
}

export interface Grant {
  relPath: string;
  level: AccessLevel;
  user: string;
  isFolder: boolean;
}

/** `add_permission_for_user(relPath, level, user, is_folder)`: atomic, idempotent. */
export function grantAccess(datasite: string, relPath: string, level: AccessLevel, user: string, opts: { isFolder: boolean }): PermissionEdit {
  return grantAccessMany(datasite, [{ relPath, level, user, isFolder: opts.isFolder }])[0]!;
}

/**
 * Several `add_permission_for_user` calls in order, with the result of calling them one after the other (a later
 * grant sees the files earlier ones edited), but each permission file parsed at most once and written once.
 * Each file is written atomically; a grant that fails does not stop the others.
 */
export function grantAccessMany(datasite: string, grants: readonly Grant[]): PermissionEdit[] {
  const overlay: Overlay = new Map();
  const original = new Map<string, string | undefined>();
  const out: PermissionEdit[] = [];
  for (const g0 of grants) {
    const g = governingYaml(datasite, g0.relPath, g0.isFolder, overlay);
    if ('code' in g) {
      out.push({ ok: false, problem: g });
      continue;
    }
    const cur = readWithOverlay(g.file, overlay);
    if (cur.kind === 'problem') {
      out.push({ ok: false, problem: cur.problem });
      continue;
    }
    if (!original.has(g.file)) original.set(g.file, cur.kind === 'ok' ? cur.text : undefined);
    const base: RuleSet = cur.kind === 'ok' ? cur.rs : { rules: [], terminal: false };
    // Emitting a 1 MB file costs ~0.2 s: decide "changed" on the rules, emit once per file at the end.
    const has = base.rules.some((r) => r.pattern === g.pattern && r.access[g0.level].includes(g0.user));
    const changed = cur.kind !== 'ok' || !has;
    if (changed) overlay.set(g.file, { rs: addUser(base, g.pattern, g0.level, g0.user), text: '' });
    out.push({ ok: true, file: g.file, pattern: g.pattern, changed });
  }
  for (const [file, o] of overlay) {
    const rs = o.rs;
    const text = emitRuleSet(rs);
    if (original.get(file) === text) continue;
    try {
      writeFileAtomic(file, text);
      remember(file, rs, text);
    } catch (e) {
      const p = problem('unreadable', `cannot write ${file}: ${(e as Error).message}`, file);
      for (let i = 0; i < out.length; i++) {
        const r = out[i]!;
        if (r.ok && r.file === file) out[i] = { ok: false, problem: p };
      }
    }
  }
  return out;
}

function mkdirNoFollow(datasite: string, rel: string): Problem | undefined {
  const dirs = dirsDown(datasite, rel);
  if (!Array.isArray(dirs)) return dirs;
  for (const d of dirs) {
    try {
      fs.mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return problem('unreadable', `cannot create ${d}: ${(e as Error).message}`, d);
    }
  }
  return undefined;
}

const jobRel = (area: 'inbox' | 'review', ds: string, ...more: string[]) => ['app_data', 'job', area, ds, ...more].join('/');

/**
 * When the DO approves a peer (`JobClient.setup_ds_job_folder_as_do`): create `inbox/<ds>/` and `review/<ds>/`,
 * grant the DS write on everything in its inbox and read on everything in its review folder. Without these files
 * the DO's syncer silently drops every proposal from that DS.
 */
export function setupPeerJobFolders(root: string, doEmail: string, ds: string): { ok: true; edits: PermissionEdit[] } | { ok: false; problem: Problem } {
  assertSegment(ds, 'submitter');
  const datasite = datasiteDir(root, doEmail);
  const edits: PermissionEdit[] = [];
  for (const [area, level] of [['inbox', 'write'], ['review', 'read']] as const) {
    const rel = jobRel(area, ds);
    const p = mkdirNoFollow(datasite, rel);
    if (p) return { ok: false, problem: p };
    const e = grantAccess(datasite, rel, level, ds, { isFolder: true });
    if (!e.ok) return e;
    edits.push(e);
  }
  return { ok: true, edits };
}

/** The runner's rule before executing a job (`_prepare_outputs_dir`): `<job>/outputs/**` readable by the DO only. */
export function grantOutputsToOwner(root: string, doEmail: string, ds: string, job: string): PermissionEdit {
  assertSegment(ds, 'submitter');
  assertSegment(job, 'job');
  return grantAccess(datasiteDir(root, doEmail), jobRel('review', ds, job, 'outputs'), 'read', doEmail, { isFolder: true });
}

const outputsGrants = (ds: string, job: string, users: readonly string[]): Grant[] =>
  users.map((user) => ({ relPath: jobRel('review', ds, job, 'outputs'), level: 'read', user, isFolder: true }));

const logGrants = (ds: string, job: string, users: readonly string[]): Grant[] =>
  LOG_FILES.flatMap((f) => users.map((user): Grant => ({ relPath: jobRel('review', ds, job, f), level: 'read', user, isFolder: false })));

/** `JobInfo.share_outputs(users)`: add each user to the `<job>/outputs/**` rule. */
export function shareOutputs(root: string, doEmail: string, ds: string, job: string, users: readonly string[]): PermissionEdit[] {
  assertSegment(ds, 'submitter');
  assertSegment(job, 'job');
  return grantAccessMany(datasiteDir(root, doEmail), outputsGrants(ds, job, users));
}

export const LOG_FILES = ['stdout.txt', 'stderr.txt', 'returncode.txt'] as const;

/** `JobInfo.share_logs(users)`: file rules `<job>/stdout.txt`, `<job>/stderr.txt`, `<job>/returncode.txt`. */
export function shareLogs(root: string, doEmail: string, ds: string, job: string, users: readonly string[]): PermissionEdit[] {
  assertSegment(ds, 'submitter');
  assertSegment(job, 'job');
  return grantAccessMany(datasiteDir(root, doEmail), logGrants(ds, job, users));
}

/**
 * What syft-bg does after running a job (`process_approved_jobs(share_outputs_with_submitter=True,
 * share_logs_with_submitter=True)`): the owner-only outputs rule (made before the run), then share outputs,
 * then logs, with the submitter — the same result as those calls one by one, in one edit of each file.
 */
export function shareJobResults(root: string, doEmail: string, ds: string, job: string, opts: { outputs: boolean; logs: boolean }): PermissionEdit[] {
  assertSegment(ds, 'submitter');
  assertSegment(job, 'job');
  const grants = [...(opts.outputs ? outputsGrants(ds, job, [ds]) : []), ...(opts.logs ? logGrants(ds, job, [ds]) : [])];
  return grantAccessMany(datasiteDir(root, doEmail), grants);
}

/** The yaml that governs a DS's review folder (for callers that want to show it). */
export function reviewPermissionFile(root: string, doEmail: string, ds: string): string {
  return path.join(jobRootDir(root, doEmail), 'review', ds, PERMISSION_FILE_NAME);
}
