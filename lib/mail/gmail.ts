import * as os from 'node:os';
import type { GmailApi } from '../google/gmail';
import { isGoogleApiError } from '../google/retry';
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
    let r;
    try {
      r = await this.api.sendRaw(built.raw, sendOpts.threadId ? { threadId: sendOpts.threadId } : {});
    } catch (e) {
      // The conversation is gone from the mailbox (deleted, or a thread id imported from the Python state that
      // belongs to another mailbox): Gmail refuses the send with 404 and sent nothing. Send it as a new
      // conversation rather than fail forever; In-Reply-To/References still thread it for the recipient.
      if (!sendOpts.threadId || !isGoogleApiError(e) || e.status !== 404) throw e;
      r = await this.api.sendRaw(built.raw, {});
    }
    return { id: r.id, messageId: built.messageId, threadId: r.threadId };
  }

  async find(messageId: string): Promise<FoundMessage | undefined> {
    const m = await this.api.findByRfc822MsgId(messageId);
    return m ? { id: m.id, ...(m.threadId ? { threadId: m.threadId } : {}) } : undefined;
  }
}
