/**
 * How fast the notify service sends (pure): a token bucket for the steady rate, and the retry schedule of a mail
 * whose send failed.
 *
 * Gmail charges `messages.send` 100 quota units against a per-user budget of 250 units/s, so about 2.5 sends per
 * second is the hard ceiling; consumer accounts may also send only ~500 mails a day. The default pace for Gmail is
 * therefore 2 mails/s with bursts of 10, and a mail refused for quota (429, or 403 rate/limit reasons) is kept and
 * retried later, never dropped. The Maildir has no quota but is still paced (default 50/s) so that a burst of
 * thousands of jobs cannot monopolise the disk.
 */

export interface RateLimit {
  /** Tokens added per second. */
  ratePerSecond: number;
  /** Bucket size: how many mails may go back to back. */
  burst: number;
}

export const GMAIL_RATE: RateLimit = { ratePerSecond: 2, burst: 10 };
export const MAILDIR_RATE: RateLimit = { ratePerSecond: 50, burst: 50 };

export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(readonly limit: RateLimit, now: number) {
    if (!(limit.ratePerSecond > 0) || !(limit.burst >= 1)) throw new RangeError(`invalid rate limit ${JSON.stringify(limit)}`);
    this.tokens = limit.burst;
    this.last = now;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.limit.burst, this.tokens + ((now - this.last) / 1000) * this.limit.ratePerSecond);
      this.last = now;
    }
  }

  /** Milliseconds until a token is available (0 = now). Takes nothing. */
  delay(now: number): number {
    this.refill(now);
    if (this.tokens >= 1) return 0;
    return Math.ceil(((1 - this.tokens) / this.limit.ratePerSecond) * 1000);
  }

  /** Take a token if one is available. */
  tryTake(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Nothing may be sent before `until` (the server said so): empty the bucket until then. */
  pauseUntil(until: number): void {
    this.tokens = Math.min(this.tokens, 0);
    // The bucket refills from `until` on.
    if (until > this.last) {
      this.last = until;
      this.tokens = 0;
    }
  }
}

/** Retry schedule of one mail: 30 s, 1 min, 2 min, … capped at 1 h (attempts counts failures so far, ≥ 1). */
export function retryDelayMs(attempts: number, baseMs = 30_000, capMs = 3_600_000): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, Math.min(attempts - 1, 30)));
}

/**
 * The send pace from config.yaml's `notify.send_rate_per_second` and `notify.send_burst` (validated by the config
 * schema; absent or null = `fallback`). Read from the parsed file as it is, tolerant of anything else.
 */
export function rateFromConfig(raw: unknown, fallback: RateLimit): RateLimit {
  const n = (raw && typeof raw === 'object' ? (raw as Record<string, unknown>).notify : undefined) as Record<string, unknown> | undefined;
  const rate = typeof n?.send_rate_per_second === 'number' && n.send_rate_per_second > 0 ? n.send_rate_per_second : fallback.ratePerSecond;
  const burst = typeof n?.send_burst === 'number' && n.send_burst >= 1 ? Math.floor(n.send_burst) : fallback.burst;
  return { ratePerSecond: rate, burst };
}

/** `notify.lookup_grace_seconds` (validated by the config schema): how long a fresh `intent` waits before its Message-ID is searched. */
export function lookupGraceFromConfig(raw: unknown, fallbackMs: number): number {
  const n = (raw && typeof raw === 'object' ? (raw as Record<string, unknown>).notify : undefined) as Record<string, unknown> | undefined;
  const v = n?.lookup_grace_seconds;
  return typeof v === 'number' && v >= 0 && Number.isFinite(v) ? v * 1000 : fallbackMs;
}
