import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  HEARTBEAT_SUBJECT,
  intervalHuman,
  heartbeatContent,
  heartbeatEmail,
  heartbeatDue,
  formatLocalTimestamp,
  formatLongDateTime,
} from '../../lib/notify/heartbeat';
import { buildMime } from '../../lib/mail/message';
import { MaildirTransport, listMaildir } from '../../lib/mail/maildir';
import { parse, mailboxes } from './parse';

/** 2026-01-02 15:04:05 in the local time zone of the test process, whatever it is. */
const SENT = new Date(2026, 0, 2, 15, 4, 5);

/** Appendix A, "Heartbeat → DO", verbatim. */
const APPENDIX_A = `syft-bg is still running.

Account: do@example.org
Sent: 2026-01-02 15:04:05
Heartbeat interval: 1d

Receiving this email confirms the notify service is up and the Gmail token is still valid. If these stop arriving, check \`syft-bg status\`.
`;

describe('intervalHuman', () => {
  it.each([
    [86400, '1d'], [172800, '2d'], [90000, '25h'], [3600, '1h'], [7200, '2h'], [60, '1m'], [120, '2m'], [5400, '90m'],
    [90, '90s'], [61, '61s'], [1, '1s'], [604800, '7d'],
  ])('%i s → %s', (s, want) => {
    expect(intervalHuman(s)).toBe(want);
  });
});

describe('heartbeat content', () => {
  it('has the reference subject and, with Gmail, the Appendix A body byte for byte', () => {
    const c = heartbeatContent({ doEmail: 'do@example.org', now: SENT, intervalSeconds: 86400, transport: { kind: 'gmail' } });
    expect(c.subject).toBe('heartbeat: syft-bg still running, token is active');
    expect(HEARTBEAT_SUBJECT).toBe(c.subject);
    expect(c.text).toBe(APPENDIX_A);
    expect(heartbeatContent({ doEmail: 'do@example.org', now: SENT, intervalSeconds: 86400, transport: 'gmail' }).text).toBe(APPENDIX_A);
  });

  it('with a Maildir names the folder instead of a Gmail token, subject unchanged', () => {
    const c = heartbeatContent({ doEmail: 'do@example.org', now: SENT, intervalSeconds: 90000, transport: { kind: 'maildir', path: '/home/do/.syft-bg/mail' } });
    expect(c.subject).toBe(HEARTBEAT_SUBJECT);
    expect(c.text).toBe(`syft-bg is still running.

Account: do@example.org
Sent: 2026-01-02 15:04:05
Heartbeat interval: 25h
Transport: maildir (/home/do/.syft-bg/mail)

Receiving this email confirms the notify service is up and can still deliver mail. If these stop arriving, check \`syft-bg status\`.
`);
    expect(c.text).not.toMatch(/Gmail|token/);
    // The string form (what the notify service passes) gives the same text.
    expect(heartbeatContent({ doEmail: 'do@example.org', now: SENT, intervalSeconds: 90000, transport: 'maildir (/home/do/.syft-bg/mail)' }).text).toBe(c.text);
  });

  it('renders the heartbeat.html rows, escaped', () => {
    const c = heartbeatContent({ doEmail: 'a&b@example.org', now: SENT, intervalSeconds: 3600, transport: { kind: 'maildir', path: '/tmp/<x>&"y"' } });
    expect(c.html).toContain('<title>syft-bg heartbeat</title>');
    expect(c.html).toContain('>syft-bg is still running</h1>');
    expect(c.html).toContain('>a&amp;b@example.org<');
    expect(c.html).toContain('>January 02, 2026 at 03:04 PM<');
    expect(c.html).toContain('>1h<');
    expect(c.html).toContain('>maildir (/tmp/&lt;x&gt;&amp;&quot;y&quot;)<');
    expect(c.html).toContain('>Healthy</span>');
    expect(c.html).toContain('syft-bg status');
    expect(c.html).toContain('This is an automated notification from SyftBox.');
    expect(c.html).not.toContain('<x>');
    const rows = [...c.html.matchAll(/<tr><td[^>]*>([^<]*)<\/td>/g)].map((m) => m[1]);
    expect(rows).toEqual(['Account', 'Sent', 'Heartbeat interval', 'Transport', 'Status']);
    const gmail = heartbeatContent({ doEmail: 'do@example.org', now: SENT, intervalSeconds: 60, transport: { kind: 'gmail' } });
    expect([...gmail.html.matchAll(/<tr><td[^>]*>([^<]*)<\/td>/g)].map((m) => m[1])).toEqual(['Account', 'Sent', 'Heartbeat interval', 'Status']);
  });

  it('formats times like the reference (local time)', () => {
    expect(formatLocalTimestamp(new Date(2026, 10, 5, 7, 8, 9))).toBe('2026-11-05 07:08:09');
    expect(formatLongDateTime(new Date(2026, 0, 2, 0, 4))).toBe('January 02, 2026 at 12:04 AM');
    expect(formatLongDateTime(new Date(2026, 11, 31, 12, 0))).toBe('December 31, 2026 at 12:00 PM');
    expect(formatLongDateTime(new Date(2026, 5, 9, 23, 59))).toBe('June 09, 2026 at 11:59 PM');
  });
});

describe('heartbeatDue', () => {
  const now = new Date('2026-01-02T12:00:00Z');
  it('is due when none was ever sent or the record is unreadable', () => {
    expect(heartbeatDue(undefined, now, 86400)).toBe(true);
    expect(heartbeatDue('', now, 86400)).toBe(true);
    expect(heartbeatDue('yesterday-ish', now, 86400)).toBe(true);
  });
  it('is not due within the interval, and due once it has passed', () => {
    expect(heartbeatDue('2026-01-02T11:59:59Z', now, 86400)).toBe(false);
    expect(heartbeatDue('2026-01-01T12:00:00.001Z', now, 86400)).toBe(false);
    expect(heartbeatDue('2026-01-01T12:00:00.000Z', now, 86400)).toBe(true);
    expect(heartbeatDue('2025-12-01T00:00:00Z', now, 86400)).toBe(true);
    expect(heartbeatDue('2026-01-02T11:58:59Z', now, 60)).toBe(true);
    expect(heartbeatDue('2026-01-02T11:59:01Z', now, 60)).toBe(false);
  });
  it('a restart does not re-send: same record, later "now" inside the interval', () => {
    const last = '2026-01-02T12:00:00.000Z';
    expect(heartbeatDue(last, new Date('2026-01-02T12:00:05Z'), 3600)).toBe(false);
    expect(heartbeatDue(last, new Date('2026-01-02T13:00:00Z'), 3600)).toBe(true);
  });
  it('a record in the future (clock went back) does not silence heartbeats', () => {
    expect(heartbeatDue('2026-01-03T00:00:00Z', now, 86400)).toBe(true);
  });
  it('refuses a non-positive interval', () => {
    expect(() => heartbeatDue(undefined, now, 0)).toThrow(RangeError);
    expect(() => heartbeatDue(undefined, now, Number.NaN)).toThrow(RangeError);
  });
});

describe('heartbeatEmail', () => {
  it('is a DO-to-DO message that survives MIME encoding with both alternatives', async () => {
    const m = heartbeatEmail({ doEmail: 'zoe.do@example.org', now: SENT, intervalSeconds: 86400, transport: { kind: 'gmail' }, hostname: 'colab-vm' });
    expect(m.to).toEqual(['zoe.do@example.org']);
    const { raw, messageId } = buildMime(m, { now: new Date(), hostname: 'colab-vm' });
    const p = await parse(raw);
    expect(p.subject).toBe(HEARTBEAT_SUBJECT);
    expect(mailboxes(p.from)).toEqual([{ name: 'syft-bg', address: 'zoe.do@example.org' }]);
    expect(mailboxes(p.to)).toEqual([{ name: '', address: 'zoe.do@example.org' }]);
    expect(p.text).toBe(APPENDIX_A.replace('do@example.org', 'zoe.do@example.org'));
    expect(p.html).toBe(m.html);
    expect(p.messageId).toBe(messageId);
    expect(p.date?.getTime()).toBe(Math.floor(SENT.getTime() / 1000) * 1000);
    expect(p.headers.get('auto-submitted')).toBe('auto-generated');
    expect(p.headers.get('x-syft-bg-host')).toBe('colab-vm');
  });

  it('lands in the Maildir as one readable message', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syft-bg-hb-'));
    try {
      const mail = path.join(dir, 'mail');
      const t = new MaildirTransport(mail);
      const r = await t.send(heartbeatEmail({ doEmail: 'do@example.org', now: SENT, intervalSeconds: 86400, transport: `maildir (${mail})` }));
      const list = listMaildir(mail);
      expect(list.map((e) => e.path)).toEqual([r.path]);
      const p = await parse(fs.readFileSync(r.path));
      expect(p.subject).toBe(HEARTBEAT_SUBJECT);
      expect(p.text).toContain(`Transport: maildir (${mail})\n`);
      expect(p.html).toContain('Healthy');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
