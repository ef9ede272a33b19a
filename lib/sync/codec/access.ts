/**
 * Effective access of a user to a path in a datasite under its `syft.pub.yaml` files (protocol §1.9), evaluated as
 * syft-permissions' `ACLService.can_access` does:
 *
 * 1. The owner can do everything.
 * 2. Find the nearest folder at or above the path that has a rule file, walking down from the datasite root and
 *    stopping below a folder whose rule file says `terminal: true`.
 * 3. Sort that file's rules by specificity (most specific first; stable) and take the first rule whose pattern
 *    matches the path relative to that folder. Patterns with `*`, `?` or `[` are wcmatch globs (GLOBSTAR), others
 *    must be equal; `{{.UserEmail}}` in a pattern is replaced by the user's email, and then `USER` in the access
 *    lists means that user (otherwise `USER` means everyone).
 * 4. Access lists hold emails, `*` (everyone) or fnmatch patterns like `*@example.org`. `admin` implies `write`
 *    implies `read`.
 * 5. A path ending in `syft.pub.yaml` needs admin for any access.
 *
 * No rule file, or no matching rule: no access. A rule file with a rule using an unsupported template
 * (`{{.UserHash}}`, `{{.Year}}`, …), which syft-permissions refuses to load, grants nothing.
 */
import type { Rule, RuleSet } from '../../datasite/permissions';
import { PERMISSION_FILE_NAME } from '../../datasite/permissions';
import { fnmatch, globMatch } from './glob';

export type { Rule, RuleSet } from '../../datasite/permissions';

export interface EffectiveAccess {
  read: boolean;
  write: boolean;
  admin: boolean;
}

export const USER_PLACEHOLDER = 'USER';
export const SUPPORTED_TEMPLATE = '{{.UserEmail}}';
export const UNSUPPORTED_TEMPLATES = ['{{.UserHash}}', '{{.Year}}', '{{.Month}}', '{{.Date}}'] as const;

const NONE: EffectiveAccess = Object.freeze({ read: false, write: false, admin: false });
const ALL: EffectiveAccess = Object.freeze({ read: true, write: true, admin: true });

/** Specificity score of a rule pattern (higher is more specific), as the ACL engine ranks rules. */
export function patternSpecificity(pattern: string): number {
  if (pattern === '**') return -100;
  if (pattern === '**/*') return -99;
  const chars = Array.from(pattern);
  let score = chars.length * 2 + (pattern.split('/').length - 1) * 10;
  if (pattern.includes('{{') && pattern.includes('}}')) score += 50;
  chars.forEach((c, i) => {
    if (c === '*') score -= i === 0 ? 20 : 10;
    else if (c === '?' || c === '!' || c === '[' || c === '{') score -= 2;
  });
  return score;
}

/** Rules most specific first (a stable sort: equal scores keep file order). */
export function sortRulesBySpecificity(rules: readonly Rule[]): Rule[] {
  return rules
    .map((r, i) => ({ r, i, s: patternSpecificity(r.pattern) }))
    .sort((a, b) => b.s - a.s || a.i - b.i)
    .map((x) => x.r);
}

function userInList(user: string, list: readonly string[]): boolean {
  for (const entry of list) {
    if (entry === '*') return true;
    if (entry.includes('*') || entry.includes('?')) {
      if (fnmatch(user, entry)) return true;
    } else if (entry === user) return true;
  }
  return false;
}

function patternMatches(pattern: string, rel: string): boolean {
  return /[*?[]/.test(pattern) ? globMatch(rel, pattern) : rel === pattern;
}

/** The folder (relative to the datasite, '' = root) whose rule file governs `pathInDatasite`, if any. */
export function governingRuleDir(ruleFiles: ReadonlyMap<string, RuleSet>, pathInDatasite: string): string | undefined {
  const parts = pathInDatasite.split('/').filter((p) => p !== '');
  let candidate: string | undefined = ruleFiles.has('') ? '' : undefined;
  let cur = '';
  for (const part of parts) {
    if (ruleFiles.get(cur)?.terminal) break;
    cur = cur === '' ? part : `${cur}/${part}`;
    if (ruleFiles.has(cur)) candidate = cur;
  }
  return candidate;
}

/** Effective access of `email` to `pathInDatasite` (relative, `/`-separated) in `owner`'s datasite. */
export function accessFor(ruleFiles: ReadonlyMap<string, RuleSet>, pathInDatasite: string, email: string, owner: string): EffectiveAccess {
  if (email === owner) return { ...ALL };
  const dir = governingRuleDir(ruleFiles, pathInDatasite);
  if (dir === undefined) return { ...NONE };
  const rs = ruleFiles.get(dir)!;
  if (rs.rules.some((r) => UNSUPPORTED_TEMPLATES.some((t) => r.pattern.includes(t)))) return { ...NONE };
  const clean = pathInDatasite.split('/').filter((p) => p !== '').join('/');
  const rel = dir === '' ? clean : clean.slice(dir.length + 1);
  for (const rule of sortRulesBySpecificity(rs.rules)) {
    const templated = rule.pattern.includes(SUPPORTED_TEMPLATE);
    const pattern = templated ? rule.pattern.split(SUPPORTED_TEMPLATE).join(email) : rule.pattern;
    if (!patternMatches(pattern, rel)) continue;
    const who = templated ? email : '*';
    const resolve = (list: readonly string[]) => list.map((x) => (x === USER_PLACEHOLDER ? who : x));
    const admin = userInList(email, resolve(rule.access.admin));
    const write = admin || userInList(email, resolve(rule.access.write));
    const read = write || userInList(email, resolve(rule.access.read));
    if (clean.endsWith(PERMISSION_FILE_NAME)) return { read: admin, write: admin, admin };
    return { read, write, admin };
  }
  return { ...NONE };
}

/** Whether `email` may read / write / administer the path (convenience over `accessFor`). */
export function canAccess(ruleFiles: ReadonlyMap<string, RuleSet>, pathInDatasite: string, email: string, owner: string, level: keyof EffectiveAccess): boolean {
  return accessFor(ruleFiles, pathInDatasite, email, owner)[level];
}
