/** Quoting for the command lines we print (POSIX sh). Safe words are left bare so the lines stay readable. */

const SAFE_WORD = /^[A-Za-z0-9_/.,:@%+=-]+$/;

/** Quote one word for POSIX sh: bare when it is safe, else in single quotes. */
export function shellQuote(word: string): string {
  if (word !== '' && SAFE_WORD.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `NAME=value` for `env`, with the value quoted when needed. */
export function envAssign(name: string, value: string): string {
  return `${name}=${shellQuote(value)}`;
}

/** A command line: each word quoted. */
export function shellLine(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}
