import { UserError } from '../errors';

/**
 * `SYFT_BG_GOOGLE_ROOT_URL`: send every Google API call (Gmail, Drive, OAuth token endpoint) to this root
 * instead of Google, e.g. `http://127.0.0.1:8555/` for the loopback emulator in tests and local emulation.
 * Bearer tokens go to it, so plain http is accepted only on loopback addresses.
 */
export function googleRootUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const raw = env.SYFT_BG_GOOGLE_ROOT_URL;
  if (raw === undefined || raw.trim() === '') return undefined;
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw new UserError(`SYFT_BG_GOOGLE_ROOT_URL='${raw}' is not a URL (expected e.g. http://127.0.0.1:8555/).`, 2);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(u.hostname) || /^127\./.test(u.hostname);
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) {
    throw new UserError(
      `SYFT_BG_GOOGLE_ROOT_URL='${raw}': plain http is only allowed on a loopback address (tokens would travel in clear text).`,
      2,
    );
  }
  const s = u.toString();
  return s.endsWith('/') ? s : s + '/';
}

/** The OAuth 2.0 token endpoint: the emulator's when SYFT_BG_GOOGLE_ROOT_URL is set. */
export function oauthTokenUrl(env: NodeJS.ProcessEnv = process.env, fallback = 'https://oauth2.googleapis.com/token'): string {
  const root = googleRootUrl(env);
  return root ? new URL('token', root).toString() : fallback;
}
