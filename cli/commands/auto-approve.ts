import { currentHome } from '../../lib/home';
import { UserError, EXIT } from '../../lib/errors';
import type { ApprovalObject, ObjectChange } from '../../lib/approval';

/**
 * `auto-approve`, `list-auto-approvals`, `remove-auto-approval`, `remove-peer` (reference §2.10–§2.13) on top of
 * lib/approval, which creates, edits and formats the objects (with the reference's bugs fixed). This module only
 * checks the command line, adds the lines the reference lacked (created/updated, disabled auto-approval) and
 * prints.
 */

type Approval = typeof import('../../lib/approval');
const approval = (): Approval => require('../../lib/approval') as Approval;

function print(lines: readonly string[]): void {
  for (const l of lines) process.stdout.write(l + '\n');
}

function usage(message: string): UserError {
  return new UserError(message, EXIT.usage);
}

/** One line when `approve.auto_approvals.enabled` is false: objects then approve nothing. */
function disabledNote(enabled: boolean, configPath: string): string[] {
  return enabled ? [] : [`Note: auto-approval is disabled (approve.auto_approvals.enabled: false in ${configPath}): no job is auto-approved until it is enabled.`];
}

/** `Created …` / `Updated … (added …; replaced …; unchanged …)`; `before` is the object before the call. */
function changeSummary(c: ObjectChange, before: ApprovalObject | undefined): string {
  const { display } = approval();
  const name = display(c.name);
  if (c.created) return `Created auto-approval object '${name}'.`;
  const hashOf = (o: ApprovalObject | undefined, rel: string) => o?.file_contents.find((e) => e.relative_path === rel)?.hash;
  const same = c.replaced.filter((r) => hashOf(before, r) !== undefined && hashOf(before, r) === hashOf(c.object, r));
  const replaced = c.replaced.filter((r) => !same.includes(r));
  const parts: string[] = [];
  if (c.added.length) parts.push(`added ${c.added.map(display).join(', ')}`);
  if (replaced.length) parts.push(`replaced ${replaced.map(display).join(', ')}`);
  if (same.length) parts.push(`unchanged ${same.map(display).join(', ')}`);
  return `Updated auto-approval object '${name}'${parts.length ? ` (${parts.join('; ')})` : ''}.`;
}

export interface AutoApproveCliOptions {
  peers: string[];
  name?: string;
  filePaths: string[];
  baseDir?: string;
  allowDependency: string[];
  fromJob?: string;
  byName: string[];
  only: string[];
}

/** `syft-bg auto-approve CONTENTS... [-p PEER]... [-n NAME] [-f FILE]... [-b DIR] [--allow-dependency DEP]...` and `--from-job JOB`. */
export function autoApprove(contents: string[], o: AutoApproveCliOptions, cwd = process.cwd()): void {
  const home = currentHome();
  const a = approval();
  const objectsBefore = a.loadApprovalObjects(home).objects;
  let change: ObjectChange;
  if (o.fromJob !== undefined) {
    const extra = [
      contents.length ? 'CONTENTS' : undefined,
      o.filePaths.length ? '-f/--file-paths' : undefined,
      o.baseDir !== undefined ? '-b/--base-dir' : undefined,
      o.allowDependency.length ? '--allow-dependency' : undefined,
    ].filter((x): x is string => x !== undefined);
    if (extra.length) {
      throw usage(
        `--from-job takes the files and dependencies from the job; it cannot be combined with ${extra.join(', ')} (choose the job's files with --only FILE and --by-name FILE)`,
      );
    }
    const { resolveJob } = require('./approval-jobs') as typeof import('./approval-jobs');
    const r = resolveJob(o.fromJob, home, cwd);
    change = a.autoApproveJob(
      home,
      { name: r.name, submitter: r.submitter, codeDir: r.job.paths.codeDir },
      {
        ...(o.only.length ? { contents: o.only } : {}),
        ...(o.byName.length ? { filePaths: o.byName } : {}),
        ...(o.peers.length ? { peers: o.peers } : {}),
        ...(o.name !== undefined ? { name: o.name } : {}),
      },
    );
  } else {
    if (o.byName.length || o.only.length) throw usage(`${o.byName.length ? '--by-name' : '--only'} only goes with --from-job JOB`);
    if (contents.length === 0 && o.filePaths.length === 0) {
      throw usage("missing argument 'CONTENTS...': the files or directories to approve by content (or -f FILE for name-only files, or --from-job JOB)");
    }
    change = a.autoApprove(home, {
      contents,
      filePaths: o.filePaths,
      ...(o.peers.length ? { peers: o.peers } : {}),
      ...(o.name !== undefined ? { name: o.name } : {}),
      ...(o.baseDir !== undefined ? { baseDir: o.baseDir } : {}),
      ...(o.allowDependency.length ? { allowedDependencies: o.allowDependency } : {}),
      cwd,
    });
  }
  const { enabled } = a.loadApprovalObjects(home);
  print([...change.lines, changeSummary(change, objectsBefore.get(change.name)), ...disabledNote(enabled, home.config)]);
}

function objectJson(name: string, o: ApprovalObject): Record<string, unknown> {
  return {
    name,
    file_contents: o.file_contents.map((e) => ({ relative_path: e.relative_path, path: e.path, hash: e.hash, ...(e.binary ? { binary: true } : {}) })),
    file_paths: o.file_paths,
    peers: o.peers,
    ...(o.allowed_dependencies ? { allowed_dependencies: o.allowed_dependencies } : {}),
    ...(o.run_sh_hashes ? { run_sh_hashes: o.run_sh_hashes } : {}),
    ...(o.invalid !== undefined ? { invalid: o.invalid } : {}),
  };
}

/** `syft-bg list-auto-approvals [-n NAME] [--json]`. */
export function list(o: { name?: string; json?: boolean }): void {
  const home = currentHome();
  const a = approval();
  const r = a.listAutoApprovals(home, o.name !== undefined ? { name: o.name } : {});
  const { enabled } = a.loadApprovalObjects(home);
  if (o.json) {
    const objects = [...r.objects].map(([n, obj]) => objectJson(n, obj));
    process.stdout.write(JSON.stringify({ config: home.config, enabled, objects }, null, 2) + '\n');
    return;
  }
  print([...disabledNote(enabled, home.config), ...r.lines]);
}

/** `syft-bg remove-auto-approval FILES... -n NAME` and `remove-auto-approval -n NAME --all`. */
export function removeAutoApproval(files: string[], o: { name: string; all?: boolean }): void {
  const home = currentHome();
  const a = approval();
  const name = a.display(o.name);
  if (o.all) {
    if (files.length) throw usage(`--all removes the whole object '${name}'; do not name files with it`);
    // The reference's CLI message for an unknown object (the API's lacks "in config.").
    if (!a.loadApprovalObjects(home).objects.has(o.name)) throw new UserError(`Auto-approval object '${name}' not found in config.`, 1);
    print(a.removeObject(home, o.name, { deleteStoredCopies: true }).lines);
    return;
  }
  if (files.length === 0) throw usage(`missing argument 'FILES...': the relative paths to remove from '${name}' (or --all to remove the object)`);
  const r = a.removeFiles(home, o.name, files, { deleteStoredCopies: true });
  const removed = new Set(r.removed);
  const absent = files.filter((f) => !removed.has(a.normaliseRelPath(f) ?? f));
  print([
    `Removed ${r.removed.length} file(s) from '${name}'.`,
    ...(absent.length ? [`Not in '${name}': ${absent.map(a.display).join(', ')}`] : []),
    // lib/approval's own lines, minus its count line (the reference said "script(s)"; these are any files).
    ...r.lines.filter((l) => !/^Removed \d+ script\(s\) from /.test(l)),
  ]);
}

/** `syft-bg remove-peer PEER [-n NAME] [--allow-any-peer]`. */
export function removePeer(peer: string, o: { name?: string; allowAnyPeer?: boolean }): void {
  const home = currentHome();
  const a = approval();
  if (!o.allowAnyPeer) {
    // Say which flag overrides the refusal (lib/approval refuses too, without naming the CLI flag).
    const { objects } = a.loadApprovalObjects(home);
    const targets = o.name !== undefined ? (objects.has(o.name) ? [o.name] : []) : [...objects.keys()];
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
  print(a.removePeer(home, peer, { ...(o.name !== undefined ? { name: o.name } : {}), allowWidening: !!o.allowAnyPeer }).lines);
}
