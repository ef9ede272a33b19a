import { simpleParser, type AddressObject, type EmailAddress, type ParsedMail } from 'mailparser';

export async function parse(raw: string | Buffer): Promise<ParsedMail> {
  return simpleParser(raw, { skipTextToHtml: true });
}

/** All mailboxes of an address header, in order. */
export function mailboxes(h: AddressObject | AddressObject[] | undefined): EmailAddress[] {
  if (h === undefined) return [];
  return (Array.isArray(h) ? h : [h]).flatMap((o) => o.value);
}

/** The header block (up to the first empty line) split into physical lines. */
export function headerLines(raw: string): string[] {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw new Error('no header/body separator');
  return raw.slice(0, end).split('\r\n');
}

/** The text after the header block, split into physical lines. */
export function bodyLines(raw: string): string[] {
  const end = raw.indexOf('\r\n\r\n');
  return raw.slice(end + 4).split('\r\n');
}

/** Every line break is CRLF: no bare CR or LF anywhere. */
export function onlyCrlf(raw: string): boolean {
  return !/[\r\n]/.test(raw.replace(/\r\n/g, ''));
}

/** A small deterministic PRNG (mulberry32) for fuzz cases. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
