import * as fs from 'node:fs';
import type { Document } from 'yaml';
import { isDeepStrictEqual } from 'node:util';
import { UserError } from '../errors';
import { readFileIfExists, writeFileAtomic } from '../fs/atomic';
import { pythonLayoutDocument } from './defaults';
import { ConfigError, describeFound, issuesToProblems, yamlErrorsToProblems } from './errors';
import { loadConfig } from './load';
import { migrateLegacyDocument } from './legacy';
import { validateConfig } from './schema';
import { spliceEdit } from './splice';
import type { ConfigHome } from './types';
import { blockifyFilled, detectStyle, emptyFlowCollections, parseYaml, PYTHON_STYLE, renderDocument, type DocStyle } from './yamldoc';

export { deleteIn, ensureMap, getIn, getNode, setIn, type KeyPath } from './yamldoc';

export interface UpdateResult {
  path: string;
  /** One line each, for the user (e.g. the legacy migration). */
  notices: string[];
  /** False when the edit left the file as it was (nothing written). */
  changed: boolean;
}

interface Identity {
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

function identity(file: string): Identity | null {
  try {
    const st = fs.statSync(file, { bigint: true });
    return { ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
  } catch {
    return null;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A file found empty may be mid-write by the Python syft-bg (truncate, then write): look again briefly. */
function readSettled(file: string): string | undefined {
  let text = readFileIfExists(file);
  for (let i = 0; i < 5 && text !== undefined && text.trim() === ''; i++) {
    sleepSync(40);
    text = readFileIfExists(file);
  }
  return text;
}

function sameData(text: string, expected: unknown): boolean {
  const { doc } = parseYaml(text);
  if (doc.errors.length > 0) return false;
  try {
    return isDeepStrictEqual(doc.toJS({ maxAliasCount: 1000 }), expected);
  } catch {
    return false;
  }
}

/**
 * Edit `<home>/config.yaml` keeping its comments, blank lines, key order and unknown keys: the file is read as a
 * YAML document (the Python `init` layout when missing or empty), a legacy `approve.jobs` block is migrated, `mutate`
 * edits the document, the result is validated (an invalid result is refused with a `ConfigError` and nothing is
 * written) and written atomically with the file's mode kept. Lines the edit does not touch stay byte-for-byte.
 *
 * `mutate` may run more than once: if config.yaml changes while we edit it, the edit is redone on the new content.
 */
export function updateConfig(home: ConfigHome, mutate: (doc: Document) => void): UpdateResult {
  const file = home.config;
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = identity(file);
    let text: string | undefined;
    try {
      text = readSettled(file);
    } catch (e) {
      throw new ConfigError(file, [{ path: [], message: `cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` }]);
    }
    const hasText = text !== undefined && text.trim() !== '';

    let doc: Document;
    let lc: ReturnType<typeof parseYaml>['lineCounter'] | undefined;
    let style: DocStyle = PYTHON_STYLE;
    let unedited: string | undefined;
    if (hasText) {
      const parsed = parseYaml(text as string);
      doc = parsed.doc;
      lc = parsed.lineCounter;
      if (doc.errors.length > 0) throw new ConfigError(file, yamlErrorsToProblems(doc.errors, doc), `Cannot update ${file}; fix it first:`);
      const root = doc.contents;
      const rootValue = root === null ? null : doc.toJS({ maxAliasCount: 1000 });
      if (rootValue !== null && rootValue !== undefined && (typeof rootValue !== 'object' || Array.isArray(rootValue))) {
        const pos = root?.range ? lc.linePos(root.range[0]) : undefined;
        throw new ConfigError(
          file,
          [{ path: [], message: `expected a mapping (key: value pairs) at the top level, found ${describeFound(rootValue)}`, ...(pos ?? {}) }],
          `Cannot update ${file}; fix it first:`,
        );
      }
      style = detectStyle(doc, lc);
      unedited = renderDocument(doc, style);
    } else {
      doc = pythonLayoutDocument(home.dir);
    }

    const flows = emptyFlowCollections(doc);
    const notices = migrateLegacyDocument(doc, lc, file, home.autoApprovals);
    mutate(doc);
    blockifyFilled(flows);

    const data: unknown = doc.toJS({ maxAliasCount: 1000 }) ?? {};
    const v = validateConfig(data);
    if (!v.ok) throw new ConfigError(file, issuesToProblems(v.issues, doc, lc), `Refusing to write ${file}: the result would be invalid:`);

    const rendered = renderDocument(doc, style);
    let out = rendered;
    if (hasText && unedited !== undefined) {
      for (const keepCommentColumns of [true, false]) {
        const spliced = spliceEdit(text as string, unedited, rendered, { keepCommentColumns });
        if (spliced !== undefined && sameData(spliced, data)) {
          out = spliced;
          break;
        }
      }
    }
    if (out === text) return { path: file, notices, changed: false };

    if (!isDeepStrictEqual(before, identity(file))) continue; // changed under us: redo on the new content
    writeFileAtomic(file, out);
    // Refresh the validated cache now (yaml and zod are loaded here anyway), so the running services pick up the
    // edit through `loadConfigCached` without loading them.
    try {
      loadConfig(home);
    } catch {
      // the file changed again under us, or cannot be read back: the next reader validates it
    }
    return { path: file, notices, changed: true };
  }
  throw new UserError(`${file} kept changing while it was being updated; try again.`, 1);
}
