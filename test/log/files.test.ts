import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  currentLogLink,
  logFiles,
  listLogFiles,
  pm2ErrorLog,
  serviceLogDir,
  tailFile,
  tailLines,
} from '../../lib/log/files';
import { cleanupTmp, tmpDir } from './helpers';

afterAll(cleanupTmp);

function svcDir(logsDir: string, service = 'notify'): string {
  const d = path.join(logsDir, service);
  fs.mkdirSync(d, { recursive: true });
  return d;
}

/** A tiny deterministic PRNG (mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('paths', () => {
  it('lays out <logs>/<service>/ with current.log and pm2-error.log', () => {
    expect(serviceLogDir('/h/logs', 'email_approve')).toBe('/h/logs/email_approve');
    expect(currentLogLink('/h/logs', 'notify')).toBe('/h/logs/notify/current.log');
    expect(pm2ErrorLog('/h/logs', 'notify')).toBe('/h/logs/notify/pm2-error.log');
  });
  it('rejects service names that would escape the folder', () => {
    for (const bad of ['', '..', '../x', 'a/b', 'a.b', '.hidden']) expect(() => serviceLogDir('/h/logs', bad)).toThrow(/invalid service name/);
  });
});

describe('logFiles', () => {
  it('lists the rotated files by number (numeric, not lexical), ignoring everything else', () => {
    const logs = tmpDir();
    const d = svcDir(logs);
    for (const n of ['notify.10.log', 'notify.2.log', 'notify.9.log', 'current.log', 'pm2-error.log', 'notify.log', 'notify.x.log', 'notify.3.log.gz', 'approve.11.log', 'notify.11.json']) {
      fs.writeFileSync(path.join(d, n), '');
    }
    expect(logFiles(logs, 'notify')).toEqual(['notify.2.log', 'notify.9.log', 'notify.10.log'].map((n) => path.join(d, n)));
    expect(listLogFiles(logs, 'notify').map((f) => f.number)).toEqual([2, 9, 10]);
  });
  it('is empty when the folder does not exist', () => {
    expect(logFiles(path.join(tmpDir(), 'nope'), 'notify')).toEqual([]);
  });
});

describe('tailLines', () => {
  it('takes the last lines across rotated files, oldest first', () => {
    const logs = tmpDir();
    const d = svcDir(logs);
    fs.writeFileSync(path.join(d, 'notify.3.log'), 'a1\na2\na3\n');
    fs.writeFileSync(path.join(d, 'notify.4.log'), 'b1\n');
    fs.writeFileSync(path.join(d, 'notify.5.log'), 'c1\nc2\n');
    fs.writeFileSync(path.join(d, 'pm2-error.log'), 'TRACE\n');
    expect(tailLines(logs, 'notify', 2)).toEqual(['c1', 'c2']);
    expect(tailLines(logs, 'notify', 4)).toEqual(['a3', 'b1', 'c1', 'c2']);
    expect(tailLines(logs, 'notify', 50)).toEqual(['a1', 'a2', 'a3', 'b1', 'c1', 'c2']);
    expect(tailLines(logs, 'notify', 0)).toEqual([]);
  });

  it('keeps a final line still being written, empty lines, and drops \\r', () => {
    const logs = tmpDir();
    const d = svcDir(logs);
    fs.writeFileSync(path.join(d, 'notify.1.log'), 'x\r\n\ny\npartial');
    expect(tailLines(logs, 'notify', 10)).toEqual(['x', '', 'y', 'partial']);
    expect(tailLines(logs, 'notify', 2)).toEqual(['y', 'partial']);
  });

  it('handles empty files and missing folders', () => {
    const logs = tmpDir();
    expect(tailLines(logs, 'notify', 5)).toEqual([]);
    fs.writeFileSync(path.join(svcDir(logs), 'notify.1.log'), '');
    expect(tailLines(logs, 'notify', 5)).toEqual([]);
  });

  it('matches a naive split on random files (long lines, chunk boundaries, UTF-8)', () => {
    const rand = rng(42);
    const alphabet = ['a', 'b', 'é', '日', '😀', ' ', '{', '"'];
    for (let round = 0; round < 40; round++) {
      const logs = tmpDir();
      const d = svcDir(logs);
      const files = 1 + Math.floor(rand() * 3);
      const all: string[] = [];
      for (let f = 1; f <= files; f++) {
        const lines: string[] = [];
        const count = Math.floor(rand() * 30);
        for (let i = 0; i < count; i++) {
          // Some lines are around the 64 KiB chunk size.
          const len = rand() < 0.1 ? 60_000 + Math.floor(rand() * 10_000) : Math.floor(rand() * 200);
          // Random short pieces, then stretched: fast to build, multi-byte characters land on chunk boundaries.
          let piece = '';
          for (let k = 0; k < 37; k++) piece += alphabet[Math.floor(rand() * alphabet.length)];
          lines.push([...piece.repeat(Math.ceil(len / 37))].slice(0, len).join('')); // whole code points
        }
        const text = lines.length ? lines.join('\n') + '\n' : '';
        fs.writeFileSync(path.join(d, `notify.${f}.log`), text);
        all.push(...lines);
      }
      for (const n of [1, 2, 7, 29, 100]) {
        expect(tailLines(logs, 'notify', n)).toEqual(all.slice(-n));
      }
    }
  });

  it('reads from the end: the last lines of a file with a 3 GB hole come back at once', () => {
    const logs = tmpDir();
    const file = path.join(svcDir(logs), 'notify.1.log');
    const fd = fs.openSync(file, 'w');
    fs.ftruncateSync(fd, 3 * 1024 ** 3); // sparse: reading it all would take seconds and overflow a Buffer
    const tail = Array.from({ length: 100 }, (_, i) => `{"n":${i}}`).join('\n') + '\n';
    fs.writeSync(fd, tail, 3 * 1024 ** 3);
    fs.closeSync(fd);
    const t0 = Date.now();
    expect(tailLines(logs, 'notify', 50)).toEqual(Array.from({ length: 50 }, (_, i) => `{"n":${i + 50}}`));
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});

describe('tailFile', () => {
  it('reads the last lines of one file (pm2-error.log), [] when missing', () => {
    const logs = tmpDir();
    const f = pm2ErrorLog(logs, 'notify');
    expect(tailFile(f, 5)).toEqual([]);
    svcDir(logs);
    fs.writeFileSync(f, 'Error: boom\n    at a\n    at b\n');
    expect(tailFile(f, 2)).toEqual(['    at a', '    at b']);
    expect(tailFile(f, 10)).toEqual(['Error: boom', '    at a', '    at b']);
  });
});
