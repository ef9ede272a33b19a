import { createRenderer } from '../../lib/log/render';
import { runNode } from './helpers';

const TIME = Date.UTC(2026, 10, 25, 18, 39, 50, 794);
const line = (o: Record<string, unknown>) => JSON.stringify({ level: 30, time: TIME, pid: 4242, hostname: 'box', service: 'notify', ...o });
const ANSI = /\u001b\[[0-9;]*m/;

/** The local-time stamp pino-pretty prints for TIME with `SYS:yyyy-mm-dd HH:MM:ss.l`. */
function localStamp(t: number): string {
  const d = new Date(t);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

describe('createRenderer', () => {
  it('json: the raw line, untouched', () => {
    const render = createRenderer({ json: true, color: true });
    const l = line({ msg: 'hello' });
    expect(render(l)).toBe(l);
    expect(render('not json')).toBe('not json');
  });

  it('pretty: local time, level, [service] message, extra fields; no pid/hostname/service; no trailing newline', () => {
    const render = createRenderer({ json: false, color: false });
    expect(render(line({ msg: 'hello', job: 'j1' }))).toBe(`[${localStamp(TIME)}] INFO: [notify] hello\n    job: "j1"`);
    const out = render(line({ level: 50, msg: 'failed', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at x (y.js:1:1)' } }));
    expect(out).toMatch(/^\[.*\] ERROR: \[notify\] failed\n/);
    expect(out).toContain('Error: boom');
    expect(out).not.toMatch(/pid|hostname|4242|box|service/);
    expect(out.endsWith('\n')).toBe(false);
  });

  it('pretty: no "[]" prefix for a line without a service', () => {
    const render = createRenderer({ json: false, color: false });
    expect(render(JSON.stringify({ level: 40, time: TIME, msg: 'plain' }))).toBe(`[${localStamp(TIME)}] WARN: plain`);
  });

  it('colours only when asked', () => {
    expect(createRenderer({ json: false, color: true })(line({ msg: 'x' }))).toMatch(ANSI);
    expect(createRenderer({ json: false, color: false })(line({ msg: 'x' }))).not.toMatch(ANSI);
  });

  it('passes lines that are not JSON through unchanged', () => {
    const render = createRenderer({ json: false, color: true });
    for (const l of ['plain text from console.log', '{"broken": ', '2026-11-25 18:39:50.794 +00:00: {"msg":"x"}', '42', '', '[1,2]']) {
      expect(render(l)).toBe(l);
    }
  });

  it('loads pino-pretty only for pretty output', async () => {
    const r = await runNode(`
      const { createRenderer } = require(process.env.LOGLIB + '/render.js');
      const loaded = () => Object.keys(require.cache).some((k) => k.includes('/pino-pretty/'));
      createRenderer({ json: true, color: false });
      const before = loaded();
      createRenderer({ json: false, color: false });
      console.log(JSON.stringify([before, loaded()]));
    `);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([false, true]);
  });
});
