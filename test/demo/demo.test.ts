import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { ensureBuilt, PM2_BIN, ROOT } from '../helpers/sandbox';

const DEMO = path.join(ROOT, 'test', 'demo', 'demo.js');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function runDemo(env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [DEMO], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => c.kill('SIGINT'), timeoutMs); // the demo cleans up on SIGINT
    c.on('error', reject);
    c.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** Alive and not a zombie (a daemon adopted by an init that has not reaped it yet has exited all the same). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

// `npm run demo` end to end: the narrated transcript, its claims, and that nothing is left behind.
describe('demo (test/demo/demo.js)', () => {
  let r: Run;
  let user: string; // a stand-in for the user's own HOME / PM2_HOME / SYFT_BG_HOME, which the demo must not touch
  let demoDir: string | undefined;
  const section = (n: number): string => {
    const m = new RegExp(`^# ── ${n}\\. [^\\n]*\\n([\\s\\S]*?)(?=^# ── \\d+\\. |^Demo finished)`, 'm').exec(r.stdout);
    if (!m) throw new Error(`section ${n} not in the transcript:\n${r.stdout}\n${r.stderr}`);
    return m[1]!;
  };

  beforeAll(async () => {
    ensureBuilt();
    user = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-user-'));
    r = await runDemo(
      { PATH: process.env.PATH, HOME: user, PM2_HOME: path.join(user, '.pm2'), SYFT_BG_HOME: path.join(user, '.syft-bg'), LANG: 'C.UTF-8' },
      50_000,
    );
    demoDir = /^DEMO=(.+)$/m.exec(r.stdout)?.[1];
  }, 60_000);

  afterAll(() => {
    // Only when the demo failed to clean up after itself.
    if (demoDir && fs.existsSync(demoDir)) {
      const pm2Home = path.join(demoDir, 'pm2');
      if (fs.existsSync(path.join(pm2Home, 'rpc.sock')) || fs.existsSync(path.join(pm2Home, 'pm2.pid'))) {
        spawnSync(process.execPath, [PM2_BIN, 'kill'], { env: { PATH: process.env.PATH, HOME: path.join(demoDir, 'home'), PM2_HOME: pm2Home }, timeout: 30_000 });
      }
      fs.rmSync(demoDir, { recursive: true, force: true });
    }
    if (user) fs.rmSync(user, { recursive: true, force: true });
  });

  it('exits 0 within 20 s, and says so', () => {
    if (r.code !== 0) throw new Error(`demo exited with ${r.code ?? r.signal}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
    expect(r.stderr).toBe('');
    expect(r.ms).toBeLessThan(20_000);
    expect(r.stdout).toMatch(/^Demo finished in \d+\.\d s\.$/m);
  });

  it('works in its own temporary home: HOME and PM2_HOME under the temp dir, none of the caller\'s touched', () => {
    expect(demoDir).toBeDefined();
    expect(demoDir!.startsWith(path.join(fs.realpathSync(os.tmpdir()), 'syft-bg-demo-')) || demoDir!.startsWith('/tmp/syft-bg-demo-')).toBe(true);
    expect(section(3)).toContain('PM2_HOME $DEMO/pm2');
    expect(section(3)).toContain('config:      ~/.syft-bg/config.yaml (ok)');
    expect(fs.readdirSync(user)).toEqual([]);
  });

  it('sets up: init (Maildir + local datasite), an auto-approval object, start, status', () => {
    const s1 = section(1);
    expect(s1).toContain('$ syft-bg init -e do@example.com');
    expect(s1).toContain('Config saved to ~/.syft-bg/config.yaml');
    const s2 = section(2);
    expect(s2).toContain('$ syft-bg auto-approve analysis/script.sh -p ds@example.org -n demo');
    expect(s2).toContain("Created auto-approval object 'demo'.");
    expect(s2).toMatch(/\$ syft-bg list-auto-approvals\n\n\[demo\]\n {2}File contents:\n {4}script\.sh +sha256:[0-9a-f]{64}\n {2}Peers: ds@example\.org/);
    const s3 = section(3);
    expect(s3).toMatch(/Started notify \(pid \d+\)\.\nStarted approve \(pid \d+\)\./);
    expect(s3).toMatch(/email +maildir → ~\/\.syft-bg\/mail/);
    expect(s3).toMatch(/notify +🟢 online/);
    expect(s3).toMatch(/approve +🟢 online/);
  });

  it('the data scientist drops both jobs file by file, config.yaml last', () => {
    const lines = section(4).split('\n').filter((l) => l.startsWith('+ '));
    const inbox = '+ ~/SyftBox_do@example.com/do@example.com/app_data/job/inbox/ds@example.org';
    expect(lines).toEqual(
      ['mean-age', 'mean-age-v2'].flatMap((j) => [`${inbox}/${j}/code/script.sh`, `${inbox}/${j}/run.sh`, `${inbox}/${j}/config.yaml`]),
    );
  });

  it('the matching job is approved (auto) and run: state done, stdout, an output file', () => {
    const s = section(5);
    expect(s).toContain('status: done\napproval_method: auto\napproved_by: do@example.com\nreturn_code: 0\n');
    expect(s).toMatch(/\$ cat ~\/SyftBox_do@example\.com\/do@example\.com\/app_data\/job\/review\/ds@example\.org\/mean-age\/stdout\.txt\nrecords: 3, mean age: 41\.0\n/);
    expect(s).toMatch(/outputs\/result\.json\n\{"records": 3, "mean_age": 41\.0\}\n/);
  });

  it('the audit log shows received → approved (object demo) → run-queued → ran for it', () => {
    const audit = [...section(6).matchAll(/^ {2}\d\d:\d\d:\d\d\.\d{3} {2}ds@example\.org\/mean-age +(\S+) *(.*)$/gm)].map((m) => [m[1], m[2]]);
    expect(audit).toEqual([
      ['received', ''],
      ['approved', 'object=demo  reason: ok'],
      ['run-queued', ''],
      ['ran', 'status=done  rc=0'],
    ]);
  });

  it('the other job stays pending, with the reason in the audit log, from explain (exit 3) and in the log', () => {
    const s = section(6);
    expect(s).toMatch(/mean-age-v2\/state\.yaml\nstatus: pending\n/);
    expect(s).toMatch(/ds@example\.org\/mean-age-v2 +not-approved reason: \[demo\] file hash mismatch for script\.sh: expected sha256:[0-9a-f]{64}, got sha256:[0-9a-f]{64}/);
    expect(s).not.toMatch(/mean-age-v2 +(approved|run-queued|ran)/);
    expect(s).toMatch(/\$ syft-bg explain ds@example\.org\/mean-age-v2\n[\s\S]*\n {2}status: pending\n[\s\S]*\nVerdict: not approved: \[demo\] file hash mismatch for script\.sh[^\n]*\n\[exit 3\]\n/);
    expect(s).toContain('$ syft-bg logs approve -n 10');
    expect(s).toContain('INFO: [approve] Approved: mean-age from ds@example.org');
    expect(s).toContain('INFO: [approve] Skipped: ds@example.org/mean-age-v2 ([demo] file hash mismatch for script.sh');
    expect(s).toContain('INFO: [approve] Ran: ds@example.org/mean-age → done (rc 0)');
  });

  it('the heartbeat and the job e-mails are in the Maildir, the good job\'s follow-ups in its thread', () => {
    expect(section(7)).toMatch(/^[^:\n]+:Subject: heartbeat: syft-bg still running/m);
    expect(section(7)).toMatch(/^[^:\n]+:Subject: Job: mean-age$/m);
    expect(section(7)).toMatch(/^[^:\n]+:Subject: Job: mean-age-v2$/m);
    expect(section(7)).toMatch(/^[^:\n]+:Subject: Re: Job: mean-age$/m);
    expect(section(7)).toMatch(/^[^:\n]+:In-Reply-To: <[^>]+>$/m);
    expect(section(7)).toMatch(/^[^:\n]+:To: do@example\.com$/m);
  });

  it('stops the services, kills its PM2 daemon and removes the temp dir: nothing is left', () => {
    const s = section(8);
    expect(s).toContain('$ syft-bg stop\nStopped notify.\nStopped approve.\n');
    expect(s).toContain('$ pm2 kill\n');
    expect(s).toContain('PM2 Daemon Stopped');
    const daemon = /^# PM2 daemon \(pid (\d+)\) is gone\.$/m.exec(s);
    expect(daemon).not.toBeNull();
    const services = [...section(3).matchAll(/Started \w+ \(pid (\d+)\)/g)].map((m) => Number(m[1]));
    expect(services).toHaveLength(2);
    for (const pid of [Number(daemon![1]), ...services]) expect({ pid, alive: isAlive(pid) }).toEqual({ pid, alive: false });
    expect(s).toContain(`# Removed the demo folder ${demoDir}: yes.`);
    expect(fs.existsSync(demoDir!)).toBe(false);
  });
});
