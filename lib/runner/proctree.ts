/**
 * Killing a job's whole process tree.
 *
 * The job is spawned as the leader of its own process group (`detached`), so one `kill(-pgid)` reaches everything
 * it forks that stays in the group. A process that leaves the group (`setsid`, `setpgid`) is still found, while
 * its parent lives, by walking the parent links in `/proc` (Linux); syft-job's psutil `children(recursive=True)`
 * walk sees the same set. A process that both leaves the group and loses its parent (double fork + setsid)
 * escapes both, as it escapes Python; only a cgroup could hold it.
 *
 * Zombies count as gone (a container's PID 1 may never reap the orphans it inherits).
 */

import * as fs from 'node:fs';

interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  zombie: boolean;
}

const HAS_PROC = (() => {
  try {
    return fs.statSync('/proc/self/stat').isFile();
  } catch {
    return false;
  }
})();

/** `/proc/<pid>/stat` of every process (Linux), or undefined when /proc is not available. */
function readProcTable(): ProcInfo[] | undefined {
  if (!HAS_PROC) return undefined;
  const out: ProcInfo[] = [];
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const name of names) {
    if (!/^[0-9]+$/.test(name)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'latin1');
    } catch {
      continue; // exited meanwhile
    }
    // `pid (comm) state ppid pgrp ...`; comm may contain spaces and parentheses, so cut at the last `)`.
    const close = stat.lastIndexOf(')');
    if (close < 0) continue;
    const fields = stat.slice(close + 2).split(' ');
    const state = fields[0];
    const ppid = Number(fields[1]);
    const pgrp = Number(fields[2]);
    if (state === undefined || !Number.isInteger(ppid) || !Number.isInteger(pgrp)) continue;
    out.push({ pid: Number(name), ppid, pgrp, zombie: state === 'Z' || state === 'X' });
  }
  return out;
}

/**
 * Live (non-zombie) processes that belong to the tree: members of process group `pgid`, the processes in `known`
 * that are still alive, and every descendant of any of those. Without /proc: the group alone, when `kill(-pgid, 0)`
 * says it exists (then `[pgid]` stands for "something is left").
 */
export function liveTree(pgid: number, known: ReadonlySet<number> = new Set()): number[] {
  const table = readProcTable();
  if (table === undefined) return groupExists(pgid) ? [pgid] : [];
  const children = new Map<number, number[]>();
  const live = new Map<number, ProcInfo>();
  for (const p of table) {
    const list = children.get(p.ppid);
    if (list) list.push(p.pid);
    else children.set(p.ppid, [p.pid]);
    live.set(p.pid, p);
  }
  const seen = new Set<number>();
  const todo: number[] = [];
  for (const p of table) if (p.pgrp === pgid || p.pid === pgid || known.has(p.pid)) todo.push(p.pid);
  while (todo.length > 0) {
    const pid = todo.pop() as number;
    if (seen.has(pid)) continue;
    seen.add(pid);
    for (const c of children.get(pid) ?? []) todo.push(c);
  }
  return [...seen].filter((pid) => {
    const p = live.get(pid);
    return p !== undefined && !p.zombie;
  });
}

function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // ESRCH: already gone. EPERM: not ours (a reused pid); leave it alone.
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * SIGTERM the group and every process of the tree, wait up to `graceMs` for them to go, then SIGKILL whatever is
 * left (found again, so processes forked during the grace are included). Resolves when nothing of the tree is
 * alive any more, or after a further `graceMs` if something refuses to die (D state).
 */
export async function killTree(pgid: number, graceMs: number): Promise<{ survivors: number[] }> {
  const known = new Set<number>(liveTree(pgid));
  const sendAll = (sig: NodeJS.Signals): void => {
    signal(-pgid, sig);
    for (const pid of liveTree(pgid, known)) {
      known.add(pid);
      signal(pid, sig);
    }
  };
  if (graceMs > 0) {
    sendAll('SIGTERM');
    const until = Date.now() + graceMs;
    while (Date.now() < until && liveTree(pgid, known).length > 0) await sleep(25);
  }
  sendAll('SIGKILL');
  const until = Date.now() + Math.max(graceMs, 1000);
  let left = liveTree(pgid, known);
  while (left.length > 0 && Date.now() < until) {
    await sleep(25);
    for (const pid of left) signal(pid, 'SIGKILL');
    left = liveTree(pgid, known);
  }
  return { survivors: left };
}
