import type { Document, LineCounter, Node as YamlNode, ToStringOptions, YAMLMap } from 'yaml';
import { UserError } from '../errors';
import { yamlLib } from './deps';
import { formatPath } from './errors';

/**
 * YAML documents of config.yaml. Parsed and written as YAML 1.1, the dialect of PyYAML (the Python syft-bg's
 * reader/writer): `yes`/`on` are booleans when read, and strings like `'on'` or `'123'` are quoted when written,
 * so the Python syft-bg reads back exactly what we meant.
 */

export type KeyPath = readonly (string | number)[];

export interface ParsedDocument {
  doc: Document;
  lineCounter: LineCounter;
}

export function parseYaml(text: string): ParsedDocument {
  const Y = yamlLib();
  const lineCounter = new Y.LineCounter();
  const doc = Y.parseDocument(text, { version: '1.1', lineCounter, uniqueKeys: true, prettyErrors: true });
  return { doc, lineCounter };
}

/** A new, empty-mapping document with the same options as parsed ones. */
export function newDocument(value: unknown = {}): Document {
  const Y = yamlLib();
  return new Y.Document(value, { version: '1.1' });
}

export interface DocStyle {
  indent: number;
  indentSeq: boolean;
}

/** PyYAML's style: two spaces, block sequences not indented under their key. */
export const PYTHON_STYLE: DocStyle = { indent: 2, indentSeq: false };

/** Guess the indentation style of a parsed file (so re-serialised lines match the original ones). */
export function detectStyle(doc: Document, lc: LineCounter): DocStyle {
  const Y = yamlLib();
  let indent: number | undefined;
  let indentSeq: boolean | undefined;
  const col = (n: unknown) => {
    const r = (n as YamlNode | null)?.range;
    return r ? lc.linePos(r[0]).col : undefined;
  };
  Y.visit(doc, {
    Pair(_k, pair) {
      if (indent !== undefined && indentSeq !== undefined) return Y.visit.BREAK;
      const keyCol = col(pair.key);
      if (keyCol === undefined) return undefined;
      const v = pair.value;
      if (indent === undefined && Y.isMap(v) && !v.flow && v.items.length > 0) {
        const c = col(v.items[0]?.key);
        if (c !== undefined && c > keyCol && c - keyCol <= 8) indent = c - keyCol;
      }
      if (indentSeq === undefined && Y.isSeq(v) && !v.flow && v.items.length > 0) {
        const c = col(v);
        if (c !== undefined) indentSeq = c > keyCol;
      }
      return undefined;
    },
  });
  return { indent: indent ?? PYTHON_STYLE.indent, indentSeq: indentSeq ?? PYTHON_STYLE.indentSeq };
}

export function toStringOptions(style: DocStyle): ToStringOptions {
  return {
    indent: style.indent,
    indentSeq: style.indentSeq,
    // Never fold long strings (paths); PyYAML-style quoting and flow collections.
    lineWidth: 0,
    singleQuote: true,
    flowCollectionPadding: false,
    nullStr: 'null',
  };
}

export function renderDocument(doc: Document, style: DocStyle = PYTHON_STYLE): string {
  return doc.toString(toStringOptions(style));
}

/** Empty flow collections (`{}`, `[]`, as PyYAML writes them) in the document. */
export function emptyFlowCollections(doc: Document): Set<unknown> {
  const Y = yamlLib();
  const out = new Set<unknown>();
  Y.visit(doc, {
    Map(_k, m) {
      if (m.flow && m.items.length === 0) out.add(m);
    },
    Seq(_k, s) {
      if (s.flow && s.items.length === 0) out.add(s);
    },
  });
  return out;
}

/** `objects: {}` that received entries is written as a block mapping, as PyYAML would. */
export function blockifyFilled(collections: Set<unknown>): void {
  const Y = yamlLib();
  for (const c of collections) {
    if ((Y.isMap(c) || Y.isSeq(c)) && c.items.length > 0) c.flow = false;
  }
}

function keyOf(k: unknown): string {
  const Y = yamlLib();
  return Y.isScalar(k) ? String(k.value) : String(k);
}

function findPair(map: YAMLMap, key: string | number) {
  return map.items.find((p) => keyOf(p.key) === String(key));
}

function isNullish(node: unknown): boolean {
  const Y = yamlLib();
  return node === null || node === undefined || (Y.isScalar(node) && node.value === null);
}

/** The mapping at `path`, created (as a block mapping) where missing or null. Throws if something else is in the way. */
export function ensureMap(doc: Document, path: KeyPath): YAMLMap {
  const Y = yamlLib();
  if (isNullish(doc.contents)) doc.contents = new Y.YAMLMap() as never;
  let cur: unknown = doc.contents;
  for (let i = 0; i < path.length; i++) {
    if (!Y.isMap(cur)) throw new UserError(`Cannot edit config.yaml: ${formatPath(path.slice(0, i)) || 'the top level'} is not a mapping`, 1);
    const seg = path[i] as string | number;
    const pair = findPair(cur, seg);
    if (!pair || isNullish(pair.value)) {
      const m = new Y.YAMLMap();
      if (pair) {
        const old = pair.value as YamlNode | null;
        if (old && Y.isScalar(old)) {
          m.comment = old.comment;
          m.commentBefore = old.commentBefore;
        }
        pair.value = m;
      } else {
        if (cur.flow) cur.flow = false;
        cur.items.push(new Y.Pair(new Y.Scalar(seg), m));
      }
      cur = m;
    } else {
      cur = pair.value;
    }
  }
  if (!Y.isMap(cur)) throw new UserError(`Cannot edit config.yaml: ${formatPath(path) || 'the top level'} is not a mapping`, 1);
  return cur;
}

/**
 * Set `path` to `value` (plain data), creating intermediate mappings. An existing scalar is replaced in place:
 * its comments stay, and so does its quoting style when both old and new values are strings.
 * A new key goes right after the first of `opts.after` that exists among its siblings, else first when
 * `opts.start`, else last.
 */
export function setIn(doc: Document, path: KeyPath, value: unknown, opts: { after?: readonly string[]; start?: boolean } = {}): void {
  const Y = yamlLib();
  if (path.length === 0) throw new Error('setIn: empty path');
  const last = path[path.length - 1] as string | number;
  const parentPath = path.slice(0, -1);
  if (typeof last === 'number') {
    const parent = getNode(doc, parentPath);
    if (!Y.isSeq(parent)) throw new UserError(`Cannot edit config.yaml: ${formatPath(parentPath)} is not a list`, 1);
    const node = doc.createNode(value);
    if (last < parent.items.length) parent.items[last] = node;
    else parent.items.push(node);
    return;
  }
  const map = ensureMap(doc, parentPath);
  const pair = findPair(map, last);
  const node = doc.createNode(value) as YamlNode;
  if (pair) {
    const old = pair.value as YamlNode | null;
    if (old && Y.isNode(old)) {
      node.comment = old.comment;
      node.commentBefore = old.commentBefore;
      node.spaceBefore = old.spaceBefore;
      if (old.range) node.range = old.range;
      if (Y.isScalar(old) && Y.isScalar(node) && typeof old.value === 'string' && typeof node.value === 'string') node.type = old.type;
    }
    pair.value = node;
    return;
  }
  if (map.flow) map.flow = false;
  const newPair = new Y.Pair(new Y.Scalar(last), node);
  const anchor = opts.after?.map((k) => map.items.findIndex((p) => keyOf(p.key) === k)).find((i) => i >= 0);
  if (anchor !== undefined) map.items.splice(anchor + 1, 0, newPair);
  else if (opts.start) map.items.unshift(newPair);
  else map.items.push(newPair);
}

/** Remove `path` (no-op when absent). */
export function deleteIn(doc: Document, path: KeyPath): boolean {
  if (!doc.hasIn(path)) return false;
  return doc.deleteIn(path);
}

/** The node at `path` (aliases resolved), or undefined. */
export function getNode(doc: Document, path: KeyPath): unknown {
  const Y = yamlLib();
  let cur: unknown = doc.contents;
  for (const seg of path) {
    if (Y.isAlias(cur)) cur = cur.resolve(doc);
    if (Y.isMap(cur)) cur = findPair(cur, seg)?.value;
    else if (Y.isSeq(cur) && typeof seg === 'number') cur = cur.items[seg];
    else return undefined;
  }
  return Y.isAlias(cur) ? cur.resolve(doc) : cur;
}

/** Plain data at `path` (undefined when absent). */
export function getIn(doc: Document, path: KeyPath): unknown {
  const Y = yamlLib();
  const node = getNode(doc, path);
  if (node === undefined) return undefined;
  return Y.isNode(node) ? node.toJS(doc) : node;
}
