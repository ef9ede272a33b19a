import { UserError, EXIT } from '../errors';
import type { ApprovalObject, ObjectChange } from '../approval';
import type { ConfigHome } from '../config/types';
import { resolveContext, type ApiOptions } from './context';

/**
 * Auto-approval objects (reference §2.10–§2.13) on top of lib/approval, which creates, edits and formats them
 * (with the reference's bugs fixed). Each call re-reads and edits config.yaml (comments and unknown keys kept).
 * A call that rewrites config.yaml also migrates a legacy `approve.jobs` block for good, once: its one-line notice
 * is in `notices` and is the first of `lines`, as `syft-bg init` prints it.
 */

type Approval = typeof import('../approval');
const approval = (): Approval => require('../approval') as Approval;

/** An auto-approval object as `list-auto-approvals --json` shows it. */
export interface AutoApprovalInfo {
  name: string;
  /** Files matched by content: `hash` is the `sha256:` of the approved text, `path` the stored copy. */
  file_contents: Array<{ relative_path: string; path: string; hash: string; binary?: true }>;
  /** Files allowed by name only. */
  file_paths: string[];
  /** Empty = any peer. */
  peers: string[];
  allowed_dependencies?: string[];
  run_sh_hashes?: string[];
  /** Why the object is refused as written in config.yaml (it approves nothing). */
  invalid?: string;
}

export function objectInfo(name: string, o: ApprovalObject): AutoApprovalInfo {
  return {
    name,
    file_contents: o.file_contents.map((e) => ({ relative_path: e.relative_path, path: e.path, hash: e.hash, ...(e.binary ? { binary: true as const } : {}) })),
    file_paths: o.file_paths,
    peers: o.peers,
    ...(o.allowed_dependencies ? { allowed_dependencies: o.allowed_dependencies } : {}),
    ...(o.run_sh_hashes ? { run_sh_hashes: o.run_sh_hashes } : {}),
    ...(o.invalid !== undefined ? { invalid: o.invalid } : {}),
  };
}

/** One line when `approve.auto_approvals.enabled` is false: objects then approve nothing. */
function disabledNote(enabled: boolean, configPath: string): string[] {
  return enabled ? [] : [`Note: auto-approval is disabled (approve.auto_approvals.enabled: false in ${configPath}): no job is auto-approved until it is enabled.`];
}

export interface AutoApprovalChange {
  name: string;
  /** False when an existing object was updated. */
  created: boolean;
  /** The object as saved. */
  object: AutoApprovalInfo;
  /** Content files of this call new to the object / with a new hash / with the same hash as before. */
  added: string[];
  replaced: string[];
  unchanged: string[];
  /** `approve.auto_approvals.enabled` in config.yaml (false: no object approves anything). */
  autoApprovalEnabled: boolean;
  /** One line each about the rewrite of config.yaml itself (a legacy `approve.jobs` block migrated); also in `lines`. */
  notices: string[];
  /** What `syft-bg auto-approve` prints. */
  lines: string[];
}

/** The change as the CLI reports it; `before` is the object before the call. */
function changeResult(home: ConfigHome, c: ObjectChange, before: ApprovalObject | undefined): AutoApprovalChange {
  const a = approval();
  const name = a.display(c.name);
  const hashOf = (o: ApprovalObject | undefined, rel: string) => o?.file_contents.find((e) => e.relative_path === rel)?.hash;
  const unchanged = c.created ? [] : c.replaced.filter((r) => hashOf(before, r) !== undefined && hashOf(before, r) === hashOf(c.object, r));
  const replaced = c.replaced.filter((r) => !unchanged.includes(r));
  let summary: string;
  if (c.created) summary = `Created auto-approval object '${name}'.`;
  else {
    const parts: string[] = [];
    if (c.added.length) parts.push(`added ${c.added.map(a.display).join(', ')}`);
    if (replaced.length) parts.push(`replaced ${replaced.map(a.display).join(', ')}`);
    if (unchanged.length) parts.push(`unchanged ${unchanged.map(a.display).join(', ')}`);
    summary = `Updated auto-approval object '${name}'${parts.length ? ` (${parts.join('; ')})` : ''}.`;
  }
  const { enabled } = a.loadApprovalObjects(home);
  return {
    name: c.name,
    created: c.created,
    object: objectInfo(c.name, c.object),
    added: c.added,
    replaced,
    unchanged,
    autoApprovalEnabled: enabled,
    notices: c.notices,
    lines: [...c.notices, ...c.lines, summary, ...disabledNote(enabled, home.config)],
  };
}

const nonEmpty = <T>(xs: readonly T[] | undefined): xs is readonly T[] => xs !== undefined && xs.length > 0;

export interface AutoApproveOptions extends ApiOptions {
  /** Files or directories approved by content (`CONTENTS…`); relative to `baseDir`, else to `cwd`. */
  contents?: readonly string[];
  /** Relative paths allowed by name only, content not checked (`-f`), e.g. params.json. */
  filePaths?: readonly string[];
  /** Peers whose jobs the object approves (`-p`). None: any peer on a new object, unchanged on an update. */
  peers?: readonly string[];
  /** The object (`-n`); an existing object is updated. Default: the file stem or auto_approval. */
  name?: string;
  /** Resolve `contents` against this folder; relative paths are then the paths below it (`-b`). */
  baseDir?: string;
  /** Dependencies of the job's config.yaml to accept besides syft-client (`--allow-dependency`; `*` = any). */
  allowedDependencies?: readonly string[];
}

/** `syft-bg auto-approve CONTENTS… [-f FILE]… [-p PEER]… [-n NAME] [-b DIR]`: create or update an object. */
export function autoApprove(opts: AutoApproveOptions): AutoApprovalChange {
  const { home, cwd } = resolveContext(opts);
  const a = approval();
  const before = a.loadApprovalObjects(home).objects;
  const contents = opts.contents ?? [];
  const filePaths = opts.filePaths ?? [];
  if (contents.length === 0 && filePaths.length === 0) {
    throw new UserError("missing argument 'CONTENTS...': the files or directories to approve by content (or -f FILE for name-only files, or --from-job JOB)", EXIT.usage);
  }
  const change = a.autoApprove(home, {
    contents,
    filePaths,
    ...(nonEmpty(opts.peers) ? { peers: opts.peers } : {}),
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    ...(opts.baseDir !== undefined ? { baseDir: opts.baseDir } : {}),
    ...(nonEmpty(opts.allowedDependencies) ? { allowedDependencies: opts.allowedDependencies } : {}),
    cwd,
  });
  return changeResult(home, change, before.get(change.name));
}

export interface AutoApproveJobOptions extends ApiOptions {
  /** Only these job files (relative to code/) by content (`--only`); default: all of them but the name-only ones. */
  contents?: readonly string[];
  /** These job files by name only (`--by-name`); default: params.json. */
  filePaths?: readonly string[];
  /** Default: the job's submitter. */
  peers?: readonly string[];
  /** Default: the job name (`_1`, `_2`… when taken). An existing object named explicitly is updated. */
  name?: string;
}

/**
 * `syft-bg auto-approve --from-job JOB`: an object that approves jobs like this one. `job` is its folder
 * (`…/app_data/job/inbox/<submitter>/<job>`, relative to `cwd`) or `<submitter>/<job>` in the data owner's datasite.
 */
export function autoApproveJob(job: string, opts: AutoApproveJobOptions = {}): AutoApprovalChange {
  const { home, cwd } = resolveContext(opts);
  const a = approval();
  const before = a.loadApprovalObjects(home).objects;
  const { resolveJob } = require('./jobs') as typeof import('./jobs');
  const r = resolveJob(job, home, cwd);
  const change = a.autoApproveJob(
    home,
    { name: r.name, submitter: r.submitter, codeDir: r.job.paths.codeDir },
    {
      ...(nonEmpty(opts.contents) ? { contents: opts.contents } : {}),
      ...(nonEmpty(opts.filePaths) ? { filePaths: opts.filePaths } : {}),
      ...(nonEmpty(opts.peers) ? { peers: opts.peers } : {}),
      ...(opts.name !== undefined ? { name: opts.name } : {}),
    },
  );
  return changeResult(home, change, before.get(change.name));
}

export interface AutoApprovalList {
  /** config.yaml */
  config: string;
  /** `approve.auto_approvals.enabled`. */
  enabled: boolean;
  /** In config.yaml order. */
  objects: AutoApprovalInfo[];
  /** What `syft-bg list-auto-approvals` prints. */
  lines: string[];
}

/** `syft-bg list-auto-approvals [-n NAME]`. An unknown `name` is an error. */
export function listAutoApprovals(opts: ApiOptions & { name?: string } = {}): AutoApprovalList {
  const { home } = resolveContext(opts);
  const a = approval();
  const r = a.listAutoApprovals(home, opts.name !== undefined ? { name: opts.name } : {});
  const { enabled } = a.loadApprovalObjects(home);
  return {
    config: home.config,
    enabled,
    objects: [...r.objects].map(([n, o]) => objectInfo(n, o)),
    lines: [...disabledNote(enabled, home.config), ...r.lines],
  };
}

export interface RemoveAutoApprovalOptions extends ApiOptions {
  /** Relative paths to remove from the object (content or name-only entries). */
  files?: readonly string[];
  /** Remove the whole object and its stored copies (not together with `files`). */
  all?: boolean;
}

export interface RemoveAutoApprovalResult {
  name: string;
  /** The whole object was removed (`all`). */
  objectRemoved: boolean;
  /** Entries removed. */
  removed: string[];
  /** Files named that were not in the object. */
  notFound: string[];
  /** One line each about the rewrite of config.yaml itself (a legacy `approve.jobs` block migrated); also in `lines`. */
  notices: string[];
  /** What `syft-bg remove-auto-approval` prints. */
  lines: string[];
}

/** `syft-bg remove-auto-approval FILES… -n NAME` and `remove-auto-approval -n NAME --all`. */
export function removeAutoApproval(name: string, opts: RemoveAutoApprovalOptions = {}): RemoveAutoApprovalResult {
  const { home } = resolveContext(opts);
  const a = approval();
  const shown = a.display(name);
  const files = opts.files ?? [];
  if (opts.all) {
    if (files.length) throw new UserError(`--all removes the whole object '${shown}'; do not name files with it`, EXIT.usage);
    // The reference's CLI message for an unknown object (lib/approval's lacks "in config.").
    if (!a.loadApprovalObjects(home).objects.has(name)) throw new UserError(`Auto-approval object '${shown}' not found in config.`, 1);
    const r = a.removeObject(home, name, { deleteStoredCopies: true });
    return { name, objectRemoved: true, removed: [], notFound: [], notices: r.notices, lines: [...r.notices, ...r.lines] };
  }
  if (files.length === 0) throw new UserError(`missing argument 'FILES...': the relative paths to remove from '${shown}' (or --all to remove the object)`, EXIT.usage);
  const r = a.removeFiles(home, name, files, { deleteStoredCopies: true });
  const removed = new Set(r.removed);
  const notFound = files.filter((f) => !removed.has(a.normaliseRelPath(f) ?? f));
  return {
    name,
    objectRemoved: false,
    removed: r.removed,
    notFound,
    notices: r.notices,
    lines: [
      ...r.notices,
      `Removed ${r.removed.length} file(s) from '${shown}'.`,
      ...(notFound.length ? [`Not in '${shown}': ${notFound.map(a.display).join(', ')}`] : []),
      // lib/approval's own lines, minus its count line (the reference said "script(s)"; these are any files).
      ...r.lines.filter((l) => !/^Removed \d+ script\(s\) from /.test(l)),
    ],
  };
}

export interface RemovePeerOptions extends ApiOptions {
  /** Only this object (`-n`); default: all. */
  name?: string;
  /** Allow removing the last peer of an object, which then approves jobs from ANY peer (`--allow-any-peer`). */
  allowAnyPeer?: boolean;
}

export interface RemovePeerResult {
  peer: string;
  /** Objects the peer was removed from. */
  changed: string[];
  /** Of those, the ones left without peers (they now approve jobs from any peer). */
  widened: string[];
  /** One line each about the rewrite of config.yaml itself (a legacy `approve.jobs` block migrated); also in `lines`. */
  notices: string[];
  /** What `syft-bg remove-peer` prints. */
  lines: string[];
}

/** `syft-bg remove-peer PEER [-n NAME] [--allow-any-peer]`. */
export function removePeer(peer: string, opts: RemovePeerOptions = {}): RemovePeerResult {
  const { home } = resolveContext(opts);
  const a = approval();
  if (!opts.allowAnyPeer) {
    // Say how to override the refusal (lib/approval refuses too, without naming the CLI flag).
    const { objects } = a.loadApprovalObjects(home);
    const targets = opts.name !== undefined ? (objects.has(opts.name) ? [opts.name] : []) : [...objects.keys()];
    const widened = targets.filter((n) => {
      const peers = objects.get(n)?.peers ?? [];
      return peers.includes(peer) && peers.every((p) => p === peer);
    });
    if (widened.length > 0) {
      const which = widened.map((n) => `'${a.display(n)}'`).join(', ');
      const first = a.display(widened[0] as string);
      throw new UserError(
        `Refusing to remove peer ${a.display(peer)}: it is the only peer of ${which}, and an auto-approval object without peers approves jobs from ANY peer.\n` +
          `  To stop approving for this peer, remove ${widened.length > 1 ? 'each object' : 'the object'}: syft-bg remove-auto-approval -n ${first} --all\n` +
          `  To hand it to another peer, add that peer first (syft-bg auto-approve <its files> -n ${first} -p NEW_PEER), then remove this one\n` +
          `  To really let ${widened.length > 1 ? 'them' : 'it'} match jobs from any peer: add --allow-any-peer`,
        1,
      );
    }
  }
  const r = a.removePeer(home, peer, { ...(opts.name !== undefined ? { name: opts.name } : {}), allowWidening: !!opts.allowAnyPeer });
  return { peer, changed: r.changed, widened: r.widened, notices: r.notices, lines: [...r.notices, ...r.lines] };
}
