import * as os from 'node:os';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Where the Python syft-bg keeps its home on Colab (when Google Drive is mounted). */
export const COLAB_DRIVE = '/content/drive/MyDrive';

export type HomeSource = 'SYFT_BG_HOME' | 'colab' | 'default';

export interface HomeInputs {
  env: NodeJS.ProcessEnv;
  homedir: string;
  exists: (p: string) => boolean;
}

/**
 * The syft-bg home: `SYFT_BG_HOME` if set, else `/content/drive/MyDrive/syft-bg` when Google Drive is mounted
 * (Colab, as the Python syft-bg does), else `~/.syft-bg`.
 */
export function resolveHome(inp: HomeInputs): { dir: string; source: HomeSource } {
  const override = inp.env.SYFT_BG_HOME;
  if (override && override.trim() !== '') return { dir: path.resolve(expandTilde(override, inp.homedir)), source: 'SYFT_BG_HOME' };
  if (inp.exists(COLAB_DRIVE)) return { dir: path.join(COLAB_DRIVE, 'syft-bg'), source: 'colab' };
  return { dir: path.join(inp.homedir, '.syft-bg'), source: 'default' };
}

export function expandTilde(p: string, homedir: string): string {
  if (p === '~') return homedir;
  if (p.startsWith('~/')) return path.join(homedir, p.slice(2));
  return p;
}

/** The files and folders inside a syft-bg home, with the Python syft-bg's names. */
export interface HomeLayout {
  dir: string;
  config: string;
  credentials: string;
  token: string;
  /** Names from the old README that `setup-status` also recognises. */
  legacyGmailToken: string;
  legacyDriveToken: string;
  logs: string;
  mail: string;
  autoApprovals: string;
  serviceDir: (service: string) => string;
}

export function layout(dir: string): HomeLayout {
  return {
    dir,
    config: path.join(dir, 'config.yaml'),
    credentials: path.join(dir, 'credentials.json'),
    token: path.join(dir, 'token.json'),
    legacyGmailToken: path.join(dir, 'gmail_token.json'),
    legacyDriveToken: path.join(dir, 'drive_token.json'),
    logs: path.join(dir, 'logs'),
    mail: path.join(dir, 'mail'),
    autoApprovals: path.join(dir, 'auto_approvals'),
    serviceDir: (service: string) => path.join(dir, service),
  };
}

/** The home of this process (reads the real environment and filesystem). */
export function currentHome(env: NodeJS.ProcessEnv = process.env): HomeLayout & { source: HomeSource; userHome: string } {
  const homedir = userHomeOf(env);
  const r = resolveHome({ env, homedir, exists: (p) => fs.existsSync(p) });
  return { ...layout(r.dir), source: r.source, userHome: homedir };
}

/**
 * The user's home folder: `$HOME` when it is an absolute path, else the account's home from the password database
 * (an empty or relative `HOME` would otherwise put ~/.syft-bg in whatever folder the command runs in).
 */
export function userHomeOf(env: NodeJS.ProcessEnv = process.env): string {
  const h = env.HOME;
  if (h && path.isAbsolute(h)) return h;
  try {
    const fromPasswd = os.userInfo().homedir;
    if (fromPasswd && path.isAbsolute(fromPasswd)) return fromPasswd;
  } catch {
    // no password entry (some containers)
  }
  return path.resolve(h || os.homedir() || '/');
}
