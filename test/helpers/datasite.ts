import * as fs from 'node:fs';
import * as path from 'node:path';

export const DO = 'do@example.com';
export const DS = 'ds@example.org';

export function jobDirs(root: string, ds: string, name: string) {
  const base = path.join(root, DO, 'app_data', 'job');
  return { inbox: path.join(base, 'inbox', ds, name), review: path.join(base, 'review', ds, name) };
}

/**
 * A bash job as syft-job writes it for a data scientist: config.yaml, run.sh (= the script) and code/script.sh.
 * Files are written one by one, config.yaml last unless `configFirst`, like a syncer would.
 */
export function writeBashJob(root: string, ds: string, name: string, script: string, opts: { configFirst?: boolean; runSh?: string } = {}): string {
  const { inbox } = jobDirs(root, ds, name);
  fs.mkdirSync(path.join(inbox, 'code'), { recursive: true });
  const config =
    'code_path: null\ndatasets: null\ndependencies: []\nentrypoint: null\nfiles:\n- script.sh\nheaders: {}\n' +
    `is_folder_submission: false\njob_type: local\nname: ${name}\nsubmitted_at: '2026-11-25T18:46:23.650403Z'\ntype: bash\n`;
  if (opts.configFirst) fs.writeFileSync(path.join(inbox, 'config.yaml'), config);
  fs.writeFileSync(path.join(inbox, 'code', 'script.sh'), script);
  fs.writeFileSync(path.join(inbox, 'run.sh'), opts.runSh ?? script);
  if (!opts.configFirst) fs.writeFileSync(path.join(inbox, 'config.yaml'), config);
  return inbox;
}

export function readState(root: string, ds: string, name: string): Record<string, string> | undefined {
  const f = path.join(jobDirs(root, ds, name).review, 'state.yaml');
  if (!fs.existsSync(f)) return undefined;
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(f, 'utf8').split('\n')) {
    const m = /^(\w+): (.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.replace(/^'(.*)'$/, '$1');
  }
  return out;
}
