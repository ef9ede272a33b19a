import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EXAMPLE, SHARED_EXAMPLE, treeBytes } from './helpers';

/**
 * test/fixtures/datasite/syftbox-do-example is a verbatim copy of shared/fixtures/syftbox-do-example (written by
 * the real syft-job), so the suite runs where shared/ is absent. `syftbox-do-example.sha256` (sha256sum format,
 * made from the shared original) pins every byte: the copy must match it everywhere, and where shared/ is
 * present the original must match it too (so the manifest, and through it the copy, are the original).
 */
const MANIFEST = path.join(path.dirname(EXAMPLE), 'syftbox-do-example.sha256');

function manifest(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(MANIFEST, 'utf8').split('\n')) {
    if (line === '') continue;
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (!m) throw new Error(`bad manifest line: ${line}`);
    out[m[2]!] = m[1]!;
  }
  return out;
}

const hashes = (dir: string) =>
  Object.fromEntries(Object.entries(treeBytes(dir)).map(([f, b]) => [f, createHash('sha256').update(b).digest('hex')]));

describe('golden datasite copy', () => {
  it('is byte-identical to the shared original (its sha256 manifest; and the original itself where shared/ is present)', () => {
    const want = manifest();
    expect(Object.keys(want)).toHaveLength(38);
    expect(hashes(EXAMPLE)).toEqual(want);
    if (fs.existsSync(SHARED_EXAMPLE)) expect(hashes(SHARED_EXAMPLE)).toEqual(want);
  });

  it('has every file the protocol reference lists (one job per status)', () => {
    const files = Object.keys(treeBytes(EXAMPLE));
    expect(files).toHaveLength(38);
    for (const job of ['analysis-approved', 'analysis-failed', 'analysis-pending', 'analysis-rejected', 'bash-done', 'invalid-extra-file']) {
      expect(files).toContain(`do@example.com/app_data/job/review/ds@example.org/${job}/state.yaml`);
      expect(files).toContain(`do@example.com/app_data/job/inbox/ds@example.org/${job}/run.sh`);
    }
  });
});
