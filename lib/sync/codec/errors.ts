/**
 * A message, state file or file name from a peer (or from our own Drive folders) that is not in the format syft-client
 * writes. The message says what is wrong in words ("member X is a symbolic link", "events[3].new_hash: expected a
 * string or null, got 12"); callers add which Drive file it came from.
 */
export class MessageFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MessageFormatError';
  }
}

export function isMessageFormatError(e: unknown): e is MessageFormatError {
  return e instanceof MessageFormatError;
}
