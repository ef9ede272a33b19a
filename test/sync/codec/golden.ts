import * as fs from 'node:fs';
import * as path from 'node:path';

export const GOLDEN_DIR = path.resolve(__dirname, '..', '..', 'fixtures', 'sync');

export function golden(name: string): Buffer {
  return fs.readFileSync(path.join(GOLDEN_DIR, name));
}

export function goldenText(name: string): string {
  return golden(name).toString('utf8');
}
