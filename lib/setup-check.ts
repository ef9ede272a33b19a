import * as fs from 'node:fs';
import type { ConfigView } from './status';
import type { DaemonSnapshot } from './pm2/daemon-reader';

export interface Check {
  /** ✓ ok, ✗ problem (blocks "ready"), - informational / not needed. */
  mark: '✓' | '✗' | '-';
  label: string;
  detail: string;
  fix?: string;
}

export interface SetupInputs {
  home: string;
  credentialsPath: string;
  legacyGmailToken: string;
  legacyDriveToken: string;
  config: ConfigView;
  daemon: DaemonSnapshot;
  exists: (p: string) => boolean;
  isDir: (p: string) => boolean;
}

/** The checks of `syft-bg setup-status` (pure given its inputs). */
export function setupChecks(i: SetupInputs): Check[] {
  const c = i.config;
  const out: Check[] = [];
  if (!c.exists) {
    out.push({ mark: '✗', label: 'config.yaml', detail: `missing at ${c.path}`, fix: "run 'syft-bg init -e YOUR_EMAIL'" });
  } else if (c.error) {
    out.push({ mark: '✗', label: 'config.yaml', detail: `invalid: ${c.error}`, fix: `correct ${c.path} at the place named above` });
  } else {
    out.push({ mark: '✓', label: 'config.yaml', detail: c.path });
  }
  const configOk = c.exists && !c.error;
  if (configOk) {
    out.push(
      c.email
        ? { mark: '✓', label: 'data owner', detail: c.email }
        : { mark: '✗', label: 'data owner', detail: 'do_email is not set', fix: "run 'syft-bg init -e YOUR_EMAIL'" },
    );
    if (c.syftboxRoot) {
      if (i.isDir(c.syftboxRoot)) out.push({ mark: '✓', label: 'SyftBox folder', detail: c.syftboxRoot });
      else if (c.transports.syftbox === 'drive')
        out.push({ mark: '-', label: 'SyftBox folder', detail: `${c.syftboxRoot} (created by the first sync)` });
      else
        out.push({
          mark: '✗',
          label: 'SyftBox folder',
          detail: `${c.syftboxRoot} does not exist`,
          fix: `create it (mkdir -p '${c.syftboxRoot}') or point syftbox_root at your SyftBox folder ('syft-bg init -e ${c.email ?? 'EMAIL'} -r FOLDER')`,
        });
    } else {
      out.push({ mark: '✗', label: 'SyftBox folder', detail: 'syftbox_root is not set', fix: "run 'syft-bg init -e YOUR_EMAIL -r FOLDER'" });
    }
    const t = c.transports;
    out.push({
      mark: '✓',
      label: 'e-mail transport',
      detail: t.email === 'maildir' ? `maildir → ${t.maildirPath} (no Google account needed)` : 'gmail',
    });
    out.push({ mark: '✓', label: 'SyftBox transport', detail: t.syftbox === 'local' ? 'local (no Google Drive needed)' : 'drive' });
  }

  const google = configOk && (c.transports.email === 'gmail' || c.transports.syftbox === 'drive');
  const tokens = [...new Set([c.gmailTokenPath, c.driveTokenPath])];
  const missingTokens = tokens.filter((p) => !i.exists(p));
  if (!google) {
    out.push({ mark: '-', label: 'credentials.json', detail: 'not needed by the local transports' });
    out.push({ mark: '-', label: 'token.json', detail: 'not needed by the local transports' });
  } else {
    const hasCreds = i.exists(i.credentialsPath);
    if (missingTokens.length === 0) {
      out.push({ mark: hasCreds ? '✓' : '-', label: 'credentials.json', detail: hasCreds ? i.credentialsPath : 'not needed while the token is valid' });
      for (const t of tokens) out.push({ mark: '✓', label: 'token', detail: t });
    } else {
      out.push(
        hasCreds
          ? { mark: '✓', label: 'credentials.json', detail: i.credentialsPath }
          : {
              mark: '✗',
              label: 'credentials.json',
              detail: `missing at ${i.credentialsPath}`,
              fix: 'Google Cloud Console → APIs & Services → Credentials → Create OAuth client ID (Desktop app) → download it to that path',
            },
      );
      for (const t of missingTokens) {
        const legacy = [i.legacyGmailToken, i.legacyDriveToken].filter((p) => i.exists(p));
        out.push({
          mark: '✗',
          label: 'token',
          detail: `missing at ${t}`,
          fix: legacy.length
            ? `found the old name ${legacy.join(' and ')}: 'mv ${legacy[0]} ${t}' (or run 'syft-bg init -e ${c.email ?? 'EMAIL'} -t ${legacy[0]}')`
            : `sign in with 'syft-bg init -e ${c.email ?? 'EMAIL'}' (with credentials.json in place), or copy a token with '-t /path/to/token.json', or use the local transports (transports.email: maildir, transports.syftbox: local)`,
        });
      }
    }
  }

  if (i.daemon.running) {
    out.push({ mark: '✓', label: 'PM2 daemon', detail: `running (pm2 ${i.daemon.version ?? '?'}) at ${i.daemon.home}` });
  } else {
    out.push({ mark: '-', label: 'PM2 daemon', detail: `not running at ${i.daemon.home} ('syft-bg start' starts it)` });
  }
  return out;
}

export function renderChecks(checks: Check[]): { text: string; ready: boolean } {
  const lines = ['syft-bg setup', '='.repeat(50)];
  for (const ch of checks) {
    lines.push(`  ${ch.mark} ${ch.label.padEnd(18)} ${ch.detail}`);
    if (ch.fix) lines.push(`      fix: ${ch.fix}`);
  }
  const problems = checks.filter((c) => c.mark === '✗').length;
  lines.push('-'.repeat(50));
  lines.push(problems === 0 ? "✅ Ready. Run 'syft-bg start' to begin." : `⚠️  ${problems} problem(s) found: see the fixes above.`);
  return { text: lines.join('\n') + '\n', ready: problems === 0 };
}

export const realFs = {
  exists: (p: string) => fs.existsSync(p),
  isDir: (p: string) => {
    try {
      return fs.statSync(p).isDirectory();
    } catch {
      return false;
    }
  },
};
