import type { Document, LineCounter, Node as YamlNode, YAMLError } from 'yaml';
import { UserError } from '../errors';
import { yamlLib } from './deps';
import type { SchemaIssue } from './schema';

/** One thing wrong with config.yaml. `line`/`col` are 1-based; absent for values that are not in the file yet. */
export interface ConfigProblem {
  path: PropertyKey[];
  message: string;
  line?: number;
  col?: number;
}

/**
 * config.yaml cannot be used: one line per problem, `<file>:<line>:<col>: <key path>: <what was expected>, found <what>`.
 * Exit code 1.
 */
export class ConfigError extends UserError {
  readonly file: string;
  readonly problems: ConfigProblem[];
  constructor(file: string, problems: ConfigProblem[], intro?: string) {
    const lines = problems.map((p) => formatProblem(file, p));
    super((intro ? [intro, ...lines] : lines).join('\n'), 1);
    this.name = 'ConfigError';
    this.file = file;
    this.problems = problems;
  }
}

export function formatProblem(file: string, p: ConfigProblem): string {
  const at = p.line !== undefined ? `${file}:${p.line}:${p.col ?? 1}` : file;
  const key = formatPath(p.path);
  return `${at}: ${key ? `${key}: ` : ''}${p.message}`;
}

/** `approve.auto_approvals.objects.analysis.file_contents[1].hash`; keys that are not identifiers are quoted: `peers["a@b.c"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

/** "found …" text for a value. */
export function describeFound(v: unknown): string {
  if (v === undefined) return 'nothing (the key is missing)';
  if (v === null) return 'null (an empty value)';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v)}`;
  if (typeof v === 'number' || typeof v === 'bigint') return `the number ${String(v)}`;
  if (typeof v === 'boolean') return String(v);
  if (v instanceof Date) return `the date ${Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString().replace(/T00:00:00\.000Z$/, '')}`;
  if (Array.isArray(v)) return v.length === 0 ? 'an empty list' : `a list of ${v.length} item${v.length === 1 ? '' : 's'}`;
  if (typeof v === 'object') return 'a mapping';
  return `a ${typeof v}`;
}

const TYPE_NAMES: Record<string, string> = {
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'a mapping (key: value pairs)',
  record: 'a mapping (key: value pairs)',
  map: 'a mapping (key: value pairs)',
  array: 'a list',
  tuple: 'a list',
  null: 'null',
  date: 'a date',
};

function bound(n: number | bigint | undefined): string {
  return n === undefined ? '?' : String(n);
}

/** The "expected …" part for one schema issue. */
export function expectedText(issue: SchemaIssue): string {
  if (issue.message.startsWith('expected ')) return issue.message;
  switch (issue.code) {
    case 'invalid_type': {
      // zod says "int" both for 2.5 and for "five"; only the former is about wholeness.
      if (issue.expected === 'int') return typeof issue.input === 'number' ? 'expected a whole number' : 'expected a number';
      return `expected ${TYPE_NAMES[issue.expected ?? ''] ?? issue.expected ?? 'another type'}`;
    }
    case 'invalid_value': {
      const vals = (issue.values ?? []).map((v) => JSON.stringify(v));
      return vals.length === 1 ? `expected ${vals[0]}` : `expected one of ${vals.join(', ')}`;
    }
    case 'too_small': {
      const n = bound(issue.minimum);
      if (issue.origin === 'string') return n === '1' ? 'expected a non-empty string' : `expected a string of at least ${n} characters`;
      if (issue.origin === 'array') return `expected a list with at least ${n} item${n === '1' ? '' : 's'}`;
      return issue.inclusive === false ? `expected a number greater than ${n}` : `expected a number of at least ${n}`;
    }
    case 'too_big': {
      const n = bound(issue.maximum);
      if (issue.origin === 'string') return `expected a string of at most ${n} characters`;
      if (issue.origin === 'array') return `expected a list with at most ${n} items`;
      return issue.inclusive === false ? `expected a number less than ${n}` : `expected a number of at most ${n}`;
    }
    case 'invalid_format':
      return `expected a string in ${issue.format ?? 'the right'} format`;
    case 'not_multiple_of':
      return 'expected a multiple of the step';
    case 'invalid_key': {
      const inner = issue.issues?.[0];
      return `invalid name: ${inner ? expectedText(inner) : 'not allowed'}`;
    }
    default:
      return issue.message.replace(/^Invalid input: /, '');
  }
}

export function issueMessage(issue: SchemaIssue): string {
  return `${expectedText(issue)}, found ${describeFound(issue.input)}`;
}

type Position = { line: number; col: number };

function positionOf(node: YamlNode | null | undefined, lc: LineCounter | undefined): Position | undefined {
  if (!node || !lc || !node.range) return undefined;
  const [start, valueEnd] = node.range;
  if (valueEnd <= start) return undefined; // empty node (e.g. `key:` without a value)
  return lc.linePos(start);
}

/**
 * Where `path` is in the document: the value's node; for a key that is missing, its parent mapping;
 * with `atKey`, the key node itself (for invalid mapping keys). Undefined for nodes not in the file.
 */
export function locate(doc: Document, path: readonly PropertyKey[], lc: LineCounter | undefined, atKey = false): Position | undefined {
  const Y = yamlLib();
  let cur: unknown = doc.contents;
  let best = positionOf(cur as YamlNode, lc);
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (Y.isAlias(cur)) cur = cur.resolve(doc);
    if (Y.isMap(cur)) {
      const pair = cur.items.find((p) => (Y.isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (!pair) return best;
      const keyPos = positionOf(pair.key as YamlNode, lc);
      const valuePos = positionOf(pair.value as YamlNode, lc);
      if (!keyPos && !valuePos) return undefined; // added by an edit: not in the file
      if (atKey && i === path.length - 1) return keyPos ?? valuePos;
      best = valuePos ?? keyPos;
      cur = pair.value;
    } else if (Y.isSeq(cur) && typeof seg === 'number') {
      const item = cur.items[seg];
      if (item === undefined) return best;
      const pos = positionOf(item as YamlNode, lc);
      if (!pos) return undefined;
      best = pos;
      cur = item;
    } else {
      return best;
    }
  }
  return best;
}

/** Schema issues → problems with positions, in file order. */
export function issuesToProblems(
  issues: readonly SchemaIssue[],
  doc: Document | undefined,
  lc: LineCounter | undefined,
  prefix: readonly PropertyKey[] = [],
): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const seen = new Set<string>();
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    const message = issueMessage(issue);
    const pos = doc ? locate(doc, path, lc, issue.code === 'invalid_key') : undefined;
    const p: ConfigProblem = { path, message, ...(pos ? { line: pos.line, col: pos.col } : {}) };
    const id = `${p.line}:${p.col}:${formatPath(path)}:${message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(p);
  }
  return sortProblems(out);
}

export function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.line ?? Infinity) - (b.p.line ?? Infinity) || (a.p.col ?? 0) - (b.p.col ?? 0) || a.i - b.i)
    .map((x) => x.p);
}

/**
 * YAML parser errors → problems: `YAML syntax error: <the parser's reason>`. With the document, a duplicate key is
 * named by its key path (`notify.interval: this key appears twice …`), which the parser's message does not give.
 */
export function yamlErrorsToProblems(errors: readonly YAMLError[], doc?: Document): ConfigProblem[] {
  return sortProblems(
    errors.map((e) => {
      const first = e.message.split('\n')[0] ?? e.message;
      const reason = first.replace(/ at line \d+, column \d+:?\s*$/, '').trim();
      const pos = e.linePos?.[0];
      const at = pos ? { line: pos.line, col: pos.col } : {};
      if (e.code === 'DUPLICATE_KEY' && doc) {
        const keyPath = keyPathAt(doc.contents, e.pos[0], []);
        if (keyPath && keyPath.length > 0) {
          const parent = formatPath(keyPath.slice(0, -1));
          return { path: keyPath, message: `this key appears twice${parent ? ` in ${parent}` : ' at the top level'}; YAML keys must be unique (keep one)`, ...at };
        }
      }
      return { path: [], message: `YAML syntax error: ${reason}`, ...at };
    }),
  );
}

/** The key path of the mapping key that starts at `offset`, if any (the duplicate a DUPLICATE_KEY error points at). */
function keyPathAt(node: unknown, offset: number, prefix: PropertyKey[]): PropertyKey[] | undefined {
  const Y = yamlLib();
  if (Y.isMap(node)) {
    for (const pair of node.items) {
      const k = pair.key as { range?: [number, number, number]; value?: unknown } | null;
      const name: PropertyKey = Y.isScalar(k) ? (typeof k.value === 'number' ? String(k.value) : String(k.value)) : String(k);
      if (k && Array.isArray(k.range) && k.range[0] === offset) return [...prefix, name];
      const inner = keyPathAt(pair.value, offset, [...prefix, name]);
      if (inner) return inner;
    }
  } else if (Y.isSeq(node)) {
    for (let i = 0; i < node.items.length; i++) {
      const inner = keyPathAt(node.items[i], offset, [...prefix, i]);
      if (inner) return inner;
    }
  }
  return undefined;
}
