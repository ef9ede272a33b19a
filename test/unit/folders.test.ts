import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../../lib/fs/atomic';

const ROOT = path.resolve(__dirname, '..', '..');

describe('writeFileAtomic reports the real reason a folder cannot be made', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'folders-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('under a regular file: ENOTDIR', () => {
    fs.writeFileSync(path.join(dir, 'f'), 'x');
    expect(() => writeFileAtomic(path.join(dir, 'f', 'a', 'state.json'), '{}')).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
  });

  it('on a read-only file system: EROFS, not the ENOENT of Node’s recursive mkdir', () => {
    // The compiled module in a child with a read-only tmpfs mounted on `dir`, in a private mount namespace (the
    // mount goes with the process).
    const script = `try { require(${JSON.stringify(path.join(ROOT, 'dist', 'lib', 'fs', 'atomic.js'))}).writeFileAtomic(${JSON.stringify(path.join(dir, 'a', 'b', 'state.json'))}, '{}'); console.log('written'); } catch (e) { console.log(e.code); }`;
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o ro syftbg-ro "$1" && shift && exec "$@"', 'sh', dir, process.execPath, '-e', script], { encoding: 'utf8', timeout: 30_000 });
    if (r.error) throw r.error;
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('EROFS');
  });
});
