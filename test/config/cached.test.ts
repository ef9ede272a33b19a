import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfigCached } from '../../lib/config/cached';
import { ConfigError } from '../../lib/config/errors';
import { loadConfig } from '../../lib/config/load';
import type { ConfigHome, LoadedConfig } from '../../lib/config/types';
import { fixture, tempHome, write, type TempHome } from './helpers';

let t: TempHome;
beforeEach(() => (t = tempHome()));
afterEach(() => t.cleanup());

const cacheFile = () => path.join(t.home.dir, '.cache', 'config.json');
/** A Google token makes the SyftBox transport Drive: this build syncs the datasite with Drive itself. */
const WITH_TOKEN = 'drive';

/** `fn` in a fresh module registry where requiring yaml or zod throws. */
function withoutYamlAndZod<T>(fn: () => T): T {
  let out: T | undefined;
  try {
    jest.isolateModules(() => {
      jest.doMock('yaml', () => {
        throw new Error('yaml was loaded');
      });
      jest.doMock('zod', () => {
        throw new Error('zod was loaded');
      });
      out = fn();
    });
  } finally {
    jest.dontMock('yaml');
    jest.dontMock('zod');
  }
  return out as T;
}

/** loadConfigCached in a fresh module registry where requiring yaml or zod throws. */
function cachedWithoutYamlAndZod(home: ConfigHome): LoadedConfig {
  return withoutYamlAndZod(() => (require('../../lib/config/cached') as typeof import('../../lib/config/cached')).loadConfigCached(home));
}

describe('loadConfigCached', () => {
  it('an edit through updateConfig refreshes the cache: the services read the edit without yaml or zod', () => {
    const { updateConfig } = require('../../lib/config/edit') as typeof import('../../lib/config/edit');
    const { setIn } = require('../../lib/config/yamldoc') as typeof import('../../lib/config/yamldoc');
    write(t.home.config, fixture('python-after-auto-approve.yaml', t.userHome));
    loadConfig(t.home);
    updateConfig(t.home, (doc) => setIn(doc, ['notify', 'interval'], 17));
    const served = cachedWithoutYamlAndZod(t.home);
    expect(served.config.notify.interval).toBe(17);
    expect(served).toEqual(loadConfig(t.home));
  });

  it('approval objects come from the cache too (no yaml or zod for an unchanged config)', () => {
    write(t.home.config, fixture('python-after-auto-approve.yaml', t.userHome));
    const full = loadConfig(t.home);
    const names = withoutYamlAndZod(() => [...(require('../../lib/approval/store') as typeof import('../../lib/approval/store')).loadApprovalObjects(t.home).objects.keys()]);
    expect(names.length).toBeGreaterThan(0);
    expect(names).toEqual(Object.keys(full.config.approve.auto_approvals.objects));
  });

  it('serves the cache written by loadConfig without loading yaml or zod', () => {
    write(t.home.config, fixture('python-after-auto-approve.yaml', t.userHome));
    const full = loadConfig(t.home);
    expect(fs.existsSync(cacheFile())).toBe(true);
    expect(cachedWithoutYamlAndZod(t.home)).toEqual(full);
  });

  it('a cache written by another version of the validator is not used', () => {
    write(t.home.config, fixture('python-after-auto-approve.yaml', t.userHome));
    loadConfig(t.home);
    const c = JSON.parse(fs.readFileSync(cacheFile(), 'utf8')) as { code: string };
    expect(c.code).toMatch(/schema\.(js|ts):\d+/);
    fs.writeFileSync(cacheFile(), JSON.stringify({ ...c, code: 'schema.js:1:1' }));
    expect(() => cachedWithoutYamlAndZod(t.home)).toThrow(/was loaded/);
  });

  it('the mock really fails when the cache cannot be used (the check above can fail)', () => {
    write(t.home.config, fixture('python-init.yaml', t.userHome));
    expect(() => cachedWithoutYamlAndZod(t.home)).toThrow(/was loaded/);
  });

  it('falls back to a full load (and refreshes the cache) when config.yaml changed', () => {
    write(t.home.config, 'do_email: a@b.io\n');
    loadConfig(t.home);
    write(t.home.config, 'do_email: c@d.io\nnotify:\n  interval: 7\n');
    const l = loadConfigCached(t.home);
    expect(l.config.do_email).toBe('c@d.io');
    expect(l.config.notify.interval).toBe(7);
    expect(cachedWithoutYamlAndZod(t.home).config.do_email).toBe('c@d.io');
  });

  it('a same-size rewrite that restores the old mtime is still noticed', () => {
    write(t.home.config, 'do_email: a@b.io\n');
    const st = fs.statSync(t.home.config);
    loadConfig(t.home);
    fs.writeFileSync(t.home.config, 'do_email: x@b.io\n'); // same inode, same size
    fs.utimesSync(t.home.config, st.atime, st.mtime);
    expect(loadConfigCached(t.home).config.do_email).toBe('x@b.io');
  });

  it('re-derives transports on a cache hit (token files are not part of the key)', () => {
    write(t.home.config, fixture('python-init.yaml', t.userHome));
    expect(loadConfig(t.home).config.transports).toMatchObject({ email: 'maildir', syftbox: 'local' });
    write(t.home.token, '{}');
    write(path.join(t.userHome, 'mytoken.json'), '{}');
    expect(cachedWithoutYamlAndZod(t.home).config.transports).toMatchObject({ email: 'gmail', syftbox: WITH_TOKEN, origin: { email: 'derived' } });
  });

  it('caches the missing-file defaults too', () => {
    const full = loadConfig(t.home);
    expect(cachedWithoutYamlAndZod(t.home)).toEqual(full);
    write(t.home.config, 'do_email: a@b.io\n');
    expect(loadConfigCached(t.home).exists).toBe(true);
  });

  it('ignores a corrupt or foreign cache file', () => {
    write(t.home.config, 'do_email: a@b.io\n');
    loadConfig(t.home);
    fs.writeFileSync(cacheFile(), '{"format": 1, "key": ');
    expect(loadConfigCached(t.home).config.do_email).toBe('a@b.io');
    const other = { ...t.home, userHome: '/somewhere/else' };
    expect(loadConfigCached(other).config.syftbox_root).toBe('/somewhere/else/SyftBox_a@b.io');
  });

  it('an invalid file still throws the ConfigError', () => {
    write(t.home.config, 'do_email: a@b.io\n');
    loadConfig(t.home);
    write(t.home.config, 'do_email: nope\n');
    expect(() => loadConfigCached(t.home)).toThrow(ConfigError);
  });
});
