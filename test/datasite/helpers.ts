import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const REPO = path.resolve(__dirname, '..', '..');
export const FIXTURES = path.join(REPO, 'test', 'fixtures', 'datasite');
/** Verbatim copy of shared/fixtures/syftbox-do-example (written by the real syft-job); see fixture-copy.test.ts. */
export const EXAMPLE = path.join(FIXTURES, 'syftbox-do-example');
export const SHARED_EXAMPLE = path.resolve(REPO, '..', 'shared', 'fixtures', 'syftbox-do-example');
export const DO = 'do@example.com';
export const DS = 'ds@example.org';
export const JOB_ROOT = path.join(EXAMPLE, DO, 'app_data', 'job');
export const FIXTURE_JOBS = ['analysis-approved', 'analysis-failed', 'analysis-pending', 'analysis-rejected', 'bash-done', 'invalid-extra-file'];

export interface Golden {
  generator: Record<string, unknown>;
  dump: Array<{ name: string; value: unknown; allow_unicode?: boolean; safe?: boolean; out: string }>;
  state: Array<{ name: string; text: string; out?: string; error?: string; detail?: string }>;
  load: Array<{ name: string; text: string; out?: unknown; error?: string; detail?: string }>;
  repr: Array<{ s: string; out: string }>;
  setrepr: Array<{ items: string[]; out: string }>;
}

let golden: Golden | undefined;
export function loadGolden(): Golden {
  golden ??= JSON.parse(fs.readFileSync(path.join(FIXTURES, 'pyyaml-golden.json'), 'utf8')) as Golden;
  return golden;
}

export function readFixture(...rel: string[]): string {
  return fs.readFileSync(path.join(JOB_ROOT, ...rel), 'utf8');
}

/** A temp dir removed after the test file; `copyExample` gives a writable copy of the golden datasite. */
export function tempDir(prefix = 'datasite-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(dir);
  return dir;
}
const created: string[] = [];
afterAll(() => {
  for (const d of created.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** Copy the golden datasite into a fresh temp SyftBox root; returns the root (contains `do@example.com/`). */
export function copyExample(): string {
  const root = tempDir('syftbox-');
  fs.cpSync(EXAMPLE, root, { recursive: true });
  // The shared originals are read-only (0444/0555); a copy must be writable like a real datasite.
  const walk = (p: string): void => {
    const st = fs.lstatSync(p);
    fs.chmodSync(p, st.isDirectory() ? 0o755 : st.mode & 0o111 ? 0o755 : 0o644);
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
  };
  walk(root);
  return root;
}

/** All regular files under dir, relative, sorted, with their bytes. */
export function treeBytes(dir: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  const walk = (rel: string): void => {
    const abs = path.join(dir, rel);
    for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else out[r] = fs.readFileSync(path.join(dir, r));
    }
  };
  walk('');
  return out;
}
