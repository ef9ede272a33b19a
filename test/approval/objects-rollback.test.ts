/** A config.yaml write that fails after the stored copies were written: they are put back. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { autoApprove } from '../../lib/approval/objects';
import { read, tempHome, type TempHome } from '../config/helpers';
import { writeFile } from './helpers';

const mockState = { fail: false };
jest.mock('../../lib/config/edit', () => {
  const actual = jest.requireActual('../../lib/config/edit');
  return {
    ...actual,
    updateConfig: (...args: unknown[]) => {
      if (mockState.fail) throw new Error('disk full');
      return actual.updateConfig(...args);
    },
  };
});

let t: TempHome;
beforeEach(() => (t = tempHome()));
afterEach(() => {
  mockState.fail = false;
  t.cleanup();
});

it('a failed config write rolls the stored copies back (replaced restored, new removed)', () => {
  const work = path.join(t.root, 'work');
  const w = (rel: string, c: string) => writeFile(path.join(work, rel), c);
  w('v1.py', 'v1\n');
  w('new.py', 'n\n');
  autoApprove(t.home, { contents: ['v1.py'], cwd: work, name: 'x' });
  const dir = path.join(t.home.autoApprovals, 'x');
  const configBefore = read(t.home.config);
  w('v1.py', 'v2\n');
  mockState.fail = true;
  expect(() => autoApprove(t.home, { contents: ['v1.py', 'new.py'], cwd: work, name: 'x' })).toThrow('disk full');
  expect(read(path.join(dir, 'v1.py'))).toBe('v1\n');
  expect(fs.existsSync(path.join(dir, 'new.py'))).toBe(false);
  expect(read(t.home.config)).toBe(configBefore);
});
