import * as fs from 'node:fs';
import * as path from 'node:path';
import { simpleParser } from 'mailparser';
import { makeSandbox, Sandbox, statusJson, waitFor } from '../helpers/sandbox';
import { startEmulator, Emulator } from '../emulator';
import { gmailState, mailbox } from '../emulator/gmail';

// The whole stack: CLI → PM2 → notify service → token.json (Python shape) → OAuth refresh → Gmail send,
// all against the loopback emulator through SYFT_BG_GOOGLE_ROOT_URL.
describe('notify over Gmail (emulator) under a real PM2 daemon', () => {
  let sb: Sandbox;
  let emu: Emulator;
  let env: NodeJS.ProcessEnv;
  let refreshToken: string;
  beforeAll(async () => {
    emu = await startEmulator();
    const u = emu.world.addUser('do@example.com', { scopes: ['https://www.googleapis.com/auth/gmail.modify', 'https://www.googleapis.com/auth/drive'] });
    refreshToken = u.refreshToken;
    sb = makeSandbox('gmail');
    env = { SYFT_BG_GOOGLE_ROOT_URL: emu.url };
    // A token.json exactly as Python's google-auth writes it, already expired: the service must refresh it.
    const tok = path.join(sb.dir, 'token.json');
    fs.writeFileSync(
      tok,
      JSON.stringify({
        token: 'ya29.expired-access-token',
        refresh_token: u.refreshToken,
        token_uri: 'https://oauth2.googleapis.com/token',
        client_id: u.clientId,
        client_secret: u.clientSecret,
        scopes: u.scopes,
        universe_domain: 'googleapis.com',
        account: '',
        expiry: '2020-01-01T00:00:00.123456Z',
      }),
    );
    const r = sb.cli(['init', '-e', 'do@example.com', '-t', tok], { env });
    expect(r.code).toBe(0);
    // Gmail for e-mail; the SyftBox side stays local here (this test is about Gmail).
    const cfg = path.join(sb.syftBgHome, 'config.yaml');
    fs.writeFileSync(cfg, fs.readFileSync(cfg, 'utf8').replace(/(transports:[\s\S]*?syftbox: )\w+/, '$1local'));
  });
  afterAll(async () => {
    sb.cleanup();
    await emu.close();
  });

  it('sends the heartbeat through Gmail once, refreshing the Python-shaped token and writing it back as Python wrote it', async () => {
    const s = statusJson(sb);
    expect(s.config.transports).toMatchObject({ email: 'gmail', syftbox: 'local' });
    const r = await sb.cliAsync(['start', 'notify'], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const box = () => mailbox(gmailState(emu.world), 'do@example.com');
    const sent = await waitFor('heartbeat in Gmail', () => {
      const msgs = [...box().messages.values()].filter((m) => m.labelIds.includes('SENT'));
      return msgs.length > 0 && msgs;
    });
    expect(sent).toHaveLength(1);
    const mail = await simpleParser(sent[0]!.raw);
    expect(mail.subject).toBe('heartbeat: syft-bg still running, token is active');
    expect(emu.world.counters.get('oauth.token')).toBeGreaterThanOrEqual(1);
    expect(emu.world.counters.get('gmail.messages.send')).toBe(1);

    // token.json: refreshed, still Python-shaped (key order, expiry format), same refresh token, mode 0600.
    const stored = path.join(sb.syftBgHome, 'token.json');
    await waitFor('token written back', () => !fs.readFileSync(stored, 'utf8').includes('ya29.expired-access-token'));
    const text = fs.readFileSync(stored, 'utf8');
    const tok = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(tok)).toEqual(['token', 'refresh_token', 'token_uri', 'client_id', 'client_secret', 'scopes', 'universe_domain', 'account', 'expiry']);
    expect(tok.refresh_token).toBe(refreshToken);
    expect(tok.expiry).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$/);
    expect(fs.statSync(stored).mode & 0o777).toBe(0o600);
    // No token in the service's logs.
    const logs = sb.cli(['logs', 'notify', '-n', '100', '--json']).stdout;
    expect(logs).toContain('heartbeat sent');
    expect(logs).not.toContain(refreshToken);
    expect(logs).not.toContain(String(tok.token));

    // A restart does not send another heartbeat.
    expect((await sb.cliAsync(['restart', 'notify'], { env })).code).toBe(0);
    await waitFor('notify restarted', () => sb.cli(['logs', 'notify', '-n', '200', '--json']).stdout.split('notify started').length >= 3);
    await new Promise((r) => setTimeout(r, 500));
    expect(emu.world.counters.get('gmail.messages.send')).toBe(1);
  });

  it('a token revoked while notify runs: it logs what to do (no token in it), keeps running and backs off; started again, it refuses', async () => {
    const rev = await fetch(`${emu.url}revoke?token=${encodeURIComponent(refreshToken)}`, { method: 'POST' });
    expect(rev.status).toBe(200);
    // A heartbeat is due at the next pass: its send meets the revoked grant (401, then invalid_grant on the refresh).
    const stored = path.join(sb.syftBgHome, 'token.json');
    fs.rmSync(path.join(sb.syftBgHome, 'notify', 'heartbeat.json'));
    const logs = await waitFor('refresh failure logged', () => {
      const l = sb.cli(['logs', 'notify', '-n', '200']).stdout;
      return /syft-bg init/.test(l) && l;
    }, 20_000);
    expect(logs).not.toContain(refreshToken);
    expect(logs).toMatch(/heartbeat not sent: .*syft-bg init/);
    const sends = emu.world.counters.get('oauth.token') ?? 0;
    await new Promise((r) => setTimeout(r, 6000)); // more than one pass (interval 5 s)
    expect(emu.world.counters.get('oauth.token') ?? 0).toBe(sends);
    expect(statusJson(sb).services.find((x) => x.name === 'notify')!.state).toBe('online');
    // Started again, notify checks its token with Google first (apps/notify/gmail-check.ts) and does not start.
    const r = await sb.cliAsync(['restart', 'notify'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`notify did not start: Google refused the refresh token in ${stored} (invalid_grant`);
    expect(r.stderr).not.toContain(refreshToken);
    expect(statusJson(sb).services.find((x) => x.name === 'notify')!.state).toBe('stopped');
  });
});
