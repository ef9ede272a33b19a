/**
 * A tiny JSON writer that reproduces pydantic-core's `model_dump_json()` (compact: no spaces at all) and
 * `model_dump_json(indent=2)` byte for byte: keys in model field order, floats as pydantic writes them (`1.0`, not
 * `1`), ints as ints, strings escaped like serde_json (which `JSON.stringify` matches for well-formed strings:
 * `\"`, `\\`, `\b\f\n\r\t`, other controls as `\u00XX` lower-case, everything else raw UTF-8).
 */
import { pydanticFloatJson } from './pyfloat';

export type JsonNode =
  | null
  | boolean
  | string
  | { readonly float: number }
  | { readonly int: number }
  | readonly JsonNode[]
  | { readonly fields: ReadonlyArray<readonly [string, JsonNode]> };

export const float = (v: number): JsonNode => ({ float: v });
export const int = (v: number): JsonNode => ({ int: v });
export const obj = (...fields: Array<readonly [string, JsonNode]>): JsonNode => ({ fields });

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function str(s: string): string {
  if (LONE_SURROGATE.test(s)) {
    // pydantic refuses to serialise lone surrogates (UnicodeEncodeError); so do we.
    throw new Error('string holds a lone UTF-16 surrogate, which cannot be written as UTF-8 JSON');
  }
  return JSON.stringify(s);
}

function write(n: JsonNode, indent: number | undefined, depth: number): string {
  if (n === null) return 'null';
  if (typeof n === 'boolean') return n ? 'true' : 'false';
  if (typeof n === 'string') return str(n);
  if (Array.isArray(n)) {
    if (n.length === 0) return '[]';
    if (indent === undefined) return '[' + n.map((x) => write(x, indent, depth + 1)).join(',') + ']';
    const pad = ' '.repeat(indent * (depth + 1));
    return '[\n' + n.map((x) => pad + write(x, indent, depth + 1)).join(',\n') + '\n' + ' '.repeat(indent * depth) + ']';
  }
  const o = n as Exclude<JsonNode, null | boolean | string | readonly JsonNode[]>;
  if ('float' in o) return pydanticFloatJson(o.float);
  if ('int' in o) {
    if (!Number.isSafeInteger(o.int)) throw new Error(`${o.int} is not an integer`);
    return String(o.int);
  }
  const fields = o.fields;
  if (fields.length === 0) return '{}';
  if (indent === undefined) return '{' + fields.map(([k, v]) => str(k) + ':' + write(v, indent, depth + 1)).join(',') + '}';
  const pad = ' '.repeat(indent * (depth + 1));
  return '{\n' + fields.map(([k, v]) => pad + str(k) + ': ' + write(v, indent, depth + 1)).join(',\n') + '\n' + ' '.repeat(indent * depth) + '}';
}

/** `model_dump_json()` (indent undefined) or `model_dump_json(indent=N)`. */
export function dumpJson(n: JsonNode, indent?: number): string {
  return write(n, indent, 0);
}
