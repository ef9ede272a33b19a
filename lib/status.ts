import * as fs from 'node:fs';
import { SERVICES, ServiceName, pm2Name } from './services';
import type { DaemonSnapshot, Pm2Process } from './pm2/daemon-reader';
import { appHome, otherHomeOf } from './control';
import { deriveRuntime, ServiceRuntime, ServiceState, formatBytes, formatUptime } from './pm2/state';

/** What `status` needs from the configuration (kept small so status can use the cached config). */
export interface ConfigView {
  path: string;
  exists: boolean;
  /** null when valid. */
  error: string | null;
  email: string | null;
  syftboxRoot: string | null;
  transports: {
    email: 'gmail' | 'maildir';
    emailChosenBy: 'config' | 'derived';
    maildirPath: string;
    syftbox: 'drive' | 'local';
    syftboxChosenBy: 'config' | 'derived';
  };
  gmailTokenPath: string;
  driveTokenPath: string;
  objects: Array<{ name: string; contents: string[]; files: string[]; peers: string[] }>;
  approvedDomains: string[];
}

export interface TokenStatus {
  label: string;
  path: string;
  state: 'ready' | 'missing' | 'not needed';
  /** e.g. "mode 0644: should be 0600". */
  warning: string | null;
}

export interface ServiceStatus extends ServiceRuntime {
  name: ServiceName;
  pm2Name: string;
  /** The syft-bg home the PM2 app serves (its SYFT_BG_HOME); null when not started or not said. */
  home?: string | null;
  /** The app serves another syft-bg home than this one (same PM2 daemon): this home's commands leave it alone. */
  otherHome?: boolean;
}

/** One service as this home sees it in the daemon's list (pure). */
export function serviceStatus(s: ServiceName, procs: Pm2Process[], home: string, now: number): ServiceStatus {
  const p = procs.find((x) => x.name === pm2Name(s));
  return { name: s, pm2Name: pm2Name(s), ...deriveRuntime(p, now), home: appHome(p), otherHome: otherHomeOf(p, home) !== null };
}

/** What the notify service reports about its outbox (`<home>/notify/status.json`). */
export interface NotifyHealth {
  updatedAt: string | null;
  pending: number;
  sentSinceStart: number;
  pausedUntil: string | null;
  /** Mails that keep failing (retried with back-off, never dropped). */
  failing: Array<{ event: string; to: string | null; subject: string | null; attempts: number; lastError: string; nextAttemptAt: string | null }>;
}

/** `notify/status.json` as the notify service writes it; null when absent or unreadable (pure). */
export function parseNotifyHealth(text: string | undefined): NotifyHealth | null {
  if (!text) return null;
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return null; // half-written: the next write fixes it
  }
  if (!j || typeof j !== 'object') return null;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  const failing = Array.isArray(j.failing) ? j.failing : [];
  return {
    updatedAt: str(j.updated_at),
    pending: num(j.pending),
    sentSinceStart: num(j.sent_since_start),
    pausedUntil: str(j.paused_until),
    failing: failing
      .filter((f): f is Record<string, unknown> => !!f && typeof f === 'object')
      .map((f) => ({
        event: str(f.event) ?? '?',
        to: str(f.to),
        subject: str(f.subject),
        attempts: num(f.attempts),
        lastError: str(f.last_error) ?? '',
        nextAttemptAt: str(f.next_attempt_at),
      })),
  };
}

export interface StatusReport {
  home: string;
  environment: 'Colab' | 'local';
  /** `transports` is null when config.yaml is invalid: what it asks for is not known (defaults would mislead). */
  config: Omit<ConfigView, 'transports'> & { transports: ConfigView['transports'] | null };
  pm2: { home: string; daemon: 'running' | 'not running'; daemonVersion: string | null; reason: string | null };
  tokens: TokenStatus[];
  services: ServiceStatus[];
  /** The notify outbox (pending and persistently failing mails); null when notify has not run. */
  notify?: NotifyHealth | null;
}

function tokenStatus(label: string, path: string, needed: boolean): TokenStatus {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(path);
  } catch {
    st = undefined;
  }
  const mode = st ? st.mode & 0o777 : 0;
  return {
    label,
    path,
    state: st ? 'ready' : needed ? 'missing' : 'not needed',
    warning: st && (mode & 0o077) !== 0 ? `mode ${mode.toString(8).padStart(4, '0')}: should be 0600 (chmod 600 ${path})` : null,
  };
}

export function buildStatus(input: { home: string; colab: boolean; config: ConfigView; daemon: DaemonSnapshot; now: number; notify?: NotifyHealth | null }): StatusReport {
  const { config, daemon } = input;
  const procs = daemon.running ? daemon.processes : [];
  return {
    home: input.home,
    environment: input.colab ? 'Colab' : 'local',
    config: config.error ? { ...config, transports: null } : config,
    pm2: {
      home: daemon.home,
      daemon: daemon.running ? 'running' : 'not running',
      daemonVersion: daemon.running ? (daemon.version ?? null) : null,
      reason: daemon.running ? null : daemon.reason,
    },
    tokens: config.error
      ? []
      : [
          tokenStatus('notify.gmail_token_path', config.gmailTokenPath, config.transports.email === 'gmail'),
          tokenStatus('approve.drive_token_path', config.driveTokenPath, config.transports.syftbox === 'drive'),
        ],
    services: SERVICES.map((s) => serviceStatus(s, procs, input.home, input.now)),
    notify: input.notify ?? null,
  };
}

const ICON: Record<ServiceState, string> = {
  online: '🟢',
  starting: '🟡',
  restarting: '🟡',
  stopping: '🟡',
  stopped: '⚪',
  'not started': '⚪',
  errored: '🔴',
};

const LINE = '-'.repeat(40);

/** `jobs approved 3 · last cycle 5 ms` (pure). */
export function renderMetrics(m: Record<string, number | string | null>): string {
  return Object.entries(m)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? +v.toFixed(1) : v}${k === 'last cycle' ? ' ms' : ''}`)
    .join(' · ');
}

/** The text of `syft-bg status` (pure). */
export function renderStatus(r: StatusReport): string {
  const c = r.config;
  const out: string[] = [];
  out.push('syft-bg status', '='.repeat(40));
  const unknown = 'unknown (config.yaml is invalid, see below)';
  out.push(`  email:       ${c.email ?? (c.error ? unknown : 'not configured')}`);
  out.push(`  syftbox:     ${c.syftboxRoot ?? (c.error ? unknown : 'not configured')}`);
  out.push(`  environment: ${r.environment}`);
  const cfgState = !c.exists ? "missing (run 'syft-bg init -e EMAIL')" : c.error ? 'INVALID' : 'ok';
  out.push(`  config:      ${c.path} (${cfgState})`);
  if (c.error) for (const l of c.error.split('\n')) out.push(`    ${l}`);
  out.push(
    `  pm2:         ${r.pm2.daemon === 'running' ? `daemon running (pm2 ${r.pm2.daemonVersion ?? '?'})` : 'daemon not running'}, PM2_HOME ${r.pm2.home}`,
  );

  out.push('', 'transports', LINE);
  const t = c.transports;
  if (c.error || !t) {
    // What an invalid file means is not known: showing the defaults would mislead.
    out.push('  unknown until config.yaml is fixed');
  } else {
    const by = (x: 'config' | 'derived') => (x === 'derived' ? ' (derived from the token files; set transports in config.yaml to choose)' : '');
    out.push(`  email        ${t.email === 'maildir' ? `maildir → ${t.maildirPath}` : 'gmail'}${by(t.emailChosenBy)}`);
    out.push(`  syftbox      ${t.syftbox === 'local' ? 'local (datasite folder only, no Google Drive)' : 'drive'}${by(t.syftboxChosenBy)}`);
  }

  out.push('', 'tokens', LINE);
  if (c.error) out.push('  unknown until config.yaml is fixed');
  else
    for (const tk of r.tokens) {
      const st = tk.state === 'ready' ? 'ready' : tk.state === 'missing' ? `missing (${tk.path})` : 'not needed (local transport)';
      out.push(`  ${tk.label.padEnd(35)} ${st}${tk.warning ? `  ⚠ ${tk.warning}` : ''}`);
    }

  out.push('', 'services', LINE);
  for (const s of r.services) {
    const parts = [`  ${s.name.padEnd(16)} ${ICON[s.state]} ${s.state.padEnd(11)}`];
    if (s.state === 'online') {
      parts.push(`pid ${s.pid}`.padEnd(10), `up ${formatUptime(s.uptimeMs ?? 0)}`.padEnd(11));
      parts.push(`restarts ${s.restarts}`.padEnd(11));
      if (s.memoryBytes !== null) parts.push(`mem ${formatBytes(s.memoryBytes)}`.padEnd(13));
      if (s.cpuPercent !== null) parts.push(`cpu ${s.cpuPercent}%`);
    } else {
      if (s.restarts > 0) parts.push(`restarts ${s.restarts}`);
      if (s.detail) parts.push(`(${s.detail})`);
    }
    if (s.otherHome) parts.push(`(serves another home: ${s.home})`);
    out.push(parts.join(' ').trimEnd());
    if (s.state === 'online' && s.metrics && !s.otherHome) out.push(`  ${''.padEnd(16)} ${renderMetrics(s.metrics)}`);
  }
  const n = r.notify;
  if (n && (n.failing.length > 0 || n.pausedUntil)) {
    out.push('', 'notify outbox', LINE);
    out.push(`  ${n.pending} pending${n.pausedUntil ? `, paused until ${n.pausedUntil} (Gmail asked to slow down)` : ''}`);
    for (const f of n.failing) {
      out.push(`  ⚠ ${f.event} to ${f.to ?? '?'}: failed ${f.attempts} time(s), last error: ${f.lastError}${f.nextAttemptAt ? `; next try ${f.nextAttemptAt}` : ''}`);
    }
  }

  if (c.objects.length > 0) {
    out.push('', '', 'auto-approval objects', LINE);
    for (const o of c.objects) {
      out.push(`  [${o.name}]`);
      for (const p of o.contents) out.push(`    content: ${p}`);
      for (const p of o.files) out.push(`    file:   ${p}`);
      out.push(`    peers:  ${o.peers.length ? o.peers.join(', ') : '(any)'}`);
    }
  }
  if (c.approvedDomains.length > 0) {
    out.push('', '', 'auto-approved domains', LINE);
    for (const d of c.approvedDomains) out.push(`  ${d}`);
  }
  return out.join('\n') + '\n';
}
