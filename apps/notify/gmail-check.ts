/**
 * The notify service's start-up check of its Gmail token (transports.email: gmail): one `users.getProfile`
 * (https://developers.google.com/workspace/gmail/api/reference/rest/v1/users/getProfile), which answers with the
 * address of the mailbox the token belongs to. The same check approve makes of its Drive token (apps/approve/drive.ts):
 *
 * - a token of another account than `do_email` → a UserError with EXIT.config: notify would send every e-mail from
 *   that account;
 * - a token Google refuses (revoked or expired grant, deleted client, 401, a token without a Gmail scope; see
 *   {@link isAuthFailure}) → a UserError with EXIT.config and what to do;
 * - Gmail not reachable (network down, timeouts, 5xx) → a warning, and the service goes on: the outbox retries.
 *
 * Either error makes the service fail its set-up, which `syft-bg start` reports as "notify did not start: <reason>"
 * (lib/control.ts). The check is bounded well below the CLI's 10 s wait for the service to be ready
 * (READY_TIMEOUT_MS in lib/control.ts), as approve's is: at most two attempts of 3 s, 6 s in all, and
 * {@link PROBE_HARD_LIMIT_MS} whatever happens (a token refresh has no timeout of its own in google-auth-library).
 *
 * With `transports.syftbox: drive`, notify also reads peers from Drive with `drive_token_path`. When that is the
 * Gmail token's file (the default: both are `token.json`), this check covers it; a separate Drive token is not
 * checked here (approve checks it when it starts).
 */
import type { OAuth2Client } from 'google-auth-library';
import { UserError, EXIT, isUserError } from '../../lib/errors';
import type { RetryPolicy } from '../../lib/google/retry';
import { authFailureMessage, isAuthFailure } from '../approve/drive-auth';
import { within } from '../../lib/google/within';

/** The probe's retry policy: approve's Drive probe's (apps/approve/drive.ts). */
export const PROBE_RETRY: Pick<RetryPolicy, 'maxAttempts' | 'attemptTimeoutMs' | 'deadlineMs'> = { maxAttempts: 2, attemptTimeoutMs: 3_000, deadlineMs: 6_000 };

/** The check gives up after this long even when a request ignores its timeout (a hanging token refresh). */
export const PROBE_HARD_LIMIT_MS = 6_500;

export interface GmailCheckInput {
  /** config.yaml's path (for the messages). */
  configPath: string;
  /** The Gmail token file (`gmail_token_path`). */
  tokenPath: string;
  /** do_email. */
  me: string;
  /** The OAuth client of the token (loadAuth). */
  client: OAuth2Client;
  /** pino's logger, or anything with its `warn(obj, msg)`. */
  logger: { warn(obj: object, msg: string): void };
  env?: NodeJS.ProcessEnv;
  /** Overrides for tests. */
  retry?: Partial<RetryPolicy>;
  hardLimitMs?: number;
}

/** Resolves with the token's address when Gmail answered, undefined when it could not be reached (logged). */
export async function checkGmailToken(i: GmailCheckInput): Promise<string | undefined> {
  const { createGmailApi } = await import('../../lib/google/gmail');
  const api = createGmailApi(i.client, { ...(i.env ? { env: i.env } : {}), retry: { ...PROBE_RETRY, ...i.retry } });
  const limit = i.hardLimitMs ?? PROBE_HARD_LIMIT_MS;
  let who: string;
  try {
    who = (await within(api.getProfile(), limit)).emailAddress;
  } catch (e) {
    if (isAuthFailure(e)) {
      const msg = isUserError(e) ? e.message : authFailureMessage(e, i.tokenPath, 'Gmail');
      throw new UserError(msg, EXIT.config);
    }
    i.logger.warn({ error: (e as Error).message }, `Gmail is not reachable at start (${(e as Error).message}); e-mails wait in the outbox until it is`);
    return undefined;
  }
  if (who.toLowerCase() !== i.me.toLowerCase()) {
    throw new UserError(`${i.configPath}: the Gmail token ${i.tokenPath} belongs to ${who}, but do_email is ${i.me}. Sign in as ${i.me}: move ${i.tokenPath} away and run 'syft-bg init -e ${i.me}' (or pass ${i.me}'s token with 'syft-bg init -e ${i.me} -t TOKEN').`, EXIT.config);
  }
  return who;
}
