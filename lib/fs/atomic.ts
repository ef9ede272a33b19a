import * as fs from 'node:fs';
import * as path from 'node:path';
import { mkdirRecursive } from './folders';

let counter = 0;

/**
 * Write a file atomically: write a temp file in the same directory, fsync it, rename it over the target,
 * then fsync the directory. Readers see either the old or the new content, never a half-written file.
 * `mode` applies to the new file (default: keep the old file's mode, else 0o644).
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, opts: { mode?: number } = {}): void {
  const dir = path.dirname(file);
  mkdirRecursive(dir); // with the OS's reason on a read-only file system, not Node's ENOENT
  let mode = opts.mode;
  if (mode === undefined) {
    try {
      mode = fs.statSync(file).mode & 0o777;
    } catch {
      mode = 0o644;
    }
  }
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.${counter++}.tmp`);
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.writeFileSync(fd, data);
    fs.fchmodSync(fd, mode);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(dir);
}

/** Make a rename in `dir` durable; best effort (some filesystems, e.g. Google Drive FUSE on Colab, cannot). */
export function fsyncDir(dir: string): void {
  try {
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    // Some filesystems (e.g. Google Drive FUSE on Colab) do not support fsync on directories.
  }
}

/** Read a file, returning undefined when it does not exist. */
export function readFileIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
