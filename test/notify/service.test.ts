import * as fs from 'node:fs';
import * as path from 'node:path';
import { simpleParser } from 'mailparser';
import { makeSandbox, Sandbox, statusJson, waitFor } from '../helpers/sandbox';
import { startEmulator, Emulator } from '../emulator';
import { gmailState, mailbox } from '../emulator/gmail';
import { DO, DS, setState, writeBashJob } from './helpers';

// The notify service under a real PM2 daemon, mailing through Gmail (the loopback emulator): a job's lifecycle,
// and a kill -9 between Gmail accepting a mail and the service recording it.
describe('notify service (Gmail emulator, real PM2)', () => {
  let sb: Sandbox;
  let emu: Emulator;
  let env: NodeJS.ProcessEnv;
  let root: string;
  const journal = () =>
    fs.existsSync(path.join(sb.syftBgHome, 'notify', 'journal.jsonl'))
      ? fs.readFileSync(path.join(sb.syftBgHome, 'notify', 'journal.jsonl'), 'utf8').split('\n').filter(Boolean).flatMap((l) => { try { return [JSON.parse(l)]; } catch { return []; } })
      : [];
  const last = (key: RegExp) => journal().filter((r) => key.test(r.k)).pop();
  const sent = () => [...mailbox(gmailState(emu.world), DO).messages.values()].filter((m) => m.labelIds.includes('SENT'));

  beforeAll(async () => {
    emu = await startEmulator();
    const u = emu.world.addUser(DO, { scopes: ['https://www.googleapis.com/auth/gmail.modify', 'https://www.googleapis.com/auth/drive'] });
    sb = makeSandbox('ntfy');
    env = { SYFT_BG_GOOGLE_ROOT_URL: emu.url };
    root = path.join(sb.dir, 'SyftBox');
    const tok = path.join(sb.dir, 'token.json');
    fs.writeFileSync(tok, JSON.stringify({ token: u.accessToken, refresh_token: u.refreshToken, token_uri: 'https://oauth2.googleapis.com/token', client_id: u.clientId, client_secret: u.clientSecret, scopes: u.scopes, expiry: new Date(Date.now() + 3600_000).toISOString() }));
    expect(sb.cli(['init', '-e', DO, '-r', root, '-t', tok], { env }).code).toBe(0);
    const cfg = path.join(sb.syftBgHome, 'config.yaml');
    let text = fs.readFileSync(cfg, 'utf8').replace(/(transports:[\s\S]*?syftbox: )\w+/, '$1local');
    text = text.replace(/^notify:\n/m, 'notify:\n  lookup_grace_seconds: 5\n').replace(/^(  heartbeat_enabled: )true$/m, '$1false');
    fs.writeFileSync(cfg, text);
    fs.mkdirSync(path.join(root, DO, 'app_data', 'job', 'inbox'), { recursive: true });
    // An existing job before the first start: seeded, never mailed.
    writeBashJob(root, DS, 'old', 'echo old\n');
    const r = await sb.cliAsync(['start', 'notify'], { env });
    // A job that lands right after `start` returned, while the service may still be seeding: it must be mailed.
    writeBashJob(root, DS, 'early', 'echo early\n');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    await waitFor('journal created', () => journal().length > 0, 20_000);
  });
  afterAll(async () => {
    sb.cleanup();
    await emu.close();
  });

  it('a job written right after `syft-bg start` returned is mailed (not seeded as existing); the old one is not', async () => {
    await waitFor('early mails', () => last(/"early","new"\]$/)?.s === 'sent' && last(/"early","submitted"\]$/)?.s === 'sent', 20_000);
    expect(last(/"old","new"\]$/)?.s).toBe('seen');
  });

  it("a job's lifecycle produces the reference mails, each once, threaded", async () => {
    writeBashJob(root, DS, 'life', 'echo life\n');
    await waitFor('new-job mails', () => last(/"life","submitted"\]$/)?.s === 'sent', 20_000);
    setState(root, DS, 'life', 'approved');
    await waitFor('approved mails', () => last(/"life","approved_do"\]$/)?.s === 'sent', 20_000);
    setState(root, DS, 'life', 'done');
    await waitFor('completed mails', () => last(/"life","completed_do"\]$/)?.s === 'sent' && last(/"life","executed"\]$/)?.s === 'sent', 20_000);
    const mails = await Promise.all(sent().map(async (m) => ({ m, p: await simpleParser(m.raw) })));
    const life = mails.filter((x) => x.p.subject?.endsWith('life'));
    expect(life.map((x) => x.p.subject).sort()).toEqual(['Job Submitted: life', 'Job: life', 'Re: Job Submitted: life', 'Re: Job Submitted: life', 'Re: Job: life', 'Re: Job: life'].sort());
    const doMails = life.filter((x) => x.m.labelIds.includes('INBOX'));
    expect(doMails).toHaveLength(3);
    expect(new Set(doMails.map((x) => x.m.threadId)).size).toBe(1);
    expect(mails.some((x) => x.p.subject?.endsWith('old'))).toBe(false);
    const st = JSON.parse(fs.readFileSync(path.join(sb.syftBgHome, 'notify', 'status.json'), 'utf8'));
    expect(st).toMatchObject({ transport: 'gmail', failing: [] });
  });

  it('kill -9 after Gmail accepted a mail but before it was recorded: no duplicate after the PM2 restart', async () => {
    // Gmail answers the next send only after 3 s: the service is killed while it waits for the answer.
    emu.world.faults.push({ route: 'gmail.messages.send', latencyMs: 3000, count: 1 });
    const sends0 = emu.world.counters.get('gmail.messages.send') ?? 0;
    writeBashJob(root, DS, 'kill', 'echo kill\n');
    const intent = await waitFor('intent recorded', () => { const r = last(/"kill","new"\]$/); return r?.s === 'intent' && r; }, 20_000);
    const pid = statusJson(sb).services.find((s) => s.name === 'notify')!.pid!;
    process.kill(pid, 'SIGKILL');
    // Gmail still processes the request it received.
    await waitFor('Gmail stored the mail', () => sent().some((m) => `<${m.rfcId}>` === intent.mid), 10_000);
    await waitFor('recovered and went on', () => last(/"kill","new"\]$/)?.s === 'sent' && last(/"kill","submitted"\]$/)?.s === 'sent', 30_000);
    expect(sent().filter((m) => `<${m.rfcId}>` === intent.mid)).toHaveLength(1);
    expect((emu.world.counters.get('gmail.messages.send') ?? 0) - sends0).toBe(2); // the new-job mail once, the DS mail once
    const s = statusJson(sb).services.find((x) => x.name === 'notify')!;
    expect(s.pid).not.toBe(pid);
    expect(s.restarts).toBeGreaterThanOrEqual(1);
    const logs = sb.cli(['logs', 'notify', '-n', '200']).stdout;
    expect(logs).toMatch(/already delivered before a restart/);
  });
});
