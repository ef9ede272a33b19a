import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../lib/errors';
import {
  GOOGLE_TOKEN_URI,
  detectShape,
  formatPythonExpiry,
  newPythonToken,
  parsePythonExpiry,
  parseTokenFile,
  pyJsonDumps,
  readTokenFile,
  serializeToken,
  writeTokenFile,
  type TokenFile,
} from '../../lib/google/token-file';

const F = '/home/alice/.syft-bg/token.json';
const GMAIL = 'https://www.googleapis.com/auth/gmail.modify';
const PUBSUB = 'https://www.googleapis.com/auth/pubsub';
const DRIVE = 'https://www.googleapis.com/auth/drive';
const SECRETS = ['ya29.SECRET-ACCESS', '1//0gSECRET-REFRESH', 'GOCSPX-SECRET-CLIENT'];

/** What google-auth 2.x `Credentials.to_json()` writes for a syft-bg DO token (syftbox-protocol.md §5.3). */
const PY =
  '{"token": "ya29.SECRET-ACCESS", "refresh_token": "1//0gSECRET-REFRESH", "token_uri": "https://oauth2.googleapis.com/token", ' +
  '"client_id": "1234-abc.apps.googleusercontent.com", "client_secret": "GOCSPX-SECRET-CLIENT", ' +
  `"scopes": ["${GMAIL}", "${PUBSUB}", "${DRIVE}"], "universe_domain": "googleapis.com", "account": "", ` +
  '"expiry": "2026-06-11T15:19:42.123456Z"}';

/** Older google-auth: no universe_domain / account. */
const PY_OLD =
  '{"token": "ya29.SECRET-ACCESS", "refresh_token": "1//0gSECRET-REFRESH", "token_uri": "https://oauth2.googleapis.com/token", ' +
  '"client_id": "1234-abc.apps.googleusercontent.com", "client_secret": "GOCSPX-SECRET-CLIENT", ' +
  `"scopes": ["${DRIVE}"], "expiry": "2026-06-11T15:19:42Z"}`;

/** `gcloud auth application-default login` (json.dump indent=2, sort_keys). */
const ADC = `{
  "account": "",
  "client_id": "1234-abc.apps.googleusercontent.com",
  "client_secret": "GOCSPX-SECRET-CLIENT",
  "quota_project_id": "my-project",
  "refresh_token": "1//0gSECRET-REFRESH",
  "type": "authorized_user",
  "universe_domain": "googleapis.com"
}`;

/** `JSON.stringify(oauth2Client.credentials)` */
const NODE = `{"access_token":"ya29.SECRET-ACCESS","refresh_token":"1//0gSECRET-REFRESH","scope":"${GMAIL} ${DRIVE}","token_type":"Bearer","expiry_date":1781191182123}`;

function errorOf(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return e as UserError;
  }
  throw new Error('expected a UserError');
}

function expectNoSecret(s: string): void {
  for (const x of SECRETS) expect(s).not.toContain(x);
}

describe('Python google-auth shape', () => {
  it('is detected and mapped; unknown-to-credentials keys go to extra', () => {
    const t = parseTokenFile(PY, F);
    expect(t.shape).toBe('python');
    expect(t.credentials).toEqual({
      accessToken: 'ya29.SECRET-ACCESS',
      refreshToken: '1//0gSECRET-REFRESH',
      clientId: '1234-abc.apps.googleusercontent.com',
      clientSecret: 'GOCSPX-SECRET-CLIENT',
      tokenUri: 'https://oauth2.googleapis.com/token',
      scopes: [GMAIL, PUBSUB, DRIVE],
      expiryMs: Date.UTC(2026, 5, 11, 15, 19, 42, 123),
    });
    expect(t.extra).toEqual({ universe_domain: 'googleapis.com', account: '' });
  });

  it('round-trips byte for byte (current and older google-auth, trailing newline kept)', () => {
    expect(serializeToken(parseTokenFile(PY, F))).toBe(PY);
    expect(serializeToken(parseTokenFile(PY_OLD, F))).toBe(PY_OLD);
    expect(serializeToken(parseTokenFile(PY + '\n', F))).toBe(PY + '\n');
  });

  it('writes a refreshed token in Python order and format, keeping refresh token, scopes and account', () => {
    const t = parseTokenFile(PY, F);
    const next: TokenFile = { ...t, credentials: { ...t.credentials, accessToken: 'ya29.NEW', expiryMs: Date.UTC(2026, 5, 11, 16, 19, 41, 7) } };
    expect(serializeToken(next)).toBe(PY.replace('ya29.SECRET-ACCESS', 'ya29.NEW').replace('2026-06-11T15:19:42.123456Z', '2026-06-11T16:19:41.007000Z'));
    // Whole second: no fraction, like datetime.isoformat().
    const whole: TokenFile = { ...t, credentials: { ...t.credentials, expiryMs: Date.UTC(2026, 5, 11, 16, 0, 0) } };
    expect(serializeToken(whole)).toContain('"expiry": "2026-06-11T16:00:00Z"}');
    // An older file gets no keys it did not have.
    const old = parseTokenFile(PY_OLD, F);
    const oldNext = serializeToken({ ...old, credentials: { ...old.credentials, accessToken: 'ya29.NEW' } });
    expect(oldNext).toBe(PY_OLD.replace('ya29.SECRET-ACCESS', 'ya29.NEW'));
  });

  it('puts keys in to_json order (rapt_token between scopes and universe_domain), drops None, keeps unknown keys last', () => {
    const shuffled = JSON.stringify({
      expiry: '2026-01-02T03:04:05Z',
      quota_project_id: 'proj',
      account: 'alice@uni.edu',
      type: 'authorized_user',
      universe_domain: 'googleapis.com',
      rapt_token: 'rapt',
      scopes: [DRIVE],
      client_secret: 's',
      client_id: 'c',
      token_uri: 'https://oauth2.googleapis.com/token',
      refresh_token: 'r',
      token: null,
      nested: { a: [1, 2, { b: null }], é: true },
    });
    const t = parseTokenFile(shuffled, F);
    expect(t.shape).toBe('python');
    expect(t.credentials.accessToken).toBeUndefined();
    expect(serializeToken(t)).toBe(
      '{"refresh_token": "r", "token_uri": "https://oauth2.googleapis.com/token", "client_id": "c", "client_secret": "s", ' +
        `"scopes": ["${DRIVE}"], "rapt_token": "rapt", "universe_domain": "googleapis.com", "account": "alice@uni.edu", ` +
        '"expiry": "2026-01-02T03:04:05Z", "quota_project_id": "proj", "type": "authorized_user", ' +
        '"nested": {"a": [1, 2, {"b": null}], "\\u00e9": true}}',
    );
  });

  it('drops known keys whose value is null (as to_json does); keeps account ""', () => {
    const t = parseTokenFile('{"token": null, "refresh_token": "r", "client_id": "c", "client_secret": "s", "scopes": null, "rapt_token": null, "account": ""}', F);
    expect(t.credentials.scopes).toEqual([]);
    expect(serializeToken(t)).toBe('{"refresh_token": "r", "client_id": "c", "client_secret": "s", "account": ""}');
  });

  it('reads scopes written as one string (from_authorized_user_info accepts it) and writes a list when they change', () => {
    const t = parseTokenFile(`{"refresh_token": "r", "client_id": "c", "client_secret": "s", "scopes": "${GMAIL} ${DRIVE}"}`, F);
    expect(t.credentials.scopes).toEqual([GMAIL, DRIVE]);
    expect(serializeToken(t)).toContain(`"scopes": "${GMAIL} ${DRIVE}"`);
    expect(serializeToken({ ...t, credentials: { ...t.credentials, scopes: [DRIVE] } })).toContain(`"scopes": ["${DRIVE}"]`);
  });

  it('defaults token_uri to Google and does not add it when the file had none', () => {
    const t = parseTokenFile('{"refresh_token": "r", "client_id": "c", "client_secret": "s"}', F);
    expect(t.credentials.tokenUri).toBe(GOOGLE_TOKEN_URI);
    expect(t.credentials.expiryMs).toBeUndefined();
    expect(serializeToken(t)).toBe('{"refresh_token": "r", "client_id": "c", "client_secret": "s"}');
  });

  it('a new token is written as Python writes one after a sign-in', () => {
    const t = newPythonToken({
      accessToken: 'ya29.SECRET-ACCESS',
      refreshToken: '1//0gSECRET-REFRESH',
      clientId: '1234-abc.apps.googleusercontent.com',
      clientSecret: 'GOCSPX-SECRET-CLIENT',
      tokenUri: 'https://oauth2.googleapis.com/token',
      scopes: [GMAIL, PUBSUB, DRIVE],
      expiryMs: Date.UTC(2026, 5, 11, 15, 19, 42, 123),
    });
    expect(serializeToken(t)).toBe(PY.replace('.123456Z', '.123000Z'));
    expect(parseTokenFile(serializeToken(t), F).credentials).toEqual(t.credentials);
  });
});

describe('expiry', () => {
  it('parses what Python writes (fraction or none; Z optional: naive UTC) and explicit offsets', () => {
    expect(parsePythonExpiry('2026-06-11T15:19:42.123456Z')).toBe(Date.UTC(2026, 5, 11, 15, 19, 42, 123));
    expect(parsePythonExpiry('2026-06-11T15:19:42Z')).toBe(Date.UTC(2026, 5, 11, 15, 19, 42));
    expect(parsePythonExpiry('2026-06-11T15:19:42')).toBe(Date.UTC(2026, 5, 11, 15, 19, 42));
    expect(parsePythonExpiry('2026-06-11T15:19:42.5')).toBe(Date.UTC(2026, 5, 11, 15, 19, 42, 500));
    expect(parsePythonExpiry('2026-06-11T15:19:42.290000Z')).toBe(Date.UTC(2026, 5, 11, 15, 19, 42, 290));
    expect(parsePythonExpiry('2026-06-11T17:19:42+02:00')).toBe(Date.UTC(2026, 5, 11, 15, 19, 42));
    expect(parsePythonExpiry('yesterday')).toBeUndefined();
    expect(parsePythonExpiry('2026-06-11')).toBeUndefined();
  });

  it("formats like isoformat()+'Z': six fraction digits, none when zero", () => {
    expect(formatPythonExpiry(Date.UTC(2026, 5, 11, 15, 19, 42, 123))).toBe('2026-06-11T15:19:42.123000Z');
    expect(formatPythonExpiry(Date.UTC(2026, 5, 11, 15, 19, 42, 5))).toBe('2026-06-11T15:19:42.005000Z');
    expect(formatPythonExpiry(Date.UTC(2026, 5, 11, 15, 19, 42))).toBe('2026-06-11T15:19:42Z');
    expect(formatPythonExpiry(Date.UTC(2026, 5, 11, 15, 19, 42) + 0.7)).toBe('2026-06-11T15:19:42Z');
  });

  it('an unreadable expiry is a UserError naming the key', () => {
    const e = errorOf(() => parseTokenFile('{"refresh_token": "r", "client_id": "c", "client_secret": "s", "expiry": "soon"}', F));
    expect(e.message).toContain(F);
    expect(e.message).toContain('"expiry"');
  });
});

describe('gcloud / google-auth-library authorized_user shape', () => {
  it('is detected, mapped, and round-trips byte for byte', () => {
    const t = parseTokenFile(ADC, F);
    expect(t.shape).toBe('authorized_user');
    expect(t.credentials).toEqual({
      refreshToken: '1//0gSECRET-REFRESH',
      clientId: '1234-abc.apps.googleusercontent.com',
      clientSecret: 'GOCSPX-SECRET-CLIENT',
      tokenUri: GOOGLE_TOKEN_URI,
      scopes: [],
    });
    expect(t.extra).toEqual({ account: '', quota_project_id: 'my-project', type: 'authorized_user', universe_domain: 'googleapis.com' });
    expect(serializeToken(t)).toBe(ADC);
    expect(serializeToken(parseTokenFile(ADC + '\n', F))).toBe(ADC + '\n');
  });

  it('stays in its shape: an access token is not added, a rotated refresh token replaces the old one in place', () => {
    const t = parseTokenFile(ADC, F);
    const out = serializeToken({ ...t, credentials: { ...t.credentials, accessToken: 'ya29.NEW', expiryMs: 1, refreshToken: '1//ROTATED' } });
    expect(out).toBe(ADC.replace('1//0gSECRET-REFRESH', '1//ROTATED'));
  });

  it('the minimal {type, client_id, client_secret, refresh_token} file', () => {
    const min = '{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"r"}';
    expect(detectShape(JSON.parse(min))).toBe('authorized_user');
    expect(serializeToken(parseTokenFile(min, F))).toBe(min);
    // With Python's separators it stays that way.
    const py = '{"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": "r"}';
    expect(serializeToken(parseTokenFile(py, F))).toBe(py);
  });
});

describe('google-auth-library OAuth2Client credentials shape', () => {
  const client = { clientId: 'from-credentials-json', clientSecret: 'GOCSPX-SECRET-CLIENT' };

  it('needs the client from credentials.json, and says so', () => {
    const e = errorOf(() => parseTokenFile(NODE, F));
    expect(e.message).toContain(F);
    expect(e.message).toContain('"client_id"');
    expect(e.message).toContain('"client_secret"');
    expect(e.message).toContain('credentials.json');
    expectNoSecret(e.message);
  });

  it('is detected, mapped, and round-trips byte for byte without gaining the client id/secret', () => {
    const t = parseTokenFile(NODE, F, { fallbackClient: client });
    expect(t.shape).toBe('oauth2client');
    expect(t.credentials).toEqual({
      accessToken: 'ya29.SECRET-ACCESS',
      refreshToken: '1//0gSECRET-REFRESH',
      clientId: 'from-credentials-json',
      clientSecret: 'GOCSPX-SECRET-CLIENT',
      tokenUri: GOOGLE_TOKEN_URI,
      scopes: [GMAIL, DRIVE],
      expiryMs: 1781191182123,
    });
    expect(t.extra).toEqual({ token_type: 'Bearer' });
    expect(serializeToken(t)).toBe(NODE);
  });

  it('writes a refreshed token in place (same keys, same order), scope kept as found', () => {
    const t = parseTokenFile(NODE, F, { fallbackClient: client });
    const out = serializeToken({ ...t, credentials: { ...t.credentials, accessToken: 'ya29.NEW', expiryMs: 1781194782000 } });
    expect(out).toBe(NODE.replace('ya29.SECRET-ACCESS', 'ya29.NEW').replace('1781191182123', '1781194782000'));
  });

  it('keeps its own client id/secret and pretty-printing when the file has them', () => {
    const pretty = JSON.stringify({ access_token: 'a', refresh_token: 'r', expiry_date: 5, client_id: 'c', client_secret: 's', id_token: null }, null, 4) + '\n';
    const t = parseTokenFile(pretty, F);
    expect(t.credentials.clientId).toBe('c');
    expect(t.extra).toEqual({ id_token: null });
    expect(serializeToken(t)).toBe(pretty);
    const added = serializeToken({ ...t, credentials: { ...t.credentials, scopes: [DRIVE] } });
    expect(JSON.parse(added)).toEqual({ access_token: 'a', refresh_token: 'r', expiry_date: 5, client_id: 'c', client_secret: 's', id_token: null, scope: DRIVE });
  });

  it('rejects a non-numeric expiry_date', () => {
    const e = errorOf(() => parseTokenFile('{"access_token":"a","refresh_token":"r","client_id":"c","client_secret":"s","expiry_date":"tomorrow"}', F));
    expect(e.message).toContain('"expiry_date"');
  });
});

describe('errors name the file and the key, never a value', () => {
  it.each([
    ['refresh_token', '{"token": "ya29.SECRET-ACCESS", "client_id": "c", "client_secret": "GOCSPX-SECRET-CLIENT"}'],
    ['client_id', '{"token": "ya29.SECRET-ACCESS", "refresh_token": "1//0gSECRET-REFRESH", "client_secret": "GOCSPX-SECRET-CLIENT"}'],
    ['client_secret', '{"token": "ya29.SECRET-ACCESS", "refresh_token": "1//0gSECRET-REFRESH", "client_id": "c"}'],
  ])('missing %s', (key, text) => {
    const e = errorOf(() => parseTokenFile(text, F));
    expect(e.message).toContain(F);
    expect(e.message).toContain(`missing "${key}"`);
    expect(e.message).toContain('syft-bg init');
    expect(e.exitCode).toBe(2);
    expectNoSecret(e.message);
  });

  it('lists every missing key; empty strings count as missing', () => {
    const e = errorOf(() => parseTokenFile('{"refresh_token": "", "scopes": []}', F));
    expect(e.message).toContain('missing "refresh_token", "client_id", "client_secret"');
  });

  it('bad JSON, a non-object, wrong types, another credential type', () => {
    const cut = '{"token": "ya29.SECRET-ACCESS", "refresh_token": "1//0gSECRET-REFRESH"';
    for (const text of [cut, 'ya29.SECRET-ACCESS', '', '[1]', 'null']) {
      const e = errorOf(() => parseTokenFile(text, F));
      expect(e.message).toContain(F);
      expectNoSecret(e.message);
    }
    const wrongType = errorOf(() => parseTokenFile('{"refresh_token": 12345678, "client_id": "c", "client_secret": "s"}', F));
    expect(wrongType.message).toContain('"refresh_token" must be a string');
    expect(wrongType.message).not.toContain('12345678');
    const scopes = errorOf(() => parseTokenFile('{"refresh_token": "r", "client_id": "c", "client_secret": "s", "scopes": [1]}', F));
    expect(scopes.message).toContain('"scopes"');
    const sa = errorOf(() => parseTokenFile('{"type": "service_account", "private_key": "-----BEGIN SECRET", "client_id": "c"}', F));
    expect(sa.message).toContain("'service_account'");
    expect(sa.message).not.toContain('BEGIN SECRET');
    // A secret in "type" (a file mixed up by hand) is not echoed either.
    const leaked = errorOf(() => parseTokenFile('{"type": "1//0gSECRET-refresh", "refresh_token": "r", "client_id": "c", "client_secret": "s"}', F));
    expect(leaked.message).toContain('"type" is an unexpected value');
    expect(leaked.message).not.toContain('SECRET');
  });
});

describe("pyJsonDumps = Python's json.dumps defaults", () => {
  it('matches CPython output (separators, ensure_ascii, DEL, astral, control characters, exponents)', () => {
    // Expected string produced by CPython 3 json.dumps on the same value.
    const v = { a: { b: [1, 2, { c: null }], d: true }, e: 1e-7, f: -2.5e-300, g: 'tab\there "q" back\\ nl\n é \x7f 😀 \x1f', h: [], i: {} };
    expect(pyJsonDumps(v)).toBe(
      '{"a": {"b": [1, 2, {"c": null}], "d": true}, "e": 1e-07, "f": -2.5e-300, "g": "tab\\there \\"q\\" back\\\\ nl\\n \\u00e9 \\u007f \\ud83d\\ude00 \\u001f", "h": [], "i": {}}',
    );
  });
});

describe('readTokenFile / writeTokenFile', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokfile-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes atomically with mode 0600 (also over a 0644 file) and reads back', () => {
    const file = path.join(dir, 'token.json');
    fs.writeFileSync(file, PY, { mode: 0o644 });
    const t = readTokenFile(file);
    writeTokenFile(file, { ...t, credentials: { ...t.credentials, accessToken: 'ya29.NEW' } });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8')).toBe(PY.replace('ya29.SECRET-ACCESS', 'ya29.NEW'));
    expect(fs.readdirSync(dir)).toEqual(['token.json']);
  });

  it('a missing file is a UserError that says how to get one', () => {
    const e = errorOf(() => readTokenFile(path.join(dir, 'nope.json')));
    expect(e.message).toContain(path.join(dir, 'nope.json'));
    expect(e.message).toContain('syft-bg init');
  });
});
