/**
 * PyYAML-compatible YAML for the files syft-job writes and reads (`state.yaml`, `config.yaml`, `syft.pub.yaml`).
 *
 * Writing: `pyYamlDump` is a port of PyYAML 6's Representer + Serializer + Emitter for the JSON-like values those
 * files hold (null, bool, integers, str, lists, str-keyed dicts), configured as syft-job calls it:
 * `yaml.dump(data, f, default_flow_style=False)` (sorted keys, block style, width 80, indent 2, no
 * `allow_unicode`). The emitter is a line-by-line port of `yaml/emitter.py` (scalar analysis, style choice,
 * plain/single/double-quoted writers with their line folding), and `IMPLICIT` is `yaml/resolver.py`'s table, which
 * decides whether a string must be quoted because it would read back as another type. We do not use the `yaml`
 * package's stringifier for this: its folding, quoting and escape rules differ from PyYAML's, and byte-identical
 * output is the whole point.
 *
 * Reading: `pyYamlLoad` uses the `yaml` package's parser with the failsafe schema (every scalar a string) and then
 * resolves plain scalars with PyYAML's own YAML 1.1 regular expressions and constructors, because the `yaml`
 * package's `yaml-1.1` schema differs from PyYAML (`y`/`n` are booleans there, `1e5` is a float, `09` an int).
 * Timestamps come back as `PyTimestamp` (PyYAML would build a `datetime`/`date`). Anything PyYAML's `safe_load`
 * would reject is a `PyYamlError`; so are merge keys (`<<`), which PyYAML supports and we do not.
 */

import type { Document, Node as YamlNode } from 'yaml';

// ---------------------------------------------------------------------------------------------------------------
// Values

export type PyValue = null | boolean | number | bigint | string | PyValue[] | { [key: string]: PyValue };

/** A plain YAML timestamp as PyYAML's constructor parses it (`datetime.datetime`, or `datetime.date`). */
export class PyTimestamp {
  constructor(
    readonly text: string,
    readonly year: number,
    readonly month: number,
    readonly day: number,
    /** undefined for a date-only value (`datetime.date`). */
    readonly time?: {
      hour: number;
      minute: number;
      second: number;
      microsecond: number;
      /** Offset in minutes east of UTC; undefined for a naive datetime. */
      offsetMinutes?: number;
    },
  ) {}
}

export type PyLoaded = null | boolean | number | bigint | string | PyTimestamp | PyLoaded[] | { [key: string]: PyLoaded };

export class PyYamlError extends Error {
  /** The parser ran out of input (unterminated quote or collection): the text looks cut short. */
  readonly atEnd: boolean;
  constructor(message: string, atEnd = false) {
    super(message);
    this.name = 'PyYamlError';
    this.atEnd = atEnd;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Resolver (yaml/resolver.py). Python's `$` also matches before a final newline; `\n?$` reproduces that.

const IMPLICIT: ReadonlyArray<{ tag: string; first: string; re: RegExp }> = [
  { tag: 'bool', first: 'yYnNtTfFoO', re: /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)\n?$/ },
  {
    tag: 'float',
    first: '-+0123456789.',
    re: /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\n?$/,
  },
  {
    tag: 'int',
    first: '-+0123456789',
    re: /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)\n?$/,
  },
  { tag: 'merge', first: '<', re: /^(?:<<)\n?$/ },
  { tag: 'null', first: '~nN', re: /^(?:~|null|Null|NULL|)\n?$/ },
  {
    tag: 'timestamp',
    first: '0123456789',
    re: /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)\n?$/,
  },
  { tag: 'value', first: '=', re: /^(?:=)\n?$/ },
  { tag: 'yaml', first: '!&*', re: /^(?:!|&|\*)\n?$/ },
];

/** The tag PyYAML's resolver gives a plain scalar with this text (`str` when no implicit resolver matches). */
export function resolvePlain(value: string): string {
  if (value === '') return 'null';
  const c = value[0] as string;
  for (const r of IMPLICIT) if (r.first.includes(c) && r.re.test(value)) return r.tag;
  return 'str';
}

// ---------------------------------------------------------------------------------------------------------------
// Emitter (yaml/emitter.py), restricted to what the Representer produces for PyValue: no anchors (PyYAML only
// anchors a list/dict object that appears twice, which JSON-like data built fresh never does), no explicit tags,
// block collections except empty ones, which PyYAML writes in flow style (`[]`, `{}`).

export interface DumpOptions {
  /** PyYAML `allow_unicode` (syft-job: false, so non-ASCII strings are double-quoted with escapes). */
  allowUnicode?: boolean;
  /** PyYAML `sort_keys` (default true). When false, JS object order applies: integer-like keys come first. */
  sortKeys?: boolean;
}

interface Analysis {
  empty: boolean;
  multiline: boolean;
  allowFlowPlain: boolean;
  allowBlockPlain: boolean;
  allowSingleQuoted: boolean;
  allowBlock: boolean;
}

type Ev =
  | { t: 'scalar'; value: string[]; implicit0: boolean; implicit1: boolean }
  | { t: 'seq'; items: Ev[] }
  | { t: 'map'; pairs: Array<[Ev, Ev]> };

const BREAKS = '\n\x85\u2028\u2029';
const SPACE_OR_BREAK_OR_NUL = '\0 \t\r\n\x85\u2028\u2029';
const ESCAPES: Record<string, string> = {
  '\0': '0',
  '\x07': 'a',
  '\x08': 'b',
  '\x09': 't',
  '\x0A': 'n',
  '\x0B': 'v',
  '\x0C': 'f',
  '\x0D': 'r',
  '\x1B': 'e',
  '"': '"',
  '\\': '\\',
  '\x85': 'N',
  '\xA0': '_',
  '\u2028': 'L',
  '\u2029': 'P',
};

/** Python `str` comparison: by code point (JS `<` compares UTF-16 units, which misorders astral characters). */
export function compareCodePoints(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const d = (x[i] as string).codePointAt(0)! - (y[i] as string).codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function represent(v: PyValue, sortKeys: boolean): Ev {
  if (v === null) return { t: 'scalar', value: ['n', 'u', 'l', 'l'], implicit0: true, implicit1: false };
  if (typeof v === 'boolean') return { t: 'scalar', value: Array.from(v ? 'true' : 'false'), implicit0: true, implicit1: false };
  if (typeof v === 'bigint') return { t: 'scalar', value: Array.from(v.toString()), implicit0: true, implicit1: false };
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new TypeError(`pyYamlDump: only safe integers are supported, got ${v}`);
    return { t: 'scalar', value: Array.from(String(v)), implicit0: true, implicit1: false };
  }
  if (typeof v === 'string') return { t: 'scalar', value: Array.from(v), implicit0: resolvePlain(v) === 'str', implicit1: true };
  if (Array.isArray(v)) return { t: 'seq', items: v.map((x) => represent(x, sortKeys)) };
  if (typeof v === 'object') {
    const keys = Object.keys(v);
    if (sortKeys) keys.sort(compareCodePoints);
    return { t: 'map', pairs: keys.map((k) => [represent(k, sortKeys), represent(v[k] as PyValue, sortKeys)]) };
  }
  throw new TypeError(`pyYamlDump: unsupported value of type ${typeof v}`);
}

function inRange(c: string, lo: number, hi: number): boolean {
  const cp = c.codePointAt(0)!;
  return cp >= lo && cp <= hi;
}

class Emitter {
  private out: string[] = [];
  private indents: Array<number | null> = [];
  private indent: number | null = null;
  private flowLevel = 0;
  private rootContext = false;
  private sequenceContext = false;
  private mappingContext = false;
  private simpleKeyContext = false;
  private column = 0;
  private whitespace = true;
  private indention = true;
  private openEnded = false;
  private readonly bestIndent = 2;
  private readonly bestWidth = 80;

  constructor(private readonly allowUnicode: boolean) {}

  dump(root: Ev): string {
    // Stream start and an implicit first document: nothing is written.
    this.expectNode(root, { root: true });
    // Document end (implicit): write_indent; then stream end.
    this.writeIndent();
    if (this.openEnded) {
      this.writeIndicator('...', true);
      this.writeIndent();
    }
    return this.out.join('');
  }

  private write(s: string): void {
    this.out.push(s);
  }

  private increaseIndent(flow = false, indentless = false): void {
    this.indents.push(this.indent);
    if (this.indent === null) this.indent = flow ? this.bestIndent : 0;
    else if (!indentless) this.indent += this.bestIndent;
  }

  private popIndent(): void {
    this.indent = this.indents.pop() ?? null;
  }

  private expectNode(ev: Ev, ctx: { root?: boolean; sequence?: boolean; mapping?: boolean; simpleKey?: boolean }, analysis?: Analysis): void {
    this.rootContext = !!ctx.root;
    this.sequenceContext = !!ctx.sequence;
    this.mappingContext = !!ctx.mapping;
    this.simpleKeyContext = !!ctx.simpleKey;
    if (ev.t === 'scalar') {
      // process_tag chooses the style; a plain or quoted str/int/bool/null never writes a tag.
      const a = analysis ?? analyzeScalar(ev.value, this.allowUnicode);
      const style = this.chooseScalarStyle(ev, a);
      this.increaseIndent(true);
      this.processScalar(ev.value, style);
      this.popIndent();
    } else if (ev.t === 'seq') {
      if (this.flowLevel || ev.items.length === 0) this.expectFlowEmpty('[', ']');
      else this.expectBlockSequence(ev.items);
    } else {
      if (this.flowLevel || ev.pairs.length === 0) this.expectFlowEmpty('{', '}');
      else this.expectBlockMapping(ev.pairs);
    }
  }

  /** expect_flow_sequence / expect_flow_mapping followed at once by the end event (only empty ones reach here). */
  private expectFlowEmpty(open: string, close: string): void {
    this.writeIndicator(open, true, true);
    this.flowLevel++;
    this.increaseIndent(true);
    this.popIndent();
    this.flowLevel--;
    this.writeIndicator(close, false);
  }

  private expectBlockSequence(items: Ev[]): void {
    const indentless = this.mappingContext && !this.indention;
    this.increaseIndent(false, indentless);
    for (const item of items) {
      this.writeIndent();
      this.writeIndicator('-', true, false, true);
      this.expectNode(item, { sequence: true });
    }
    this.popIndent();
  }

  private expectBlockMapping(pairs: Array<[Ev, Ev]>): void {
    this.increaseIndent(false);
    for (const [k, v] of pairs) {
      this.writeIndent();
      const a = k.t === 'scalar' ? analyzeScalar(k.value, this.allowUnicode) : undefined;
      if (this.checkSimpleKey(k, a)) {
        this.expectNode(k, { mapping: true, simpleKey: true }, a);
        this.writeIndicator(':', false);
        this.expectNode(v, { mapping: true });
      } else {
        this.writeIndicator('?', true, false, true);
        this.expectNode(k, { mapping: true }, a);
        this.writeIndent();
        this.writeIndicator(':', true, false, true);
        this.expectNode(v, { mapping: true });
      }
    }
    this.popIndent();
  }

  private checkSimpleKey(ev: Ev, a: Analysis | undefined): boolean {
    if (ev.t !== 'scalar' || a === undefined) {
      // Collections as keys cannot come from str-keyed objects; PyYAML would only accept empty ones.
      return (ev.t === 'seq' && ev.items.length === 0) || (ev.t === 'map' && ev.pairs.length === 0);
    }
    // The serializer always sets the tag (tag:yaml.org,2002:str -> '!!str', 5 characters), and it counts.
    const length = 5 + ev.value.length;
    return length < 128 && !a.empty && !a.multiline;
  }

  private chooseScalarStyle(ev: Extract<Ev, { t: 'scalar' }>, a: Analysis): '' | "'" | '"' {
    if (ev.implicit0) {
      if (
        !(this.simpleKeyContext && (a.empty || a.multiline)) &&
        ((this.flowLevel && a.allowFlowPlain) || (!this.flowLevel && a.allowBlockPlain))
      )
        return '';
    }
    if (a.allowSingleQuoted && !(this.simpleKeyContext && a.multiline)) return "'";
    return '"';
  }

  private processScalar(text: string[], style: '' | "'" | '"'): void {
    const split = !this.simpleKeyContext;
    if (style === '"') this.writeDoubleQuoted(text, split);
    else if (style === "'") this.writeSingleQuoted(text, split);
    else this.writePlain(text, split);
  }

  private writeIndicator(indicator: string, needWhitespace: boolean, whitespace = false, indention = false): void {
    const data = this.whitespace || !needWhitespace ? indicator : ' ' + indicator;
    this.whitespace = whitespace;
    this.indention = this.indention && indention;
    this.column += data.length;
    this.openEnded = false;
    this.write(data);
  }

  private writeIndent(): void {
    const indent = this.indent ?? 0;
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) this.writeLineBreak();
    if (this.column < indent) {
      this.whitespace = true;
      this.write(' '.repeat(indent - this.column));
      this.column = indent;
    }
  }

  private writeLineBreak(data = '\n'): void {
    this.whitespace = true;
    this.indention = true;
    this.column = 0;
    this.write(data);
  }

  private writeChunk(text: string[], start: number, end: number): void {
    this.column += end - start;
    this.write(text.slice(start, end).join(''));
  }

  private writeSingleQuoted(text: string[], split: boolean): void {
    this.writeIndicator("'", true);
    let spaces = false;
    let breaks = false;
    let start = 0;
    let end = 0;
    while (end <= text.length) {
      const ch = end < text.length ? (text[end] as string) : null;
      if (spaces) {
        if (ch === null || ch !== ' ') {
          if (start + 1 === end && this.column > this.bestWidth && split && start !== 0 && end !== text.length) {
            this.writeIndent();
          } else {
            this.writeChunk(text, start, end);
          }
          start = end;
        }
      } else if (breaks) {
        if (ch === null || !BREAKS.includes(ch)) {
          if (text[start] === '\n') this.writeLineBreak();
          for (const br of text.slice(start, end)) {
            if (br === '\n') this.writeLineBreak();
            else this.writeLineBreak(br);
          }
          this.writeIndent();
          start = end;
        }
      } else {
        if (ch === null || ' \n\x85\u2028\u2029'.includes(ch) || ch === "'") {
          if (start < end) {
            this.writeChunk(text, start, end);
            start = end;
          }
        }
      }
      if (ch === "'") {
        this.column += 2;
        this.write("''");
        start = end + 1;
      }
      if (ch !== null) {
        spaces = ch === ' ';
        breaks = BREAKS.includes(ch);
      }
      end++;
    }
    this.writeIndicator("'", false);
  }

  private writeDoubleQuoted(text: string[], split: boolean): void {
    this.writeIndicator('"', true);
    let start = 0;
    let end = 0;
    while (end <= text.length) {
      const ch = end < text.length ? (text[end] as string) : null;
      if (
        ch === null ||
        '"\\\x85\u2028\u2029\uFEFF'.includes(ch) ||
        !(inRange(ch, 0x20, 0x7e) || (this.allowUnicode && (inRange(ch, 0xa0, 0xd7ff) || inRange(ch, 0xe000, 0xfffd))))
      ) {
        if (start < end) {
          this.writeChunk(text, start, end);
          start = end;
        }
        if (ch !== null) {
          const cp = ch.codePointAt(0)!;
          let data: string;
          const esc = ESCAPES[ch];
          if (esc !== undefined) data = '\\' + esc;
          else if (cp <= 0xff) data = '\\x' + cp.toString(16).toUpperCase().padStart(2, '0');
          else if (cp <= 0xffff) data = '\\u' + cp.toString(16).toUpperCase().padStart(4, '0');
          else data = '\\U' + cp.toString(16).toUpperCase().padStart(8, '0');
          this.column += data.length;
          this.write(data);
          start = end + 1;
        }
      }
      if (0 < end && end < text.length - 1 && (ch === ' ' || start >= end) && this.column + (end - start) > this.bestWidth && split) {
        const data = text.slice(start, end).join('') + '\\';
        if (start < end) start = end;
        this.column += data.length;
        this.write(data);
        this.writeIndent();
        this.whitespace = false;
        this.indention = false;
        if (text[start] === ' ') {
          this.column += 1;
          this.write('\\');
        }
      }
      end++;
    }
    this.writeIndicator('"', false);
  }

  private writePlain(text: string[], split: boolean): void {
    if (this.rootContext) this.openEnded = true;
    if (text.length === 0) return;
    if (!this.whitespace) {
      this.column += 1;
      this.write(' ');
    }
    this.whitespace = false;
    this.indention = false;
    let spaces = false;
    let breaks = false;
    let start = 0;
    let end = 0;
    while (end <= text.length) {
      const ch = end < text.length ? (text[end] as string) : null;
      if (spaces) {
        if (ch !== ' ') {
          if (start + 1 === end && this.column > this.bestWidth && split) {
            this.writeIndent();
            this.whitespace = false;
            this.indention = false;
          } else {
            this.writeChunk(text, start, end);
          }
          start = end;
        }
      } else if (breaks) {
        // Unreachable for PyYAML's own choices (multiline scalars are never plain); kept for fidelity.
        if (ch === null || !BREAKS.includes(ch)) {
          if (text[start] === '\n') this.writeLineBreak();
          for (const br of text.slice(start, end)) {
            if (br === '\n') this.writeLineBreak();
            else this.writeLineBreak(br);
          }
          this.writeIndent();
          this.whitespace = false;
          this.indention = false;
          start = end;
        }
      } else {
        if (ch === null || ' \n\x85\u2028\u2029'.includes(ch)) {
          this.writeChunk(text, start, end);
          start = end;
        }
      }
      if (ch !== null) {
        spaces = ch === ' ';
        breaks = BREAKS.includes(ch);
      }
      end++;
    }
  }
}

/** Emitter.analyze_scalar. `scalar` is an array of code points (Python indexes str by code point). */
function analyzeScalar(scalar: string[], allowUnicode: boolean): Analysis {
  if (scalar.length === 0) {
    return { empty: true, multiline: false, allowFlowPlain: false, allowBlockPlain: true, allowSingleQuoted: true, allowBlock: false };
  }
  let blockIndicators = false;
  let flowIndicators = false;
  let lineBreaks = false;
  let specialCharacters = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;

  const joined = scalar.join('');
  if (joined.startsWith('---') || joined.startsWith('...')) {
    blockIndicators = true;
    flowIndicators = true;
  }
  let precededByWhitespace = true;
  let followedByWhitespace = scalar.length === 1 || SPACE_OR_BREAK_OR_NUL.includes(scalar[1] as string);
  let previousSpace = false;
  let previousBreak = false;

  for (let index = 0; index < scalar.length; ) {
    const ch = scalar[index] as string;
    if (index === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) {
        flowIndicators = true;
        blockIndicators = true;
      }
      if ('?:'.includes(ch)) {
        flowIndicators = true;
        if (followedByWhitespace) blockIndicators = true;
      }
      if (ch === '-' && followedByWhitespace) {
        flowIndicators = true;
        blockIndicators = true;
      }
    } else {
      if (',?[]{}'.includes(ch)) flowIndicators = true;
      if (ch === ':') {
        flowIndicators = true;
        if (followedByWhitespace) blockIndicators = true;
      }
      if (ch === '#' && precededByWhitespace) {
        flowIndicators = true;
        blockIndicators = true;
      }
    }
    if (BREAKS.includes(ch)) lineBreaks = true;
    if (!(ch === '\n' || inRange(ch, 0x20, 0x7e))) {
      const cp = ch.codePointAt(0)!;
      if ((cp === 0x85 || (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp < 0x10ffff)) && cp !== 0xfeff) {
        if (!allowUnicode) specialCharacters = true;
      } else {
        specialCharacters = true;
      }
    }
    if (ch === ' ') {
      if (index === 0) leadingSpace = true;
      if (index === scalar.length - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (BREAKS.includes(ch)) {
      if (index === 0) leadingBreak = true;
      if (index === scalar.length - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    index++;
    precededByWhitespace = SPACE_OR_BREAK_OR_NUL.includes(ch);
    followedByWhitespace = index + 1 >= scalar.length || SPACE_OR_BREAK_OR_NUL.includes(scalar[index + 1] as string);
  }

  let allowFlowPlain = true;
  let allowBlockPlain = true;
  let allowSingleQuoted = true;
  let allowBlock = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) allowFlowPlain = allowBlockPlain = false;
  if (trailingSpace) allowBlock = false;
  if (breakSpace) allowFlowPlain = allowBlockPlain = allowSingleQuoted = false;
  if (spaceBreak || specialCharacters) allowFlowPlain = allowBlockPlain = allowSingleQuoted = allowBlock = false;
  if (lineBreaks) allowFlowPlain = allowBlockPlain = false;
  if (flowIndicators) allowFlowPlain = false;
  if (blockIndicators) allowBlockPlain = false;
  return { empty: false, multiline: lineBreaks, allowFlowPlain, allowBlockPlain, allowSingleQuoted, allowBlock };
}

/**
 * `yaml.dump(value, default_flow_style=False)` as PyYAML 6 writes it (also `yaml.safe_dump`: identical for these
 * types). Numbers must be safe integers (floats are not supported: syft-job never writes any).
 */
export function pyYamlDump(value: PyValue, opts: DumpOptions = {}): string {
  const root = represent(value, opts.sortKeys ?? true);
  return new Emitter(opts.allowUnicode ?? false).dump(root);
}

// ---------------------------------------------------------------------------------------------------------------
// Loader

type YamlModule = typeof import('yaml');
let yamlModule: YamlModule | undefined;
function yamlLib(): YamlModule {
  // Loaded on first use: the CLI's fast paths never parse a datasite file.
  if (yamlModule === undefined) yamlModule = require('yaml') as YamlModule;
  return yamlModule;
}

/** PyYAML's Reader refuses these characters anywhere in the stream. */
const NON_PRINTABLE = /[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** Caps on what one document may expand to (aliases can multiply a small file). */
const MAX_NODES = 100_000;
const MAX_DEPTH = 64;

/**
 * `yaml.safe_load(text)` for one document, PyYAML semantics for plain scalars. Throws `PyYamlError` for anything
 * PyYAML would reject (syntax errors, several documents, non-printable characters, unknown tags) and for merge keys.
 */
export function pyYamlLoad(text: string): PyLoaded {
  const bad = NON_PRINTABLE.exec(text);
  if (bad) {
    const cp = bad[0].codePointAt(0)!;
    throw new PyYamlError(`unacceptable character #x${cp.toString(16).padStart(4, '0')} at offset ${bad.index}`);
  }
  const Y = yamlLib();
  let doc: Document.Parsed;
  try {
    doc = Y.parseDocument(text, { schema: 'failsafe', uniqueKeys: false, prettyErrors: true, keepSourceTokens: false, strict: true });
  } catch (e) {
    throw new PyYamlError(`cannot parse: ${(e as Error).message}`);
  }
  const first = doc.errors[0];
  if (first !== undefined) throw new PyYamlError(first.message.split('\n')[0] ?? 'YAML syntax error', first.pos[0] >= text.trimEnd().length);
  rejectYaml11Whitespace(Y, doc, text);
  let nodes = 0;
  // Without aliases a document cannot have more nodes than characters, so only alias expansion beyond the text's
  // own size is capped (a long-lived review/<ds>/syft.pub.yaml passes 100,000 nodes after ~2,000 runs).
  const maxNodes = Math.max(MAX_NODES, text.length);
  const construct = (node: YamlNode | null | undefined, depth: number): PyLoaded => {
    if (++nodes > maxNodes) throw new PyYamlError(`document too large (more than ${maxNodes} nodes after alias expansion)`);
    if (depth > MAX_DEPTH) throw new PyYamlError(`document nested deeper than ${MAX_DEPTH} levels`);
    if (node === null || node === undefined) return null;
    if (Y.isAlias(node)) {
      const target = node.resolve(doc);
      if (target === undefined) throw new PyYamlError(`unknown alias *${node.source}`);
      return construct(target as YamlNode, depth + 1);
    }
    if (Y.isScalar(node)) return constructScalar(node.value, node.type, node.tag);
    if (Y.isSeq(node)) {
      checkCollectionTag(node.tag, 'seq');
      return node.items.map((item) => construct(item as YamlNode, depth + 1));
    }
    if (Y.isMap(node)) {
      checkCollectionTag(node.tag, 'map');
      const out: { [key: string]: PyLoaded } = Object.create(null) as { [key: string]: PyLoaded };
      for (const pair of node.items) {
        const keyNode = pair.key as YamlNode | null;
        if (Y.isScalar(keyNode) && keyNode.type === 'PLAIN' && !keyNode.tag && keyNode.value === '<<') {
          throw new PyYamlError('merge keys (<<) are not supported');
        }
        const key = construct(keyNode, depth + 1);
        if (typeof key !== 'string') throw new PyYamlError(`mapping key ${JSON.stringify(String(key))} is not a string`);
        out[key] = construct(pair.value as YamlNode | null, depth + 1);
      }
      // Plain object (not null-prototype) for callers; '__proto__' keys stay data because of defineProperty.
      const plain: { [key: string]: PyLoaded } = {};
      for (const k of Object.keys(out)) Object.defineProperty(plain, k, { value: out[k], enumerable: true, writable: true, configurable: true });
      return plain;
    }
    throw new PyYamlError('unsupported YAML node');
  };
  return construct(doc.contents as YamlNode | null, 0);
}

/**
 * Where YAML 1.1 (PyYAML) and the `yaml` package's YAML 1.2 parser read the same bytes differently, refuse:
 * PyYAML never skips a tab between tokens (`a: b\tc` is a ScannerError there, a plain scalar here), and it treats
 * NEL, LS and PS as line breaks. PyYAML's own output never contains these characters raw (it escapes them in
 * double quotes), so only hand-made or hostile files are refused; tabs inside quoted scalars stay accepted.
 */
function rejectYaml11Whitespace(Y: YamlModule, doc: Document.Parsed, text: string): void {
  const lb = /[\x85\u2028\u2029]/.exec(text);
  if (lb) throw new PyYamlError(`YAML 1.1 line break #x${lb[0].codePointAt(0)!.toString(16)} at offset ${lb.index} (PyYAML reads it differently)`);
  if (!text.includes('\t')) return;
  const quoted: Array<[number, number]> = [];
  Y.visit(doc, {
    Scalar(_key, node) {
      if ((node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') && node.range) quoted.push([node.range[0], node.range[1]]);
    },
  });
  for (let i = text.indexOf('\t'); i !== -1; i = text.indexOf('\t', i + 1)) {
    if (!quoted.some(([a, b]) => i >= a && i < b)) throw new PyYamlError(`tab character at offset ${i} outside a quoted scalar (PyYAML refuses it)`);
  }
}

function checkCollectionTag(tag: string | undefined, kind: 'seq' | 'map'): void {
  if (tag === undefined) return;
  if (tag === `tag:yaml.org,2002:${kind}`) return;
  throw new PyYamlError(`could not determine a constructor for the tag ${tag}`);
}

function constructScalar(raw: unknown, type: string | undefined, tag: string | undefined): PyLoaded {
  const value = String(raw);
  let resolved: string;
  if (tag === '!') {
    // PyYAML's parser gives the non-specific tag `!` implicit=(True, False): implicit resolvers apply, quoted or not.
    resolved = resolvePlain(value);
  } else if (tag !== undefined) {
    const m = /^tag:yaml\.org,2002:(.*)$/.exec(tag);
    if (!m) throw new PyYamlError(`could not determine a constructor for the tag ${tag}`);
    resolved = m[1] as string;
  } else if (type === 'PLAIN' && tag === undefined) {
    resolved = resolvePlain(value);
  } else {
    resolved = 'str';
  }
  switch (resolved) {
    case 'str':
      return value;
    case 'null':
      return null;
    case 'bool': {
      const b = ({ yes: true, no: false, true: true, false: false, on: true, off: false } as Record<string, boolean>)[value.toLowerCase()];
      if (b === undefined) throw new PyYamlError(`invalid boolean ${JSON.stringify(value)}`);
      return b;
    }
    case 'int':
      return constructInt(value);
    case 'float':
      return constructFloat(value);
    case 'timestamp':
      return constructTimestamp(value);
    default:
      // merge outside a key, value ('='), yaml ('!'), binary, set, omap, ...: SafeConstructor has no (usable) constructor.
      throw new PyYamlError(`could not determine a constructor for the tag tag:yaml.org,2002:${resolved}`);
  }
}

/** SafeConstructor.construct_yaml_int. Returns a number when it is a safe integer, else a bigint. */
function constructInt(text: string): number | bigint {
  let value = text.replace(/_/g, '');
  let sign = 1n;
  if (value[0] === '-') sign = -1n;
  if (value[0] === '-' || value[0] === '+') value = value.slice(1);
  let n: bigint;
  const parse = (digits: string, re: RegExp, prefix: string): bigint => {
    if (!re.test(digits)) throw new PyYamlError(`invalid integer ${JSON.stringify(text)}`);
    return BigInt(prefix + digits);
  };
  if (value === '0') n = 0n;
  else if (value.startsWith('0b')) n = parse(value.slice(2), /^[01]+$/, '0b');
  else if (value.startsWith('0x')) n = parse(value.slice(2), /^[0-9a-fA-F]+$/, '0x');
  else if (value[0] === '0') n = parse(value, /^[0-7]+$/, '0o');
  else if (value.includes(':')) {
    n = 0n;
    let base = 1n;
    for (const part of value.split(':').reverse()) {
      n += parse(part, /^[0-9]+$/, '') * base;
      base *= 60n;
    }
  } else n = parse(value, /^[0-9]+$/, '');
  n *= sign;
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/** SafeConstructor.construct_yaml_float. */
function constructFloat(text: string): number {
  let value = text.replace(/_/g, '').toLowerCase();
  let sign = 1;
  if (value[0] === '-') sign = -1;
  if (value[0] === '-' || value[0] === '+') value = value.slice(1);
  if (value === '.inf') return sign * Infinity;
  if (value === '.nan') return NaN;
  if (value.includes(':')) {
    let n = 0;
    let base = 1;
    for (const part of value.split(':').reverse()) {
      n += Number(part) * base;
      base *= 60;
    }
    return sign * n;
  }
  const n = Number(value);
  if (Number.isNaN(n)) throw new PyYamlError(`invalid float ${JSON.stringify(text)}`);
  return sign * n;
}

const TIMESTAMP_PARTS =
  /^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:(?:[Tt]|[ \t]+)([0-9]{1,2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]*))?(?:[ \t]*(Z|([-+])([0-9]{1,2})(?::([0-9]{2}))?))?)?$/;

/** SafeConstructor.construct_yaml_timestamp, including the ValueErrors `datetime(...)` and `timezone(...)` raise. */
function constructTimestamp(text: string): PyTimestamp {
  const m = TIMESTAMP_PARTS.exec(text);
  if (!m) throw new PyYamlError(`invalid timestamp ${JSON.stringify(text)}`);
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (!validDate(year, month, day)) throw new PyYamlError(`invalid date in timestamp ${JSON.stringify(text)}`);
  if (m[4] === undefined) return new PyTimestamp(text, year, month, day);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  if (hour > 23 || minute > 59 || second > 59) throw new PyYamlError(`invalid time in timestamp ${JSON.stringify(text)}`);
  const microsecond = m[7] ? Number(m[7].slice(0, 6).padEnd(6, '0')) : 0;
  let offsetMinutes: number | undefined;
  if (m[9] !== undefined) {
    offsetMinutes = (Number(m[10]) * 60 + Number(m[11] ?? 0)) * (m[9] === '-' ? -1 : 1);
    if (Math.abs(offsetMinutes) >= 24 * 60) throw new PyYamlError(`invalid UTC offset in timestamp ${JSON.stringify(text)}`);
  } else if (m[8] === 'Z') offsetMinutes = 0;
  return new PyTimestamp(text, year, month, day, { hour, minute, second, microsecond, offsetMinutes });
}

export function validDate(year: number, month: number, day: number): boolean {
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] as number;
  return day <= days;
}
