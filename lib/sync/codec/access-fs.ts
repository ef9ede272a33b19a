/**
 * Load every `syft.pub.yaml` of a datasite into the map `accessFor` takes (folder relative to the datasite -> rules).
 * Never follows symlinks. A rule file that cannot be read or parsed is kept as a rule set without rules (it still
 * governs its folder, granting nothing), so a broken file never widens access to what a parent file allows; the
 * problem is reported.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MAX_PERMISSION_FILE_BYTES, PERMISSION_FILE_NAME, parseRuleSet, type RuleSet } from '../../datasite/permissions';
import { readCapped } from '../../datasite/fsread';
import { problem, type Problem } from '../../datasite/problems';
import { EXCLUDE_COMPONENTS } from './paths';

export interface LoadedRuleFiles {
  rules: Map<string, RuleSet>;
  problems: Problem[];
}

/** Folders we do not descend into (never synced, can be huge). */
const SKIP_DIRS = EXCLUDE_COMPONENTS;

export function loadRuleFiles(datasiteDir: string, opts: { maxDirs?: number } = {}): LoadedRuleFiles {
  const maxDirs = opts.maxDirs ?? 200_000;
  const rules = new Map<string, RuleSet>();
  const problems: Problem[] = [];
  const stack: string[] = [''];
  let seen = 0;
  while (stack.length > 0) {
    const rel = stack.pop()!;
    if (++seen > maxDirs) {
      problems.push(problem('truncated', `stopped after ${maxDirs} folders under ${datasiteDir}`, datasiteDir));
      break;
    }
    const abs = rel === '' ? datasiteDir : path.join(datasiteDir, ...rel.split('/'));
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(abs, { withFileTypes: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') problems.push(problem('unreadable', `${abs}: ${(e as Error).message}`, abs));
      continue;
    }
    for (const ent of entries) {
      if (ent.isDirectory() && !SKIP_DIRS.has(ent.name)) stack.push(rel === '' ? ent.name : `${rel}/${ent.name}`);
    }
    if (!entries.some((e) => e.name === PERMISSION_FILE_NAME)) continue;
    const file = path.join(abs, PERMISSION_FILE_NAME);
    const r = readCapped(file, MAX_PERMISSION_FILE_BYTES);
    if (r.kind === 'missing') continue;
    if (r.kind === 'problem') {
      problems.push(r.problem);
      rules.set(rel, { rules: [], terminal: false });
      continue;
    }
    const p = parseRuleSet(r.value);
    if (!p.ok) {
      problems.push({ ...p.problem, path: file });
      rules.set(rel, { rules: [], terminal: false });
      continue;
    }
    rules.set(rel, p.value);
  }
  return { rules, problems };
}
