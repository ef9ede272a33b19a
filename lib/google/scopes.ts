/**
 * OAuth scopes syft-bg asks for (syftbox-protocol.md §5.1, https://developers.google.com/workspace/gmail/api/auth/scopes).
 *
 * - Gmail: `gmail.modify`. Google documents it as "Read, compose, and send emails from your Gmail account": every
 *   read/write operation except permanent deletion (bypassing Trash). notify *sends* (`messages.send`), reply handling
 *   *reads* replies (`history.list`, `messages.get`) and marks them handled (labels). `gmail.send` cannot read,
 *   `gmail.readonly` cannot send, and neither can change labels; `https://mail.google.com/` would add permanent
 *   deletion, which syft-bg never needs. It is also exactly what the Python syft-bg requests, so one token serves both.
 * - Drive: `drive` (full Drive). approve creates and shares folders in the owner's Drive and reads files the data
 *   scientists shared with the owner; `drive.file` only covers files the app itself created or opened, so it cannot
 *   see peers' folders. Same scope as syft-client.
 * - Pub/Sub: the Python tool also asks for `pubsub`, for its email_approve service (Gmail push via Cloud Pub/Sub).
 *   The Node syft-bg has no email_approve service (reply handling polls `history.list`), so it does not request it.
 *   A Python token that has it keeps it: token files are never narrowed.
 */
export const SCOPE = {
  gmailModify: 'https://www.googleapis.com/auth/gmail.modify',
  drive: 'https://www.googleapis.com/auth/drive',
  pubsub: 'https://www.googleapis.com/auth/pubsub',
} as const;

/** What each Google-using part of syft-bg needs. */
export const SERVICE_SCOPES = {
  /** E-mail notifications and reply handling (transports.email: gmail). */
  notify: [SCOPE.gmailModify],
  /** Job and peer approval on Google Drive (transports.syftbox: drive). */
  approve: [SCOPE.drive],
} as const;

/** Requested by `syft-bg init`'s sign-in: one token for every service (the order Python uses: Gmail, then Drive). */
export const INIT_SCOPES: readonly string[] = [SCOPE.gmailModify, SCOPE.drive];

/** Scopes that include another one (Google's documented supersets, only those relevant to syft-bg). */
const IMPLIED_BY: Record<string, readonly string[]> = {
  'https://www.googleapis.com/auth/gmail.modify': ['https://mail.google.com/'],
  'https://www.googleapis.com/auth/gmail.send': [
    'https://www.googleapis.com/auth/gmail.compose',
    'https://www.googleapis.com/auth/gmail.modify',
    'https://mail.google.com/',
  ],
  'https://www.googleapis.com/auth/gmail.readonly': ['https://www.googleapis.com/auth/gmail.modify', 'https://mail.google.com/'],
  'https://www.googleapis.com/auth/drive.file': ['https://www.googleapis.com/auth/drive'],
  'https://www.googleapis.com/auth/drive.readonly': ['https://www.googleapis.com/auth/drive'],
};

/** Whether `granted` covers `needed` (directly or through a broader scope). */
export function hasScope(granted: readonly string[], needed: string): boolean {
  return granted.includes(needed) || (IMPLIED_BY[needed] ?? []).some((s) => granted.includes(s));
}

/** The scopes of `needed` that `granted` does not cover, in `needed`'s order. */
export function missingScopes(granted: readonly string[], needed: readonly string[]): string[] {
  return needed.filter((s) => !hasScope(granted, s));
}

/**
 * `https://www.googleapis.com/auth/drive` → `drive`, for messages. Anything that does not look like a scope (a
 * hand-edited file may hold a token where its scopes belong) is shown as `(not a scope)`: messages never echo secrets.
 */
export function shortScope(s: string): string {
  if (s.startsWith('https://www.googleapis.com/auth/')) {
    const rest = s.slice('https://www.googleapis.com/auth/'.length);
    return /^[a-z][\w.\-]{0,79}$/i.test(rest) ? rest : '(not a scope)';
  }
  if (s === 'https://mail.google.com/' || s === 'openid' || s === 'email' || s === 'profile') return s;
  return /^https:\/\/[\w.\-]+\/[\w.\-/]{0,80}$/.test(s) ? s : '(not a scope)';
}
