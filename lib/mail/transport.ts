import type { EmailMessage } from './message';

/** Result of a delivery: `id` is transport-specific (Maildir file name, Gmail message id). */
export interface SendResult {
  id: string;
  /** The RFC 5322 Message-ID, with angle brackets. */
  messageId: string;
  /** Gmail conversation id (Gmail only). */
  threadId?: string;
}

/** Where notification mail goes: a local Maildir (the default without a Google account) or Gmail. */
export interface MailTransport {
  readonly kind: 'maildir' | 'gmail';
  /** `threadId`: the Gmail conversation to add the message to (ignored by the Maildir, which threads by headers). */
  send(msg: EmailMessage, opts?: SendOptions): Promise<SendResult>;
  /**
   * The delivered message whose Message-ID is `messageId`, if any: how a sender that crashed between handing a
   * message over and recording it finds out whether it went out (Gmail: an `rfc822msgid:` search; Maildir: a scan).
   */
  find(messageId: string): Promise<FoundMessage | undefined>;
}

export interface FoundMessage {
  id: string;
  threadId?: string;
}

export interface SendOptions {
  threadId?: string;
}
