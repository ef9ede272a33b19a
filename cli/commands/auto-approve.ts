import { UserError, EXIT } from '../../lib/errors';

/**
 * `auto-approve`, `list-auto-approvals`, `remove-auto-approval`, `remove-peer` over lib/api/approvals: this module
 * checks how the flags combine and prints what the API returns.
 */

type Api = typeof import('../../lib/api/approvals');
const api = (): Api => require('../../lib/api/approvals') as Api;

function print(lines: readonly string[]): void {
  for (const l of lines) process.stdout.write(l + '\n');
}

function usage(message: string): UserError {
  return new UserError(message, EXIT.usage);
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
  const common = { peers: o.peers, ...(o.name !== undefined ? { name: o.name } : {}), cwd };
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
    print(api().autoApproveJob(o.fromJob, { ...common, contents: o.only, filePaths: o.byName }).lines);
    return;
  }
  if (o.byName.length || o.only.length) throw usage(`${o.byName.length ? '--by-name' : '--only'} only goes with --from-job JOB`);
  print(
    api().autoApprove({
      ...common,
      contents,
      filePaths: o.filePaths,
      ...(o.baseDir !== undefined ? { baseDir: o.baseDir } : {}),
      allowedDependencies: o.allowDependency,
    }).lines,
  );
}

/** `syft-bg list-auto-approvals [-n NAME] [--json]`. */
export function list(o: { name?: string; json?: boolean }): void {
  const r = api().listAutoApprovals(o.name !== undefined ? { name: o.name } : {});
  if (o.json) process.stdout.write(JSON.stringify({ config: r.config, enabled: r.enabled, objects: r.objects }, null, 2) + '\n');
  else print(r.lines);
}

/** `syft-bg remove-auto-approval FILES... -n NAME` and `remove-auto-approval -n NAME --all`. */
export function removeAutoApproval(files: string[], o: { name: string; all?: boolean }): void {
  print(api().removeAutoApproval(o.name, { files, all: !!o.all }).lines);
}

/** `syft-bg remove-peer PEER [-n NAME] [--allow-any-peer]`. */
export function removePeer(peer: string, o: { name?: string; allowAnyPeer?: boolean }): void {
  print(api().removePeer(peer, { ...(o.name !== undefined ? { name: o.name } : {}), allowAnyPeer: !!o.allowAnyPeer }).lines);
}
