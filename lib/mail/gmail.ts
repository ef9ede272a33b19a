import * as os from 'node:os';
import type { GmailApi } from '../google/gmail';
import { buildMime, EmailMessage } from './message';
import type { FoundMessage, MailTransport, SendOptions, SendResult } from './transport';

/**
 * Notification mail through Gmail `users.messages.send`: the same RFC 5322 message the Maildir gets
 * (built by buildMime, Message-ID included), sent as base64url `raw`, optionally into a Gmail thread.
 */
export class GmailTransport implements MailTransport {
  readonly kind = 'gmail' as const;
  constructor(
    private readonly api: GmailApi,
    private readonly opts: { hostname?: string; now?: () => Date } = {},
  ) {}

  async send(msg: EmailMessage, sendOpts: SendOptions = {}): Promise<SendResult> {
    const built = buildMime(msg, { now: (this.opts.now ?? (() => new Date()))(), hostname: this.opts.hostname ?? os.hostname() });
    const r = await this.api.sendRaw(built.raw, sendOpts.threadId ? { threadId: sendOpts.threadId } : {});
    return { id: r.id, messageId: built.messageId, threadId: r.threadId };
  }

  async find(messageId: string): Promise<FoundMessage | undefined> {
    const m = await this.api.findByRfc822MsgId(messageId);
    return m ? { id: m.id, ...(m.threadId ? { threadId: m.threadId } : {}) } : undefined;
  }
}
