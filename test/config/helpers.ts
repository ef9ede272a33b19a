import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { layout } from '../../lib/home';
import type { ConfigHome } from '../../lib/config/types';

export const FIXTURES = path.join(__dirname, '..', 'fixtures', 'config');

/** A fixture's text; with `userHome`, its `/home/alice` paths moved there. */
export function fixture(name: string, userHome?: string): string {
  const text = fs.readFileSync(path.join(FIXTURES, name), 'utf8');
  return userHome ? text.split('/home/alice').join(userHome) : text;
}

export interface TempHome {
  root: string;
  userHome: string;
  home: ConfigHome;
  cleanup(): void;
}

/** A fresh `<tmp>/home/alice/.syft-bg` (created unless `create: false`). */
export function tempHome(opts: { create?: boolean } = {}): TempHome {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'syft-bg-config-')));
  const userHome = path.join(root, 'home', 'alice');
  const dir = path.join(userHome, '.syft-bg');
  fs.mkdirSync(opts.create === false ? userHome : dir, { recursive: true });
  return { root, userHome, home: { ...layout(dir), userHome }, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}

export function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

export function read(file: string): string {
  return fs.readFileSync(file, 'utf8');
}
