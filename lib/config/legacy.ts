import * as path from 'node:path';
import type { Document, LineCounter } from 'yaml';
import { ConfigError, issuesToProblems } from './errors';
import { validateLegacyJobs, type LegacyJobsFile } from './schema';
import type { AutoApprovalObject } from './types';
import { yamlLib } from './deps';
import { deleteIn, getIn, getNode, setIn } from './yamldoc';

/**
 * The README's legacy `approve.jobs` block (reference §4.4):
 *
 *   approve:
 *     jobs:
 *       enabled: true
 *       peers:
 *         alice@uni.edu: {mode: strict, scripts: [{name: main.py, hash: sha256:…}]}
 *
 * The Python syft-bg ignores it (and deletes it on its next full save). We convert each peer into an auto-approval
 * object `legacy_<sanitised email>` that only that peer can use, with the scripts as `file_contents` (strict mode =
 * exactly these files, which is how objects match anyway). Their stored copies do not exist yet, so they match no
 * job until the user stores the files. A disabled block (`enabled: false`) is left alone: converting it would turn
 * on approvals the user had switched off. Peers without scripts are skipped: an object without files would approve
 * that peer's empty jobs.
 */

export interface LegacyConversion {
  /** New objects, in the order of the peers. */
  objects: Record<string, AutoApprovalObject>;
  /** Number of peers in the block. */
  peerCount: number;
  /** Peers without scripts (not converted). */
  skipped: string[];
  /** Objects that were already present with the same files and peers (converted earlier). */
  alreadyPresent: string[];
  /** `enabled: false`: nothing converted, block kept. */
  disabled: boolean;
}

/** `alice.smith@Uni.edu` → `alice_smith_uni_edu`. */
export function sanitiseEmail(email: string): string {
  const s = email.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return s === '' ? 'peer' : s;
}

interface ObjectLike {
  file_contents?: unknown;
  peers?: unknown;
}

function fingerprint(o: ObjectLike | undefined): string {
  if (!o || typeof o !== 'object') return '?';
  const files = Array.isArray(o.file_contents)
    ? o.file_contents.map((e) => (e && typeof e === 'object' ? [(e as Record<string, unknown>).relative_path, (e as Record<string, unknown>).hash] : e))
    : o.file_contents;
  const peers = Array.isArray(o.peers) ? [...o.peers].map(String).sort() : o.peers;
  return JSON.stringify([files, peers]);
}

/** Pure: the objects a legacy block turns into, given the objects that already exist. */
export function convertLegacyJobs(jobs: LegacyJobsFile, existing: Readonly<Record<string, ObjectLike>>, autoApprovalsDir: string): LegacyConversion {
  const peers = Object.entries(jobs.peers);
  const out: LegacyConversion = { objects: {}, peerCount: peers.length, skipped: [], alreadyPresent: [], disabled: !jobs.enabled };
  if (!jobs.enabled) return out;
  for (const [email, entry] of peers) {
    const scripts = entry?.scripts ?? [];
    if (scripts.length === 0) {
      out.skipped.push(email);
      continue;
    }
    const base = `legacy_${sanitiseEmail(email)}`;
    const make = (name: string): AutoApprovalObject => ({
      file_contents: scripts.map((s) => ({ relative_path: s.name, path: path.join(autoApprovalsDir, name, s.name), hash: s.hash })),
      file_paths: [],
      peers: [email],
    });
    for (let i = 0; ; i++) {
      const name = i === 0 ? base : `${base}_${i}`;
      const obj = make(name);
      const taken = Object.prototype.hasOwnProperty.call(existing, name) ? existing[name] : out.objects[name];
      if (taken === undefined) {
        out.objects[name] = obj;
        break;
      }
      if (fingerprint(taken) === fingerprint(obj)) {
        out.alreadyPresent.push(name);
        break;
      }
    }
  }
  return out;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function skippedNote(c: LegacyConversion): string {
  return c.skipped.length ? `; skipped ${c.skipped.join(', ')} (no scripts)` : '';
}

/** One line for `LoadedConfig.legacy.message`. */
export function legacyLoadMessage(c: LegacyConversion, file: string): string {
  const names = Object.keys(c.objects);
  if (c.disabled) {
    return `Legacy approve.jobs in ${file} has enabled: false and is ignored (${plural(c.peerCount, 'peer')} not converted); remove it, or create auto-approval objects with 'syft-bg auto-approve'.`;
  }
  if (names.length === 0) {
    return `Legacy approve.jobs in ${file} has nothing to convert${c.alreadyPresent.length ? ` (already converted: ${c.alreadyPresent.join(', ')})` : ''}${skippedNote(c)}; the next config change removes it.`;
  }
  return (
    `Legacy approve.jobs.peers in ${file} (${plural(names.length, 'peer')}) is read as auto-approval objects ${names.join(', ')}${skippedNote(c)}; ` +
    `the next config change writes them into approve.auto_approvals.objects, and they match no job until their files are stored with 'syft-bg auto-approve'.`
  );
}

/** One line for `updateConfig`'s notices after the block was migrated. */
export function legacyMigrationNotice(c: LegacyConversion, file: string): string {
  const names = Object.keys(c.objects);
  if (names.length === 0) {
    return `Removed legacy approve.jobs from ${file}: nothing to convert${c.alreadyPresent.length ? ` (already converted: ${c.alreadyPresent.join(', ')})` : ''}${skippedNote(c)}.`;
  }
  return (
    `Migrated legacy approve.jobs.peers (${plural(names.length, 'peer')}) into auto-approval objects ${names.join(', ')} in ${file}${skippedNote(c)}; ` +
    `add their files with 'syft-bg auto-approve' to store copies.`
  );
}

/**
 * Migrate the block inside a document being edited: add the objects to `approve.auto_approvals.objects` (after the
 * existing ones) and remove `approve.jobs`. Returns the notices. A malformed block is a `ConfigError` pointing into
 * the file; a disabled one is left untouched.
 */
export function migrateLegacyDocument(doc: Document, lc: LineCounter | undefined, file: string, autoApprovalsDir: string): string[] {
  const block = getIn(doc, ['approve', 'jobs']);
  if (block === undefined) return [];
  const v = validateLegacyJobs(block ?? {});
  if (!v.ok) throw new ConfigError(file, issuesToProblems(v.issues, doc, lc, ['approve', 'jobs']));
  const existingRaw = getIn(doc, ['approve', 'auto_approvals', 'objects']);
  const existing = existingRaw && typeof existingRaw === 'object' && !Array.isArray(existingRaw) ? (existingRaw as Record<string, ObjectLike>) : {};
  const c = convertLegacyJobs(v.value, existing, autoApprovalsDir);
  if (c.disabled) return [];
  if (getIn(doc, ['approve', 'auto_approvals']) == null) {
    setIn(doc, ['approve', 'auto_approvals'], { enabled: true, objects: {} }, { after: ['jobs'] });
  }
  // A comment written above a peer moves to its object.
  const Y = yamlLib();
  const comments = new Map<string, string>();
  const peersNode = getNode(doc, ['approve', 'jobs', 'peers']);
  if (Y.isMap(peersNode)) {
    peersNode.items.forEach((p, i) => {
      // The library keeps a comment above the first entry on the mapping itself.
      const comment = Y.isScalar(p.key) ? (p.key.commentBefore ?? (i === 0 ? peersNode.commentBefore : undefined)) : undefined;
      if (comment && Y.isScalar(p.key)) comments.set(String(p.key.value), comment);
    });
  }
  for (const [name, obj] of Object.entries(c.objects)) {
    setIn(doc, ['approve', 'auto_approvals', 'objects', name], obj);
    const comment = comments.get(obj.peers[0] ?? '');
    const objectsNode = getNode(doc, ['approve', 'auto_approvals', 'objects']);
    if (comment && Y.isMap(objectsNode)) {
      const pair = objectsNode.items.find((p) => Y.isScalar(p.key) && p.key.value === name);
      if (pair && Y.isScalar(pair.key)) pair.key.commentBefore = comment;
    }
  }
  deleteIn(doc, ['approve', 'jobs']);
  return [legacyMigrationNotice(c, file)];
}
