/**
 * Telling a bad Google token from a passing network problem, for the approve service's Drive side.
 *
 * A token Google refuses (revoked or expired refresh token, deleted OAuth client: `loadAuth` turns these into
 * UserErrors; HTTP 401 after the client's own refresh; a token without the Drive scope) is a configuration error:
 * retrying cannot help, so the service stops with a clear message (lib/service/fatal.ts backs off and PM2 ends in
 * `errored`). Everything else (5xx, 429, timeouts, connection errors) is logged and retried at the next cycle.
 */
import { isUserError } from '../../lib/errors';
import type { DriveApi } from '../../lib/google/drive';
import { GoogleApiError } from '../../lib/google/retry';

/** Pure: is this failure a refused token (as opposed to a transient or per-file problem)? */
export function isAuthFailure(e: unknown): boolean {
  if (isUserError(e)) return true;
  if (!(e instanceof GoogleApiError)) return false;
  if (e.status === 401) return true;
  // Drive's "Request had insufficient authentication scopes" (not insufficientFilePermissions, which is per file).
  if (e.status === 403 && (e.reason === 'insufficientPermissions' || e.reason === 'ACCESS_TOKEN_SCOPE_INSUFFICIENT')) return true;
  // The token endpoint refusing the grant or the client (when not already a UserError).
  if (e.duringTokenRefresh && e.status !== undefined && e.status >= 400 && e.status < 500 && e.status !== 429) return true;
  return false;
}

/** The message for a refused token: what happened and what to do, without any secret. */
export function authFailureMessage(e: unknown, tokenPath: string, which: 'Drive' | 'Gmail' = 'Drive'): string {
  const msg = (e as Error)?.message ?? String(e);
  if (isUserError(e)) return msg;
  return (
    `Google refused the ${which} token in ${tokenPath} (${msg}). ` +
    `Sign in again: re-run 'syft-bg init -e EMAIL' (or pass a fresh token with 'syft-bg init -e EMAIL -t TOKEN'), then 'syft-bg restart'.`
  );
}

/**
 * `drive` with every call watched: a rejection that {@link isAuthFailure} calls `onAuthFailure` (then travels on
 * unchanged). Async generators (`iterateFolder`) are watched through their `next`.
 */
export function watchAuth(drive: DriveApi, onAuthFailure: (e: unknown) => void): DriveApi {
  const inspect = (e: unknown) => {
    if (isAuthFailure(e)) onAuthFailure(e);
  };
  const out = {} as Record<string, unknown>;
  for (const [name, fn] of Object.entries(drive as unknown as Record<string, unknown>)) {
    if (typeof fn !== 'function') {
      out[name] = fn;
      continue;
    }
    out[name] = (...args: unknown[]) => {
      const r = (fn as (...a: unknown[]) => unknown).apply(drive, args);
      if (r instanceof Promise) return r.catch((e: unknown) => (inspect(e), Promise.reject(e)));
      if (r && typeof (r as AsyncGenerator).next === 'function' && typeof (r as AsyncGenerator)[Symbol.asyncIterator] === 'function') {
        const g = r as AsyncGenerator;
        const wrapped = {
          next: (...a: [] | [unknown]) => g.next(...a).catch((e: unknown) => (inspect(e), Promise.reject(e))),
          return: (v?: unknown) => g.return(v as never),
          throw: (e?: unknown) => g.throw(e),
          [Symbol.asyncIterator]() {
            return wrapped;
          },
        };
        return wrapped as unknown as AsyncGenerator;
      }
      return r;
    };
  }
  return out as unknown as DriveApi;
}
