import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeSandbox, Sandbox, waitFor } from '../helpers/sandbox';
import { DO, DS, readState, writeBashJob } from '../helpers/datasite';

const SCRIPT = 'echo metrics\n';

// The services' own metrics through PM2's metrics API: pm2 show / pm2 jlist (what pm2 monit reads) and status --json.
describe('PM2 metrics (real PM2)', () => {
  let sb: Sandbox;
  let root: string;
  beforeAll(() => {
    sb = makeSandbox('metrics');
    root = path.join(sb.dir, 'SyftBox');
    expect(sb.cli(['init', '-e', DO, '-r', root]).code).toBe(0);
    const approved = path.join(sb.dir, 'approved');
    fs.mkdirSync(approved);
    fs.writeFileSync(path.join(approved, 'script.sh'), SCRIPT);
    expect(sb.cli(['auto-approve', path.join(approved, 'script.sh'), '-p', DS, '-n', 'm']).code).toBe(0);
    expect(sb.cli(['start']).code).toBe(0);
  });
  afterAll(() => sb.cleanup());

  const metricsOf = (name: string) => {
    const r = sb.cli(['status', '--json']);
    const s = JSON.parse(r.stdout) as { services: Array<{ name: string; metrics?: Record<string, unknown> | null }> };
    return s.services.find((x) => x.name === name)?.metrics ?? null;
  };

  it('approve counts what it decided and ran; status --json, pm2 jlist and pm2 show agree', async () => {
    writeBashJob(root, DS, 'm-ok', SCRIPT);
    writeBashJob(root, DS, 'm-no', 'echo other\n');
    await waitFor('m-ok done', () => readState(root, DS, 'm-ok')?.status === 'done', 20_000);
    const m = await waitFor(
      'approve metrics',
      () => {
        const x = metricsOf('approve');
        return x && x['jobs run'] === 1 && x['jobs refused'] === 1 ? x : undefined;
      },
      15_000,
    );
    expect(m).toMatchObject({ 'jobs approved': 1, 'jobs refused': 1, 'jobs run': 1, 'peers approved': 0, 'drive calls': 0 });
    expect(m['jobs seen']).toBeGreaterThanOrEqual(2);
    expect(typeof m['last cycle']).toBe('number');
    // What pm2 monit / pm2 show read: the daemon's process list.
    const jl = JSON.parse(sb.pm2(['jlist']).stdout) as Array<{ name: string; pm2_env: { axm_monitor?: Record<string, { value: unknown; unit?: string }> } }>;
    const axm = jl.find((p) => p.name === 'syft-bg-approve')!.pm2_env.axm_monitor!;
    expect(axm['jobs run']!.value).toBe(1);
    expect(axm['last cycle']!.unit).toBe('ms');
    const show = sb.pm2(['show', 'syft-bg-approve']).stdout;
    expect(show).toMatch(/Code metrics value/);
    expect(show).toMatch(/jobs approved\s*│\s*1/);
    // Only our metrics: PM2's default probes (heap, event loop, HTTP) are off.
    expect(Object.keys(axm).sort()).toEqual(['drive calls', 'jobs approved', 'jobs refused', 'jobs run', 'jobs seen', 'last cycle', 'peers approved']);
    // and the text status shows them under the service line
    expect(sb.cli(['status']).stdout).toMatch(/jobs approved 1 · jobs refused 1 · jobs run 1/);
  });

  it('notify reports sent, failing and queued e-mails', async () => {
    const m = await waitFor('notify metrics', () => {
      const x = metricsOf('notify');
      return x && typeof x['emails sent'] === 'number' && (x['emails sent'] as number) >= 1 ? x : undefined;
    }, 20_000);
    expect(m).toMatchObject({ 'emails failing': 0, 'drive calls': 0 });
    expect(Object.keys(m).sort()).toEqual(['drive calls', 'emails failing', 'emails queued', 'emails sent', 'last cycle']);
  });
});
