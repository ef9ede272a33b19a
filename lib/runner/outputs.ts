/**
 * syft-job's `_move_outputs_to_review`: the contents of the job's `code/outputs/` go into
 * `review/<ds>/<job>/outputs/` (a file replaces one of the same name, a directory replaces the whole directory),
 * then `code/outputs/` is deleted. Files keep their mode and mtime (`shutil.copy2`/`copytree`).
 *
 * Differences, on purpose: entries are renamed when the run dir and the datasite share a filesystem (copied
 * otherwise); symbolic links are never followed out of the run dir. Python's `is_file()` + `copy2` copies the
 * target of any link (`outputs/x -> ~/.ssh/id_rsa` would publish the key once outputs are shared); here a link
 * to a regular file inside the run dir is copied as that file (what Python produces), any other link, FIFO,
 * socket or device is left out and reported.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';

const MAX_DEPTH = 64;

export interface MovedOutputs {
  /** Paths relative to outputs/, `/`-separated. */
  moved: string[];
  /** `<rel>: <why>` for everything left out. */
  skipped: string[];
}

function inside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

function copyFileNoFollow(src: string, dest: string, follow: boolean): void {
  const flags = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | (follow ? 0 : fs.constants.O_NOFOLLOW);
  const rfd = fs.openSync(src, flags);
  try {
    const st = fs.fstatSync(rfd);
    if (!st.isFile()) throw new Error('not a regular file');
    const wfd = fs.openSync(dest, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, st.mode & 0o777);
    try {
      const buf = Buffer.allocUnsafe(1024 * 1024);
      for (;;) {
        const n = fs.readSync(rfd, buf, 0, buf.length, null);
        if (n === 0) break;
        let off = 0;
        while (off < n) off += fs.writeSync(wfd, buf, off, n - off);
      }
      fs.fchmodSync(wfd, st.mode & 0o777);
      fs.futimesSync(wfd, st.atime, st.mtime);
    } finally {
      fs.closeSync(wfd);
    }
  } finally {
    fs.closeSync(rfd);
  }
}

function moveFile(src: string, dest: string): void {
  fs.rmSync(dest, { recursive: true, force: true });
  try {
    fs.renameSync(src, dest);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    copyFileNoFollow(src, dest, false);
  }
}

function moveTree(src: string, dest: string, runRoot: string, rel: string, depth: number, out: MovedOutputs): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(src, { withFileTypes: true });
  } catch (e) {
    out.skipped.push(`${rel || '.'}: cannot list (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    const s = path.join(src, e.name);
    const d = path.join(dest, e.name);
    try {
      const st = fs.lstatSync(s);
      if (st.isSymbolicLink()) {
        let real: string;
        try {
          real = fs.realpathSync(s);
        } catch {
          out.skipped.push(`${r}: dangling symbolic link`);
          continue;
        }
        const target = fs.statSync(real);
        if (!inside(runRoot, real)) out.skipped.push(`${r}: symbolic link to outside the run directory`);
        else if (!target.isFile()) out.skipped.push(`${r}: symbolic link to something other than a regular file`);
        else {
          fs.rmSync(d, { recursive: true, force: true });
          copyFileNoFollow(real, d, true);
          out.moved.push(r);
        }
      } else if (st.isDirectory()) {
        if (depth >= MAX_DEPTH) {
          out.skipped.push(`${r}: nested deeper than ${MAX_DEPTH} directories`);
          continue;
        }
        fs.rmSync(d, { recursive: true, force: true });
        fs.mkdirSync(d, { mode: st.mode & 0o777 });
        moveTree(s, d, runRoot, r, depth + 1, out);
        fs.utimesSync(d, st.atime, st.mtime);
      } else if (st.isFile()) {
        moveFile(s, d);
        out.moved.push(r);
      } else {
        out.skipped.push(`${r}: not a regular file`);
      }
    } catch (err) {
      out.skipped.push(`${r}: ${(err as Error).message}`);
    }
  }
}

/**
 * Move everything under `srcOutputs` (the run dir's `code/outputs`) into `destOutputs` (created if missing), then
 * delete `srcOutputs`. `runRoot` bounds which symbolic links may be followed. A missing `srcOutputs` moves
 * nothing (the job deleted it), as in Python.
 */
export function moveOutputs(srcOutputs: string, destOutputs: string, runRoot: string): MovedOutputs {
  const out: MovedOutputs = { moved: [], skipped: [] };
  const st = fs.lstatSync(srcOutputs, { throwIfNoEntry: false });
  if (st === undefined || !st.isDirectory()) return out;
  fs.mkdirSync(destOutputs, { recursive: true });
  const dst = fs.lstatSync(destOutputs);
  if (dst.isSymbolicLink() || !dst.isDirectory()) throw new Error(`${destOutputs} is not a directory`);
  moveTree(srcOutputs, destOutputs, fs.realpathSync(runRoot), '', 0, out);
  fs.rmSync(srcOutputs, { recursive: true, force: true });
  return out;
}
