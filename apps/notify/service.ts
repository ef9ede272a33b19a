import * as path from 'node:path';
import * as os from 'node:os';
import type { ServiceDefinition } from '../../lib/service/runtime';
import { requireIdentity, requireSupportedTransports } from '../../lib/service/requirements';
import { readFileIfExists, writeFileAtomic } from '../../lib/fs/atomic';
import type { MailTransport } from '../../lib/mail/transport';
import type { SyftBgConfig } from '../../lib/config/types';
import type { LoadedConfig } from '../../lib/config/load';
import type { Logger } from 'pino';

/**
 * The notify service: every e-mail of reference §7.4 (jobs from the local datasite, peers from the peer source),
 * each sent exactly once through the configured transport (lib/notify/notifier.ts), plus the heartbeat.
 *
 * Files in `<home>/notify/`: `journal.jsonl` (the outbox journal: what was mailed, durable across crashes),
 * `status.json` (pending and failing mails, for `syft-bg status`), `heartbeat.json` (last heartbeat). The Python
 * `notify.notify_state_path` (default `<home>/notify/state.json`) is imported on the first start and kept up to
 * date. File events on the job tree trigger a pass within ~50 ms; a pass also runs every `notify.interval` s.
 * Passes are incremental (lib/notify/job-tracker.ts): on 10,000 jobs an idle pass costs a few ms, a finished job
 * whose mails are all done is looked at once every 5 minutes, and the first pass reads only the jobs that still
 * owe mail. On a fresh state, only jobs written before this process started are seeded as seen: a job written
 * while the service starts up (e.g. right after `syft-bg start` returned) is mailed.
 *
 * Peers: with `transports.syftbox: local` there is no peer list, so no peer e-mails are sent; with Drive they come
 * from the p2p folders and SYFT_peers.json (lib/notify/peers.ts).
 *
 * With `transports.email: gmail`, the Gmail token is checked with Google before anything else (gmail-check.ts): a
 * token of another account than do_email, or one Google refuses, fails the set-up (`syft-bg start` reports it);
 * an unreachable Gmail is logged and the service starts.
 */
export const notifyService: ServiceDefinition = {
  name: 'notify',
  async create({ home, loaded, logger, signal }) {
    const id = requireIdentity(loaded);
    const c = loaded.config;
    const t = c.transports;
    requireSupportedTransports(loaded, ['notify']);
    const transport = await makeTransport(loaded, id.email, logger);
    const { heartbeatDue, heartbeatEmail } = await import('../../lib/notify/heartbeat');
    const { Journal } = await import('../../lib/notify/journal');
    const { Notifier } = await import('../../lib/notify/notifier');
    const { GMAIL_RATE, MAILDIR_RATE, rateFromConfig, lookupGraceFromConfig } = await import('../../lib/notify/pacing');
    const { NO_PEERS } = await import('../../lib/notify/peers');
    const { sweepSlicesFor } = await import('../../lib/datasite/job-index');
    const dir = home.serviceDir('notify');
    const heartbeatFile = path.join(dir, 'heartbeat.json');
    const n = c.notify;

    const { MetricRegistry } = await import('../../lib/metrics/registry');
    const metrics = new MetricRegistry(NOTIFY_METRICS);
    // Peers are polled at most once per notify.interval, and an idle poll is one changes.list (lib/notify/peers.ts).
    const peers = t.syftbox === 'drive' ? await makeDrivePeers(c, id.email, logger, n.interval * 1000, () => metrics.inc('drive calls')) : NO_PEERS;
    const rate = rateFromConfig(loaded.raw, t.email === 'gmail' ? GMAIL_RATE : MAILDIR_RATE);
    const journal = Journal.open(path.join(dir, 'journal.jsonl'));
    const notifier = new Notifier({
      root: id.root,
      doEmail: id.email,
      journal,
      transport,
      rate,
      logger,
      peers,
      pythonStatePath: n.notify_state_path,
      statusFile: path.join(dir, 'status.json'),
      // After a crash, a request the dead process left in flight may still be processed, and Gmail's search index
      // lags a fresh send by a few seconds: an uncertain Gmail mail is looked up only 30 s after its intent.
      uncertainGraceMs: lookupGraceFromConfig(loaded.raw, t.email === 'gmail' ? 30_000 : 0),
      // A finished job whose mails are all done is looked at again every 5 minutes (a DO re-running it by hand).
      sweepSlices: sweepSlicesFor(n.interval),
    });
    const init = await notifier.init();
    metrics.bind('emails sent', () => notifier.status().sent_since_start);
    metrics.bind('emails failing', () => notifier.status().failing.length);
    metrics.bind('emails queued', () => notifier.pending);

    // A failing heartbeat (network down, revoked token) is retried with a capped exponential backoff, not every pass.
    let failures = 0;
    let retryAt = 0;
    const heartbeat = async () => {
      if (!n.heartbeat_enabled) return;
      const last = parseLastSent(readFileIfExists(heartbeatFile));
      const now = new Date();
      if (!heartbeatDue(last, now, n.heartbeat_interval) || now.getTime() < retryAt) return;
      const msg = heartbeatEmail({
        doEmail: id.email,
        now,
        intervalSeconds: n.heartbeat_interval,
        transport: t.email === 'maildir' ? { kind: 'maildir', path: t.maildir_path } : { kind: 'gmail' },
        hostname: os.hostname(),
      });
      let sent;
      try {
        sent = await transport.send(msg);
      } catch (e) {
        failures++;
        const waitMs = heartbeatRetryMs(failures);
        retryAt = now.getTime() + waitMs;
        logger.error({ err: e, failures, retry_in_s: waitMs / 1000 }, `heartbeat not sent: ${(e as Error).message}`);
        return;
      }
      failures = 0;
      retryAt = 0;
      writeFileAtomic(heartbeatFile, JSON.stringify({ last_sent: now.toISOString(), message_id: sent.messageId }, null, 2) + '\n');
      logger.info({ to: id.email, message_id: sent.messageId, transport: transport.kind }, 'heartbeat sent');
    };

    return {
      startInfo: {
        do_email: id.email,
        watching: id.jobInbox,
        email_transport: t.email,
        ...(t.email === 'maildir' ? { maildir: t.maildir_path } : { gmail_token: loaded.config.gmail_token_path }),
        heartbeat: n.heartbeat_enabled ? `every ${n.heartbeat_interval}s` : 'off',
        peers: peers.kind,
        send_rate: `${rate.ratePerSecond}/s (burst ${rate.burst})`,
        state: init.mode,
      },
      intervalMs: n.interval * 1000,
      watch: () => notifier.watchPaths(),
      async cycle() {
        await heartbeat();
        await notifier.scan();
        // The sender runs beside the loop, so a burst being paced out never delays detection of new jobs.
        void notifier.kick(signal).catch((e) => logger.error({ err: e }, `notify sender failed: ${(e as Error).message}`));
      },
      async close() {
        await notifier.idle().catch(() => undefined);
        notifier.flush();
        journal.close();
      },
      metrics,
    };
  },
};

/** The notify service's PM2 metrics (`pm2 show syft-bg-notify`, `pm2 monit`, `syft-bg status --json`). */
export const NOTIFY_METRICS = [
  { name: 'emails sent', kind: 'gauge' },
  { name: 'emails failing', kind: 'gauge' },
  { name: 'emails queued', kind: 'gauge' },
  { name: 'drive calls', kind: 'counter' },
  { name: 'last cycle', kind: 'gauge', unit: 'ms' },
] as const satisfies ReadonlyArray<import('../../lib/metrics/registry').MetricDef>;

/** 30 s, 1 min, 2 min, … capped at 1 h (pure). */
export function heartbeatRetryMs(failures: number): number {
  return Math.min(3600_000, 30_000 * 2 ** Math.max(0, failures - 1));
}

function parseLastSent(text: string | undefined): string | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as { last_sent?: unknown };
    return typeof v.last_sent === 'string' ? v.last_sent : undefined;
  } catch {
    return undefined; // half-written: treat as never sent (at worst one extra heartbeat)
  }
}

/**
 * The configured mail transport: the Maildir (embedded default) or Gmail with the token file, checked with Google
 * first (gmail-check.ts: a token of another account or a refused one fails the set-up; an unreachable Gmail does not).
 */
async function makeTransport(loaded: LoadedConfig, me: string, logger: Logger): Promise<MailTransport> {
  const c = loaded.config;
  if (c.transports.email === 'maildir') {
    const { MaildirTransport } = await import('../../lib/mail/maildir');
    return new MaildirTransport(c.transports.maildir_path);
  }
  const { loadAuth } = await import('../../lib/google/auth');
  const { SERVICE_SCOPES } = await import('../../lib/google/scopes');
  const { createGmailApi } = await import('../../lib/google/gmail');
  const { GmailTransport } = await import('../../lib/mail/gmail');
  const { checkGmailToken } = await import('./gmail-check');
  const auth = loadAuth(c.gmail_token_path, {
    scopes: SERVICE_SCOPES.notify,
    log: logger, // pino's (obj, msg) signature
  });
  await checkGmailToken({ configPath: loaded.path, tokenPath: c.gmail_token_path, me, client: auth.client, logger });
  return new GmailTransport(createGmailApi(auth.client));
}

/** Peers over Drive (transports.syftbox: drive). */
async function makeDrivePeers(c: SyftBgConfig, me: string, logger: Logger, minIntervalMs: number, onCall: () => void) {
  const { loadAuth } = await import('../../lib/google/auth');
  const { SERVICE_SCOPES } = await import('../../lib/google/scopes');
  const { createDriveApi } = await import('../../lib/google/drive');
  const { drivePeerSource } = await import('../../lib/notify/peers');
  const auth = loadAuth(c.drive_token_path, { scopes: SERVICE_SCOPES.approve, log: logger });
  return drivePeerSource(createDriveApi(auth.client, { onCall }), me, { minIntervalMs });
}
