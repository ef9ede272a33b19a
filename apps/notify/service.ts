import * as path from 'node:path';
import * as os from 'node:os';
import type { ServiceDefinition } from '../../lib/service/runtime';
import { requireIdentity, requireSupportedTransports } from '../../lib/service/requirements';
import { readFileIfExists, writeFileAtomic } from '../../lib/fs/atomic';
import type { MailTransport } from '../../lib/mail/transport';

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
    const { MaildirTransport } = await import('../../lib/mail/maildir');
    const transport: MailTransport = new MaildirTransport(t.maildir_path);
    const { heartbeatDue, heartbeatEmail } = await import('../../lib/notify/heartbeat');
    const heartbeatFile = path.join(home.serviceDir('notify'), 'heartbeat.json');
    const n = c.notify;
    return {
      startInfo: {
        do_email: id.email,
        watching: id.jobInbox,
        email_transport: t.email,
        maildir: t.maildir_path,
        heartbeat: n.heartbeat_enabled ? `every ${n.heartbeat_interval}s` : 'off',
      },
      intervalMs: n.interval * 1000,
      watch: () => [id.jobInbox],
      async cycle() {
        if (!n.heartbeat_enabled) return;
        const last = parseLastSent(readFileIfExists(heartbeatFile));
        const now = new Date();
        if (!heartbeatDue(last, now, n.heartbeat_interval)) return;
        const msg = heartbeatEmail({
          doEmail: id.email,
          now,
          intervalSeconds: n.heartbeat_interval,
          transport: `maildir (${t.maildir_path})`,
          hostname: os.hostname(),
        });
        const sent = await transport.send(msg);
        writeFileAtomic(heartbeatFile, JSON.stringify({ last_sent: now.toISOString(), message_id: sent.messageId }, null, 2) + '\n');
        logger.info({ to: id.email, message_id: sent.messageId, transport: transport.kind }, 'heartbeat sent');
      },
    };
  },
};

function parseLastSent(text: string | undefined): string | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as { last_sent?: unknown };
    return typeof v.last_sent === 'string' ? v.last_sent : undefined;
  } catch {
    return undefined; // half-written: treat as never sent (at worst one extra heartbeat)
  }
}
