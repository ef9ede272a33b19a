/**
 * `syft-bg setup-status` on the token files (lib/api/status setupStatus → lib/setup-check with the real files of a
 * temporary home): each token an active Google transport uses is parsed as the services will parse it, and checked for
 * the scope its transport needs. Also the layout of multi-line details.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setupStatus } from '../../lib/api/status';
import { renderChecks, type Check } from '../../lib/setup-check';

const GMAIL = 'https://www.googleapis.com/auth/gmail.modify';
const DRIVE = 'https://www.googleapis.com/auth/drive';

let dir: string;
let home: string;
let tok: string;
beforeEach(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'setup-check-')));
  home = path.join(dir, '.syft-bg');
  tok = path.join(home, 'token.json');
  fs.mkdirSync(home);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function config(email: 'gmail' | 'maildir', syftbox: 'drive' | 'local', extra = ''): void {
  fs.writeFileSync(
    path.join(home, 'config.yaml'),
    `do_email: a@b.org\nsyftbox_root: ${dir}\n${extra}transports:\n  email: ${email}\n  syftbox: ${syftbox}\n`,
  );
}

async function checks(): Promise<{ token: Check[]; text: string; ready: boolean }> {
  const r = await setupStatus({ home, env: { HOME: dir, PM2_HOME: path.join(dir, 'pm2') } });
  const { text, ready } = renderChecks(r.checks);
  expect(ready).toBe(r.ready);
  return { token: r.checks.filter((c) => c.label === 'token'), text, ready };
}

const py = (scopes: string[]) =>
  JSON.stringify({ token: 'ya29.TOPSECRET', refresh_token: '1//TOPSECRET', client_id: 'c.apps', client_secret: 'TOPSECRET-cs', scopes });

describe('setup-status: tokens of the active Google transports', () => {
  it('a token without gmail.modify while transports.email is gmail: ✗ with the fix for Gmail', async () => {
    config('gmail', 'local');
    fs.writeFileSync(tok, py([DRIVE]));
    const r = await checks();
    expect(r.ready).toBe(false);
    expect(r.token).toEqual([
      {
        mark: '✗',
        label: 'token',
        detail: `${tok} (scopes: drive) does not allow Gmail (gmail.modify)`,
        fix: `move ${tok} away and sign in again with 'syft-bg init -e a@b.org' to allow Gmail, or set transports.email: maildir`,
      },
    ]);
  });

  it('one file for both transports, lacking both: one ✗ naming both', async () => {
    config('gmail', 'drive');
    fs.writeFileSync(tok, py(['https://www.googleapis.com/auth/drive.readonly']));
    const [t] = (await checks()).token;
    expect(t!.detail).toBe(`${tok} (scopes: drive.readonly) does not allow Gmail and Drive (gmail.modify, drive)`);
    expect(t!.fix).toContain('to allow Gmail and Drive, or set transports.email: maildir and transports.syftbox: local');
  });

  it('only the tokens of active transports are checked: a missing Gmail token does not matter on the Maildir', async () => {
    config('maildir', 'drive', `gmail_token_path: ${path.join(dir, 'nope.json')}\n`);
    fs.writeFileSync(tok, py([DRIVE]));
    const r = await checks();
    expect(r.token).toEqual([{ mark: '✓', label: 'token', detail: `${tok} (scopes: drive)` }]);
    expect(r.ready).toBe(true);
  });

  it('a token listing no scopes (authorized_user) is taken as it is', async () => {
    config('gmail', 'drive');
    fs.writeFileSync(tok, JSON.stringify({ type: 'authorized_user', client_id: 'c', client_secret: 'TOPSECRET', refresh_token: '1//TOPSECRET' }));
    const r = await checks();
    expect(r.token).toEqual([{ mark: '✓', label: 'token', detail: `${tok} (the file lists no scopes)` }]);
    expect(r.ready).toBe(true);
  });

  it('a saved OAuth2Client token needs credentials.json beside it, as the services read it', async () => {
    config('gmail', 'drive');
    fs.writeFileSync(tok, JSON.stringify({ access_token: 'ya29.TOPSECRET', refresh_token: '1//TOPSECRET', scope: `${GMAIL} ${DRIVE}`, expiry_date: 1 }));
    const without = await checks();
    expect(without.token[0]).toMatchObject({ mark: '✗', detail: expect.stringContaining(`put its OAuth client file (credentials.json) at ${home}/credentials.json`) });
    fs.writeFileSync(path.join(home, 'credentials.json'), JSON.stringify({ installed: { client_id: 'c.apps', client_secret: 'TOPSECRET' } }));
    const withCreds = await checks();
    expect(withCreds.token).toEqual([{ mark: '✓', label: 'token', detail: `${tok} (scopes: gmail.modify, drive)` }]);
    fs.writeFileSync(path.join(home, 'credentials.json'), '{"TOPSECRET": 1}');
    const badCreds = await checks();
    expect(badCreds.token[0]).toMatchObject({ mark: '✗', detail: `OAuth client file ${home}/credentials.json: expected {"installed": {...}} as downloaded from the Google Cloud console` });
    for (const r of [without, withCreds, badCreds]) expect(r.text).not.toContain('TOPSECRET');
  });

  it('a service-account key and a file that is not JSON: ✗ with the reason, never the content', async () => {
    config('gmail', 'local');
    fs.writeFileSync(tok, JSON.stringify({ type: 'service_account', private_key: 'TOPSECRET' }));
    const sa = await checks();
    expect(sa.token[0]!.detail).toBe(
      `Google token file ${tok}: "type" is 'service_account'; syft-bg needs an OAuth user token ("authorized_user"), e.g. from 'syft-bg init'`,
    );
    fs.writeFileSync(tok, 'ya29.TOPSECRET');
    const notJson = await checks();
    expect(notJson.token[0]!.detail).toMatch(/^Google token file .*: not valid JSON/);
    for (const r of [sa, notJson]) {
      expect(r.ready).toBe(false);
      expect(r.text).not.toContain('TOPSECRET');
    }
  });
});

describe('setup-status: credentials.json', () => {
  const cred = async () => (await setupStatus({ home, env: { HOME: dir, PM2_HOME: path.join(dir, 'pm2') } })).checks.find((c) => c.label === 'credentials.json')!;
  const missing = (why: string) => ({
    mark: '✗',
    label: 'credentials.json',
    detail: `missing at ${home}/credentials.json (${why})`,
    fix: 'Google Cloud Console → APIs & Services → Credentials → Create OAuth client ID (Desktop app) → download it to that path',
  });

  it('"not needed" only while every token line is ✓ and none takes its client id from it', async () => {
    config('gmail', 'drive');
    fs.writeFileSync(tok, py([GMAIL, DRIVE]));
    expect(await cred()).toEqual({ mark: '-', label: 'credentials.json', detail: 'not needed while the token is valid' });
    fs.writeFileSync(tok, py([GMAIL]));
    expect(await cred()).toEqual(missing('needed to sign in again'));
    fs.writeFileSync(tok, '{"type": "service_account"}');
    expect(await cred()).toEqual(missing('needed to sign in again'));
    fs.writeFileSync(tok, JSON.stringify({ access_token: 'ya29.TOPSECRET', refresh_token: '1//TOPSECRET', scope: `${GMAIL} ${DRIVE}`, expiry_date: 1 }));
    expect(await cred()).toEqual(missing('the saved OAuth2Client token takes its client id from it'));
    fs.writeFileSync(path.join(home, 'credentials.json'), JSON.stringify({ installed: { client_id: 'c.apps', client_secret: 'TOPSECRET' } }));
    expect(await cred()).toEqual({ mark: '✓', label: 'credentials.json', detail: `${home}/credentials.json` });
  });
});

describe('setup-status: the SyftBox folder', () => {
  const folder = async () => (await setupStatus({ home, env: { HOME: dir, PM2_HOME: path.join(dir, 'pm2') } })).checks.find((c) => c.label === 'SyftBox folder')!;
  const root = (r: string, syftbox: 'drive' | 'local') =>
    fs.writeFileSync(path.join(home, 'config.yaml'), `do_email: a@b.org\nsyftbox_root: ${r}\ntransports:\n  email: maildir\n  syftbox: ${syftbox}\n`);

  it('on Drive, a missing folder that can be created is left to the first sync; one below a file is ✗ with the reason', async () => {
    root(path.join(dir, 'a', 'box'), 'drive');
    expect(await folder()).toEqual({ mark: '-', label: 'SyftBox folder', detail: `${dir}/a/box (created by the first sync)` });
    const f = path.join(dir, 'f');
    fs.writeFileSync(f, 'x');
    for (const syftbox of ['drive', 'local'] as const) {
      root(`${f}/box`, syftbox);
      expect(await folder()).toEqual({
        mark: '✗',
        label: 'SyftBox folder',
        detail: `${f}/box cannot be created: ${f} is a file, not a folder`,
        fix: `move ${f} away, or point syftbox_root at your SyftBox folder ('syft-bg init -e a@b.org -r FOLDER')`,
      });
    }
  });
});

describe('setup-status layout', () => {
  it('continuation lines of a detail start under the detail column, those of a fix under the fix text', () => {
    const { text } = renderChecks([{ mark: '✗', label: 'config.yaml', detail: 'invalid: first\nsecond', fix: 'do this\nthen that' }]);
    expect(text.split('\n').slice(2, 6)).toEqual([
      '  ✗ config.yaml        invalid: first',
      '                       second',
      '      fix: do this',
      '           then that',
    ]);
  });
});
