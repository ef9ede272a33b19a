import { resolveHome, layout, COLAB_DRIVE } from '../../lib/home';

describe('resolveHome', () => {
  const none = () => false;
  it('uses ~/.syft-bg by default', () => {
    expect(resolveHome({ env: {}, homedir: '/home/a', exists: none })).toEqual({ dir: '/home/a/.syft-bg', source: 'default' });
  });
  it('uses the Colab Drive folder when Google Drive is mounted', () => {
    const r = resolveHome({ env: {}, homedir: '/root', exists: (p) => p === COLAB_DRIVE });
    expect(r).toEqual({ dir: '/content/drive/MyDrive/syft-bg', source: 'colab' });
  });
  it('SYFT_BG_HOME overrides both, with ~ expanded', () => {
    const r = resolveHome({ env: { SYFT_BG_HOME: '~/x' }, homedir: '/home/a', exists: () => true });
    expect(r).toEqual({ dir: '/home/a/x', source: 'SYFT_BG_HOME' });
  });
  it('ignores an empty SYFT_BG_HOME', () => {
    expect(resolveHome({ env: { SYFT_BG_HOME: '' }, homedir: '/h', exists: none }).source).toBe('default');
  });
  it('lays out the Python syft-bg names', () => {
    const l = layout('/h/.syft-bg');
    expect([l.config, l.token, l.credentials, l.autoApprovals, l.serviceDir('notify')]).toEqual([
      '/h/.syft-bg/config.yaml', '/h/.syft-bg/token.json', '/h/.syft-bg/credentials.json', '/h/.syft-bg/auto_approvals', '/h/.syft-bg/notify',
    ]);
  });
});

describe('userHomeOf', () => {
  const { userHomeOf, currentHome } = require('../../lib/home') as typeof import('../../lib/home');
  const os = require('node:os') as typeof import('node:os');
  const path = require('node:path') as typeof import('node:path');
  const passwd = os.userInfo().homedir;

  it('is $HOME when it is an absolute path', () => {
    expect(userHomeOf({ HOME: '/srv/alice' })).toBe('/srv/alice');
  });

  it('an empty, missing or relative HOME falls back to the account home (never a relative ~/.syft-bg)', () => {
    for (const HOME of ['', undefined, 'relative/dir']) {
      const env: NodeJS.ProcessEnv = HOME === undefined ? {} : { HOME };
      expect(userHomeOf(env)).toBe(passwd);
      expect(path.isAbsolute(currentHome(env).config)).toBe(true);
      expect(currentHome(env).config).toBe(path.join(passwd, '.syft-bg', 'config.yaml'));
    }
  });
});
