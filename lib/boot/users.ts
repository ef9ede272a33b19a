import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface UserInfo {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

function parsePasswdLine(line: string): UserInfo | undefined {
  const f = line.split(':');
  if (f.length < 7) return undefined;
  const [name, , uid, gid, , home] = f;
  if (name === undefined || uid === undefined || gid === undefined || home === undefined) return undefined;
  const u = Number(uid);
  const g = Number(gid);
  if (!Number.isInteger(u) || !Number.isInteger(g)) return undefined;
  return { name, uid: u, gid: g, home };
}

/**
 * Look a user up by name or uid: `getent passwd` (so NSS users, LDAP etc. are found), else `/etc/passwd`.
 * Returns undefined when the user does not exist.
 */
export function lookupUser(key: string | number): UserInfo | undefined {
  const k = String(key);
  if (k === '' || k.includes(':') || k.includes('\n')) return undefined;
  const r = spawnSync('getent', ['passwd', k], { encoding: 'utf8', timeout: 10000 });
  if (!r.error) {
    if (r.status !== 0) return undefined; // 2 = not found
    const u = parsePasswdLine(r.stdout.split('\n')[0] ?? '');
    if (u) return u;
  }
  let passwd: string;
  try {
    passwd = fs.readFileSync('/etc/passwd', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of passwd.split('\n')) {
    const u = parsePasswdLine(line);
    if (u && (typeof key === 'number' ? u.uid === key : u.name === k)) return u;
  }
  return undefined;
}

/**
 * Make sure `dir` exists and belongs to the user, before a root process (`pm2 startup`) uses it as PM2_HOME:
 * missing folders (and parents) are created and given to uid:gid, and the skeleton every pm2 CLI run creates when
 * missing (logs/, pids/, modules/, module_conf.json, and `touch`, pm2's "used before" mark, without which it prints
 * its banner and calls version.pm2.io) is created as the user too. Returns the paths created.
 */
export function ensureUserPm2Home(dir: string, uid: number, gid: number): string[] {
  const created: string[] = [];
  const missing: string[] = [];
  for (let d = path.resolve(dir); !fs.existsSync(d); d = path.dirname(d)) {
    missing.unshift(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of missing) {
    fs.mkdirSync(d, { mode: 0o755 });
    fs.lchownSync(d, uid, gid);
    created.push(d);
  }
  for (const sub of ['logs', 'pids', 'modules']) {
    const p = path.join(dir, sub);
    if (!fs.existsSync(p)) {
      fs.mkdirSync(p, { mode: 0o755 });
      fs.lchownSync(p, uid, gid);
      created.push(p);
    }
  }
  for (const [name, content] of [
    ['module_conf.json', '{}'],
    ['touch', String(Date.now())],
  ] as const) {
    const p = path.join(dir, name);
    if (!fs.existsSync(p)) {
      fs.writeFileSync(p, content, { mode: 0o644, flag: 'wx' });
      fs.lchownSync(p, uid, gid);
      created.push(p);
    }
  }
  return created;
}

/**
 * Give back to the user whatever a root process created in their PM2 home (the classic root-owned `~/.pm2`):
 * the folder itself, its entries, and the entries of logs/, pids/, modules/ (one level). Only entries owned by root
 * are changed; symlinks are changed themselves, never followed. Returns the paths changed.
 */
export function chownRootOwned(dir: string, uid: number, gid: number): string[] {
  const changed: string[] = [];
  const fix = (p: string): fs.Stats | undefined => {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      return undefined;
    }
    if (st.uid === 0 && uid !== 0) {
      fs.lchownSync(p, uid, gid);
      changed.push(p);
    }
    return st;
  };
  const top = fix(dir);
  if (!top?.isDirectory()) return changed;
  for (const name of fs.readdirSync(dir)) {
    const p = path.join(dir, name);
    const st = fix(p);
    if (st?.isDirectory() && ['logs', 'pids', 'modules'].includes(name)) {
      for (const inner of fs.readdirSync(p)) fix(path.join(p, inner));
    }
  }
  return changed;
}
