/**
 * E-mail syntax check shared by `init` and the config schema. Deliberately "reasonable", not RFC 5322:
 * a dot-atom local part and a dotted domain whose last label has at least two letters.
 */
export const EMAIL_RE =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$/;

export const EMAIL_EXPECTED = 'expected an email address like name@example.com';

export function isValidEmail(s: string): boolean {
  return s.length <= 254 && EMAIL_RE.test(s);
}
