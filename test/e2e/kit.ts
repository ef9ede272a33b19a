/// <reference types="jest" />
/**
 * End-to-end kit for the Drive transport: the real approve service under a real PM2 daemon (makeSandbox) talking
 * to an in-process Google emulator over loopback (SYFT_BG_GOOGLE_ROOT_URL), and data scientists driven by the DS
 * test client (test/helpers/ds-client) through the real googleapis clients.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startEmulator, type Emulator } from '../emulator';
import { makeOAuthClient } from '../../lib/google/clients';
import { createDriveApi, type DriveApi } from '../../lib/google/drive';
import { readDecisions, type DecisionRecord } from '../../lib/approve/audit';
import { makeSandbox, waitFor, type Sandbox } from '../helpers/sandbox';
import { syncDownDetailed } from '../helpers/ds-client/sync-down';
import { jobFilePath } from '../helpers/ds-client/proposal';
import type { FileChangeEvent } from '../../lib/sync/codec/events';

export const DO = 'owner@example.com';
export const SCRIPT = "cd code\nmkdir -p outputs\necho 'hello from job'\necho '{\"n\": 42}' > outputs/result.json\n";

/** The files of a bash job as syft-job writes them (config.yaml, run.sh = the script, code/script.sh). */
export function bashJob(name: string, script: string): Record<string, string> {
  const config =
    'code_path: null\ndatasets: null\ndependencies: []\nentrypoint: null\nfiles:\n- script.sh\nheaders: {}\n' +
    `is_folder_submission: false\njob_type: local\nname: ${name}\nsubmitted_at: '2026-11-25T18:46:23.650403Z'\ntype: bash\n`;
  return { 'config.yaml': config, 'run.sh': script, 'code/script.sh': script };
}

export interface E2e {
  emu: Emulator;
  sb: Sandbox;
  env: NodeJS.ProcessEnv;
  /** The DO's local SyftBox folder. */
  root: string;
  /** A DriveApi for a (data scientist) user of the emulator, with fast retries. */
  api(email: string): DriveApi;
  decisions(): DecisionRecord[];
  /** The approve service's pid as PM2 reports it (null when not online). */
  pid(): number | null;
  /** The service's log lines (JSON), parsed. */
  logs(): Array<Record<string, unknown>>;
  /** Drive calls counted by the emulator (every user). */
  driveCalls(): number;
}

export interface E2eOptions {
  name: string;
  /** Extra text appended to the config's sync section (e.g. request_timeout). */
  syncExtra?: string;
  approvedDomains?: string[];
}

/** Emulator, sandbox, DO token, config (Drive transport, sync.interval 1 s), an auto-approval object; not started. */
export function e2eKit(o: E2eOptions): E2e {
  const k = {} as E2e;
  const apis = new Map<string, DriveApi>();
  beforeAll(async () => {
    k.emu = await startEmulator();
    k.env = { SYFT_BG_GOOGLE_ROOT_URL: k.emu.url };
    k.sb = makeSandbox(o.name);
    k.root = path.join(k.sb.dir, 'SyftBox');
    const u = k.emu.world.addUser(DO);
    // token.json exactly as Python's google-auth writes it, already expired: the service refreshes it.
    const tok = path.join(k.sb.dir, 'token.json');
    fs.writeFileSync(
      tok,
      JSON.stringify({
        token: 'ya29.expired',
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
    const init = k.sb.cli(['init', '-e', DO, '-r', k.root, '-t', tok], { env: k.env });
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    const cfg = path.join(k.sb.syftBgHome, 'config.yaml');
    let text = fs.readFileSync(cfg, 'utf8');
    expect(text).toMatch(/transports:[\s\S]*?syftbox: drive/);
    const domains = (o.approvedDomains ?? ['uni.edu']).map((d) => `\n    - ${d}`).join('');
    text = text.replace(/peers:\n {4}enabled: false\n {4}approved_domains: \[\]/, `peers:\n    enabled: true\n    approved_domains:${domains}`);
    text = text.replace(/\nsync:\n {2}interval: 10\n/, `\nsync:\n  interval: 1\n${o.syncExtra ?? ''}`);
    expect(text).toContain('approved_domains:\n    - ');
    expect(text).toContain('sync:\n  interval: 1\n');
    fs.writeFileSync(cfg, text);
    const approved = path.join(k.sb.dir, 'approved');
    fs.mkdirSync(approved);
    fs.writeFileSync(path.join(approved, 'script.sh'), SCRIPT);
    const aa = k.sb.cli(['auto-approve', path.join(approved, 'script.sh'), '-n', 'hello'], { env: k.env });
    expect(aa.stderr).toBe('');
    expect(aa.code).toBe(0);
  });
  afterAll(async () => {
    k.sb?.cleanup();
    await k.emu?.close();
  });
  k.api = (email) => {
    let a = apis.get(email);
    if (!a) {
      const u = k.emu.world.addUser(email);
      const auth = makeOAuthClient({ clientId: u.clientId, clientSecret: u.clientSecret }, k.env);
      auth.setCredentials({ access_token: u.accessToken, refresh_token: u.refreshToken, expiry_date: Date.now() + 3_600_000 });
      a = createDriveApi(auth, { env: k.env, retry: { baseDelayMs: 20, maxDelayMs: 200 } });
      apis.set(email, a);
    }
    return a;
  };
  k.decisions = () => readDecisions(path.join(k.sb.syftBgHome, 'approve', 'decisions.jsonl'));
  k.pid = () => {
    const r = k.sb.pm2(['jlist']);
    const list = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as Array<{ name: string; pid: number; pm2_env: { status: string } }>;
    const app = list.find((a) => a.name.endsWith('approve'));
    return app && app.pm2_env.status === 'online' && app.pid > 0 ? app.pid : null;
  };
  k.logs = () => {
    const dir = path.join(k.sb.syftBgHome, 'logs', 'approve');
    const out: Array<Record<string, unknown>> = [];
    if (!fs.existsSync(dir)) return out;
    // <service>.<n>.log files (current.log is a symlink to the newest one).
    for (const f of fs.readdirSync(dir).filter((n) => /\.\d+\.log$/.test(n) && !fs.lstatSync(path.join(dir, n)).isSymbolicLink()).sort()) {
      for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          out.push(JSON.parse(line));
        } catch {
          // a line being written
        }
      }
    }
    return out;
  };
  k.driveCalls = () => [...k.emu.world.counters.entries()].filter(([r]) => r.startsWith('drive.')).reduce((a, [, n]) => a + n, 0);
  return k;
}

/** A data scientist's view of the DO's datasite, synced down from its outbox folder (all messages, from scratch). */
export interface DsView {
  /** Read a file of the DO datasite as the DS has it (undefined when not received). */
  read(rel: string): string | undefined;
  /** The status line of a job's state.yaml as the DS has it. */
  status(ds: string, job: string): string | undefined;
  events: FileChangeEvent[];
  messages: number;
}

export async function dsView(drive: DriveApi, ds: string, dsRoot: string): Promise<DsView> {
  fs.rmSync(dsRoot, { recursive: true, force: true });
  const r = await syncDownDetailed(drive, ds, DO, dsRoot, null);
  const read = (rel: string) => {
    try {
      return fs.readFileSync(path.join(dsRoot, DO, ...rel.split('/')), 'utf8');
    } catch {
      return undefined;
    }
  };
  return {
    read,
    status: (who, job) => /^status: (\w+)$/m.exec(read(`app_data/job/review/${who}/${job}/state.yaml`) ?? '')?.[1],
    events: r.applied,
    messages: r.messages.length,
  };
}

/** Wait until the DS sees the job in one of `statuses`; returns the view. */
export async function waitDsStatus(drive: DriveApi, ds: string, dsRoot: string, job: string, statuses: string[], timeoutMs = 20_000): Promise<DsView> {
  return waitFor(`${ds} sees ${job} ${statuses.join('|')}`, async () => {
    const v = await dsView(drive, ds, dsRoot);
    const s = v.status(ds, job);
    return s !== undefined && statuses.includes(s) && v;
  }, timeoutMs, 250);
}

/** Events the DS received more than once (same path and content hash). */
export function duplicateEvents(events: readonly FileChangeEvent[]): string[] {
  const seen = new Map<string, number>();
  for (const e of events) {
    const k = `${e.path_in_datasite} ${e.new_hash}`;
    seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > 1).map(([k, n]) => `${k} x${n}`);
}

export { jobFilePath, waitFor };
