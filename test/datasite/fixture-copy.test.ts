import * as fs from 'node:fs';
import { EXAMPLE, SHARED_EXAMPLE, treeBytes } from './helpers';

/**
 * test/fixtures/datasite/syftbox-do-example is a verbatim copy of shared/fixtures/syftbox-do-example (written by
 * the real syft-job), so the suite runs where shared/ is absent. Where shared/ is present, the copy must match it.
 */
describe('golden datasite copy', () => {
  (fs.existsSync(SHARED_EXAMPLE) ? it : it.skip)('is byte-identical to shared/fixtures/syftbox-do-example', () => {
    expect(treeBytes(EXAMPLE)).toEqual(treeBytes(SHARED_EXAMPLE));
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
