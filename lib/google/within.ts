/**
 * `p`, or a rejection after `ms` (`no answer within N s`) — for start-up checks that must end in time whatever
 * happens underneath (a token refresh's own time limit is the transport's, not the call's). A late settlement of
 * `p` is left handled.
 */
export async function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const giveUp = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([p, giveUp]);
  } finally {
    clearTimeout(timer);
  }
}
