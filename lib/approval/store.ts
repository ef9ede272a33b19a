import { loadConfigCached } from '../config/cached';
import { getNode, parseYaml } from '../config/yamldoc';
import { yamlLib } from '../config/deps';
import type { ConfigHome, LoadedConfig } from '../config/types';
import { fullHash } from './hash';
import type { ApprovalFileEntry, ApprovalObject } from './types';

/** Reading auto-approval objects out of config.yaml, with the Node-only keys the config layer does not resolve. */

export const OBJECTS_PATH = ['approve', 'auto_approvals', 'objects'] as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function own(o: Record<string, unknown>, k: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
}

function stringList(v: unknown, key: string, problems: string[]): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    problems.push(`${key} must be a list of strings`);
    return undefined;
  }
  return [...(v as string[])];
}

/**
 * The Node-only keys of one object as written in config.yaml (`raw`): `binary` per file entry,
 * `allowed_dependencies`, `run_sh_hashes`. Malformed values make the object `invalid` (validation refuses it)
 * rather than silently allowing more or less.
 */
export function withExtras(resolved: ApprovalObject, raw: unknown): ApprovalObject {
  const problems: string[] = [];
  const out: ApprovalObject = {
    file_contents: resolved.file_contents.map((e) => ({ ...e })),
    file_paths: [...resolved.file_paths],
    peers: [...resolved.peers],
  };
  if (isRecord(raw)) {
    const rawEntries = own(raw, 'file_contents');
    if (Array.isArray(rawEntries)) {
      rawEntries.forEach((re, i) => {
        const b = isRecord(re) ? own(re, 'binary') : undefined;
        const entry = out.file_contents[i];
        if (b === undefined || b === null || entry === undefined) return;
        if (typeof b !== 'boolean') problems.push(`file_contents[${i}].binary must be true or false`);
        else if (b) entry.binary = true;
      });
    }
    const deps = stringList(own(raw, 'allowed_dependencies'), 'allowed_dependencies', problems);
    if (deps !== undefined) out.allowed_dependencies = deps;
    const hashes = stringList(own(raw, 'run_sh_hashes'), 'run_sh_hashes', problems);
    if (hashes !== undefined) {
      const bad = hashes.filter((h) => fullHash(h) === undefined);
      if (bad.length > 0) problems.push(`run_sh_hashes must be full "sha256:" + 64 hex digits (got ${JSON.stringify(bad[0])})`);
      out.run_sh_hashes = hashes;
    }
  }
  if (problems.length > 0) out.invalid = problems.join('; ');
  return out;
}

/** Object names in the order config.yaml lists them (integer-like names included), else the resolved order. */
function namesInFileOrder(loaded: LoadedConfig): string[] {
  const resolved = Object.keys(loaded.config.approve.auto_approvals.objects);
  // JavaScript keeps string keys in insertion (= file) order except integer-like ones, which it puts first: only
  // then is the file parsed again for its order (this spares the approve service loading yaml at all).
  if (!resolved.some((n) => /^(?:0|[1-9]\d*)$/.test(n))) return resolved;
  if (loaded.text === undefined || loaded.text.trim() === '') return resolved;
  const { doc } = parseYaml(loaded.text);
  const node = getNode(doc, OBJECTS_PATH);
  const Y = yamlLib();
  const inFile = Y.isMap(node) ? node.items.map((p) => (Y.isScalar(p.key) ? String(p.key.value) : String(p.key))) : [];
  const set = new Set(resolved);
  const ordered = inFile.filter((n) => set.has(n));
  const seen = new Set(ordered);
  return [...ordered, ...resolved.filter((n) => !seen.has(n))];
}

export interface LoadedApprovals {
  /** `approve.auto_approvals.enabled`. */
  enabled: boolean;
  /** In config.yaml order; legacy `approve.jobs` conversions last. */
  objects: Map<string, ApprovalObject>;
  loaded: LoadedConfig;
}

/** Pure: the objects of an already loaded config. */
export function approvalsFromLoaded(loaded: LoadedConfig): LoadedApprovals {
  const resolved = loaded.config.approve.auto_approvals.objects;
  const approve = isRecord(loaded.raw) ? own(loaded.raw, 'approve') : undefined;
  const autoApprovals = isRecord(approve) ? own(approve, 'auto_approvals') : undefined;
  const rawObjects = isRecord(autoApprovals) ? own(autoApprovals, 'objects') : undefined;
  const objects = new Map<string, ApprovalObject>();
  for (const name of namesInFileOrder(loaded)) {
    const r = Object.prototype.hasOwnProperty.call(resolved, name) ? resolved[name] : undefined;
    if (r === undefined) continue;
    objects.set(name, withExtras(r, isRecord(rawObjects) ? own(rawObjects, name) : undefined));
  }
  return { enabled: loaded.config.approve.auto_approvals.enabled, objects, loaded };
}

/**
 * Read `<home>/config.yaml` (re-read on every call: the approve service picks up edits without a restart). Through
 * the validated cache (`loadConfigCached`: same file identity and text, same validator code), so an unchanged file
 * costs no yaml or zod.
 */
export function loadApprovalObjects(home: ConfigHome): LoadedApprovals {
  return approvalsFromLoaded(loadConfigCached(home));
}

/** An object as plain YAML data, keys in the Python order; entries keep keys we do not know. */
export function objectToData(o: ApprovalObject): Record<string, unknown> {
  const out: Record<string, unknown> = {
    file_contents: o.file_contents.map(entryToData),
    file_paths: [...o.file_paths],
    peers: [...o.peers],
  };
  if (o.allowed_dependencies && o.allowed_dependencies.length > 0) out.allowed_dependencies = [...o.allowed_dependencies];
  if (o.run_sh_hashes && o.run_sh_hashes.length > 0) out.run_sh_hashes = [...o.run_sh_hashes];
  return out;
}

export function entryToData(e: ApprovalFileEntry): Record<string, unknown> {
  const { relative_path, path, hash, binary, ...rest } = e as ApprovalFileEntry & Record<string, unknown>;
  const out: Record<string, unknown> = { relative_path, path, hash };
  if (binary === true) out.binary = true;
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) out[k] = v;
  return out;
}

/**
 * Lenient view of an object's YAML data (inside an edit, before validation): entries are kept as they are
 * (unknown keys included), non-lists read as empty.
 */
export function objectFromData(data: unknown): ApprovalObject {
  const o = isRecord(data) ? data : {};
  const list = (k: string) => {
    const v = own(o, k);
    return Array.isArray(v) ? v : [];
  };
  const strings = (k: string) => list(k).filter((x): x is string => typeof x === 'string');
  const out: ApprovalObject = {
    file_contents: list('file_contents').filter(isRecord).map((e) => ({ ...e }) as unknown as ApprovalFileEntry),
    file_paths: strings('file_paths'),
    peers: strings('peers'),
  };
  if (Array.isArray(own(o, 'allowed_dependencies'))) out.allowed_dependencies = strings('allowed_dependencies');
  if (Array.isArray(own(o, 'run_sh_hashes'))) out.run_sh_hashes = strings('run_sh_hashes');
  return out;
}
