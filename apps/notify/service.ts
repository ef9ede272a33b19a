import * as path from 'node:path';
import * as os from 'node:os';
import type { ServiceDefinition } from '../../lib/service/runtime';
import { requireIdentity, requireSupportedTransports } from '../../lib/service/requirements';
import { readFileIfExists, writeFileAtomic } from '../../lib/fs/atomic';
import type { MailTransport } from '../../lib/mail/transport';
import type { SyftBgConfig } from '../../lib/config/types';
import type { Logger } from 'pino';

/**
 * The notify service. This version delivers the heartbeat through the configured transport and watches the
 * job inbox; job and peer e-mails plug into `cycle` (issue "notify service").
 */
export const notifyService: ServiceDefinition = {
  name: 'notify',
  async create({ home, loaded, logger }) {
    const id = requireIdentity(loaded);
    const c = loaded.config;
    const t = c.transports;
    requireSupportedTransports(loaded);
    const transport = await makeTransport(loaded.config, logger);
    const { heartbeatDue, heartbeatEmail } = await import('../../lib/notify/heartbeat');
    const heartbeatFile = path.join(home.serviceDir('notify'), 'heartbeat.json');
    const n = c.notify;
    // A failing send (network down, revoked token) is retried with a capped exponential backoff, not every pass.
    let failures = 0;
    let retryAt = 0;
    return {
      startInfo: {
        do_email: id.email,
        watching: id.jobInbox,
        email_transport: t.email,
        ...(t.email === 'maildir' ? { maildir: t.maildir_path } : { gmail_token: loaded.config.gmail_token_path }),
        heartbeat: n.heartbeat_enabled ? `every ${n.heartbeat_interval}s` : 'off',
      },
      intervalMs: n.interval * 1000,
      watch: () => [id.jobInbox],
      async cycle() {
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
      },
    };
  },
};

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

/** The configured mail transport: the Maildir (embedded default) or Gmail with the token file. */
async function makeTransport(c: SyftBgConfig, logger: Logger): Promise<MailTransport> {
  if (c.transports.email === 'maildir') {
    const { MaildirTransport } = await import('../../lib/mail/maildir');
    return new MaildirTransport(c.transports.maildir_path);
  }
  const { loadAuth } = await import('../../lib/google/auth');
  const { SERVICE_SCOPES } = await import('../../lib/google/scopes');
  const { createGmailApi } = await import('../../lib/google/gmail');
  const { GmailTransport } = await import('../../lib/mail/gmail');
  const auth = loadAuth(c.gmail_token_path, {
    scopes: SERVICE_SCOPES.notify,
    log: logger, // pino's (obj, msg) signature
  });
  return new GmailTransport(createGmailApi(auth.client));
}
