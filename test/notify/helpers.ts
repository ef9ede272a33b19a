import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultState, emitState, type JobState, type JobStatus } from '../../lib/datasite/state';
import { DO, DS, jobDirs, writeBashJob } from '../helpers/datasite';
import { Journal } from '../../lib/notify/journal';
import { Notifier, type NotifierOptions } from '../../lib/notify/notifier';
import { MaildirTransport, listMaildir } from '../../lib/mail/maildir';
import { parse } from '../mail/parse';
import type { ParsedMail } from 'mailparser';

export { DO, DS, jobDirs, writeBashJob };

export function tmpDir(prefix = 'notify-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** state.yaml as syft-job writes it, with `status` and optional fields. */
export function setState(root: string, ds: string, name: string, status: JobStatus, extra: Partial<JobState> = {}): void {
  const { review } = jobDirs(root, ds, name);
  fs.mkdirSync(review, { recursive: true });
  const st: JobState = { ...defaultState(), status, received_at: '2026-11-25T18:46:23.657391Z', ...extra };
  fs.writeFileSync(path.join(review, 'state.yaml'), emitState(st));
}

export const silentLogger = { info() {}, warn() {}, error() {} };

/** A logger that keeps its lines (for assertions). */
export function memoryLogger() {
  const lines: Array<{ level: string; msg: string; obj: object }> = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, msg: msg ?? '', obj });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

export interface Rig {
  root: string;
  dir: string;
  maildir: string;
  journalFile: string;
  transport: MaildirTransport;
  notifier: Notifier;
  /** Re-open everything from disk, as a restarted process would. */
  restart(opts?: Partial<NotifierOptions>): Promise<Notifier>;
  mails(): Promise<ParsedMail[]>;
  cleanup(): void;
}

export async function makeRig(opts: Partial<NotifierOptions> = {}, init = true): Promise<Rig> {
  const dir = tmpDir();
  const root = path.join(dir, 'SyftBox');
  fs.mkdirSync(path.join(root, DO, 'app_data', 'job', 'inbox'), { recursive: true });
  const maildir = path.join(dir, 'mail');
  const journalFile = path.join(dir, 'notify', 'journal.jsonl');
  const transport = new MaildirTransport(maildir, { hostname: 'test-host' });
  const build = (o: Partial<NotifierOptions>) =>
    new Notifier({
      root,
      doEmail: DO,
      journal: Journal.open(journalFile),
      transport,
      rate: { ratePerSecond: 1000, burst: 1000 },
      logger: silentLogger,
      pythonStatePath: path.join(dir, 'notify', 'state.json'),
      statusFile: path.join(dir, 'notify', 'status.json'),
      // Each (re)start stands for a process started now: whatever was written before is "existing" when seeding.
      // (+1: Date.now() is whole milliseconds, file times are not; a file's time never runs ahead of the clock.)
      seedBefore: Date.now() + 1,
      ...o,
    });
  const rig: Rig = {
    root,
    dir,
    maildir,
    journalFile,
    transport,
    notifier: build(opts),
    async restart(o = {}) {
      rig.notifier.journal.close();
      rig.notifier = build({ ...opts, ...o });
      await rig.notifier.init();
      return rig.notifier;
    },
    async mails() {
      return Promise.all(listMaildir(maildir).map((e) => parse(fs.readFileSync(e.path))));
    },
    cleanup() {
      rig.notifier.journal.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  if (init) await rig.notifier.init();
  return rig;
}

/** The header value as a plain string (mailparser gives structured values for some). */
export function hdr(m: ParsedMail, name: string): string | undefined {
  const v = m.headers.get(name.toLowerCase());
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : JSON.stringify(v);
}
