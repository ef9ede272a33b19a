import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeSandbox, Sandbox, ROOT } from '../helpers/sandbox';

/**
 * `auto-approve --from-job JOB` (reference `auto_approve_job`, §5.3) on a copy of the golden datasite written by
 * the real syft-job. The original is never written: it is copied into the sandbox as the SyftBox root.
 */

const FIXTURE = [path.resolve(ROOT, '..', 'shared', 'fixtures', 'syftbox-do-example'), path.join(ROOT, 'test', 'fixtures', 'datasite', 'syftbox-do-example')].find((p) =>
  fs.existsSync(p),
);
const DO = 'do@example.com';
const DS = 'ds@example.org';
const sha = (b: string | Buffer) => 'sha256:' + crypto.createHash('sha256').update(b).digest('hex');

/** Every file under dir with its bytes' hash (to prove the original fixture is untouched). */
function treeDigest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else out[r] = sha(fs.readFileSync(path.join(dir, r)));
    }
  };
  walk('');
  return out;
}

/** A writable copy of the golden datasite (the originals are read-only) at `<dir>/box`. */
function copyFixture(dir: string): string {
  if (FIXTURE === undefined) throw new Error('golden datasite fixture not found (shared/fixtures/syftbox-do-example)');
  const box = path.join(dir, 'box');
  fs.cpSync(FIXTURE, box, { recursive: true });
  const walk = (p: string): void => {
    const st = fs.lstatSync(p);
    fs.chmodSync(p, st.isDirectory() ? 0o755 : 0o644);
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
  };
  walk(box);
  return box;
}

describe('auto-approve --from-job on the golden datasite (built binary)', () => {
  let sb: Sandbox;
  let box: string;
  let inbox: string;
  const original = FIXTURE ? treeDigest(FIXTURE) : {};
  const ok = (args: string[]) => {
    const r = sb.cli(args);
    if (r.code !== 0) throw new Error(`syft-bg ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const objects = () =>
    (JSON.parse(ok(['list-auto-approvals', '--json'])) as { objects: Array<{ name: string; file_contents: Array<{ relative_path: string; path: string; hash: string }>; file_paths: string[]; peers: string[] }> }).objects;

  beforeEach(() => {
    sb = makeSandbox('fj');
    box = copyFixture(sb.dir);
    inbox = path.join(box, DO, 'app_data', 'job', 'inbox', DS);
    ok(['init', '-e', DO, '-r', box]);
  });
  afterEach(() => sb.cleanup());
  afterAll(() => {
    if (FIXTURE) expect(treeDigest(FIXTURE)).toEqual(original);
  });

  it('<ds>/<job> in the DO datasite: code files by content, params.json by name, the submitter as peer, the job name as name', () => {
    const r = sb.cli(['auto-approve', '--from-job', `${DS}/analysis-pending`]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `Auto-approval object: analysis-pending\n  main.py\nPeers: ${DS}\nAllowed files: params.json\nCreated auto-approval object 'analysis-pending'.\n`,
    );
    const main = fs.readFileSync(path.join(inbox, 'analysis-pending', 'code', 'main.py'));
    const stored = path.join(sb.syftBgHome, 'auto_approvals', 'analysis-pending', 'main.py');
    expect(objects()).toEqual([
      { name: 'analysis-pending', file_contents: [{ relative_path: 'main.py', path: stored, hash: sha(main) }], file_paths: ['params.json'], peers: [DS] },
    ]);
    expect(fs.readFileSync(stored)).toEqual(main);
  });

  it('a path to the job folder (relative or absolute, or its code/ folder); -n and -p override the defaults', () => {
    const rel = path.relative(sb.dir, path.join(inbox, 'analysis-failed'));
    expect(ok(['auto-approve', '--from-job', rel, '-n', 'analysis'])).toContain("Created auto-approval object 'analysis'.");
    const abs = path.join(inbox, 'analysis-rejected', 'code');
    const upd = ok(['auto-approve', '--from-job', abs, '-n', 'analysis', '-p', 'other@uni.edu']);
    expect(upd).toBe(
      `Auto-approval object: analysis (updated)\n  main.py\nPeers: ${DS}, other@uni.edu\nAllowed files: params.json\nUpdated auto-approval object 'analysis' (unchanged main.py).\n`,
    );
    expect(objects().map((o) => o.name)).toEqual(['analysis']);
  });

  it('--by-name makes job files name-only; --only restricts the content files (other job files are then not allowed)', () => {
    expect(ok(['auto-approve', '--from-job', `${DS}/analysis-pending`, '--by-name', 'main.py', '-n', 'byname'])).toBe(
      `Auto-approval object: byname\n  params.json\nPeers: ${DS}\nAllowed files: main.py\nCreated auto-approval object 'byname'.\n`,
    );
    expect(ok(['auto-approve', '--from-job', `${DS}/analysis-pending`, '--only', 'main.py', '-n', 'only'])).toBe(
      `Auto-approval object: only\n  main.py\nPeers: ${DS}\nCreated auto-approval object 'only'.\n`,
    );
    expect(ok(['auto-approve', '--from-job', `${DS}/analysis-pending`, '--only', 'main.py', '--by-name', 'params.json', '-n', 'both'])).toContain(
      'Allowed files: params.json',
    );
    const missing = sb.cli(['auto-approve', '--from-job', `${DS}/analysis-pending`, '--only', 'nope.py']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("Error: File 'nope.py' not found in job\n");
    const overlap = sb.cli(['auto-approve', '--from-job', `${DS}/analysis-pending`, '--only', 'main.py', '--by-name', 'main.py']);
    expect(overlap.code).toBe(1);
    expect(overlap.stderr).toBe("Error: Overlap between contents and file_paths: {'main.py'}\n");
  });

  it('a bash job: its script.sh by content', () => {
    expect(ok(['auto-approve', '--from-job', `${DS}/bash-done`])).toBe(
      `Auto-approval object: bash-done\n  script.sh\nPeers: ${DS}\nCreated auto-approval object 'bash-done'.\n`,
    );
  });

  it('unknown jobs and folders that are not jobs are named (exit 1); nothing is written', () => {
    const before = fs.readFileSync(path.join(sb.syftBgHome, 'config.yaml'), 'utf8');
    const unknown = sb.cli(['auto-approve', '--from-job', `${DS}/nope`]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(`Error: Job '${DS}/nope' not found: ${path.join(inbox, 'nope')} does not exist\n`);
    const notJob = sb.cli(['auto-approve', '--from-job', box]);
    expect(notJob.code).toBe(1);
    expect(notJob.stderr).toBe(`Error: ${box} is not a job folder: expected <SyftBox>/<your e-mail>/app_data/job/inbox/<submitter>/<job>\n`);
    const nowhere = sb.cli(['auto-approve', '--from-job', 'a/b/c']);
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toContain(`Error: Job not found: ${path.join(sb.dir, 'a', 'b', 'c')} does not exist`);
    expect(fs.readFileSync(path.join(sb.syftBgHome, 'config.yaml'), 'utf8')).toBe(before);
  });

  it('<ds>/<job> needs do_email and syftbox_root in config.yaml', () => {
    fs.rmSync(path.join(sb.syftBgHome, 'config.yaml'));
    const r = sb.cli(['auto-approve', '--from-job', `${DS}/analysis-pending`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Error: Cannot find job '${DS}/analysis-pending': do_email and syftbox_root not set in ${path.join(sb.syftBgHome, 'config.yaml')}.`);
    // The full path works without any configuration.
    expect(sb.cli(['auto-approve', '--from-job', path.join(inbox, 'analysis-pending')]).code).toBe(0);
  });
});
