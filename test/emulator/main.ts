#!/usr/bin/env node
// `npm run emulator -- [--port N] [--users a@x,b@y] [--token-lifetime SECONDS]`: run the Google API emulator on its
// own (e.g. with SYFT_BG_GOOGLE_ROOT_URL=http://127.0.0.1:N/ for the services). Prints the URL once listening, then
// one line per user with its tokens (default OAuth client, see DEFAULT_CLIENT_ID in core.ts).
// Exit codes: 2 for a usage error (bad option or value), 1 when the emulator cannot start (e.g. the port is in use);
// either way one line on stderr, no stack trace.
import { startEmulator } from './index';
import { World, type Emulator } from './core';
import { MAX_LIFETIME_S } from './oauth';

const USAGE = 'usage: emulator [--port N] [--users EMAIL,...] [--token-lifetime SECONDS]';
const OPTIONS = new Set(['--port', '--users', '--token-lifetime']);

function fail(message: string, code: number): never {
  process.stderr.write(`emulator: ${message}\n`);
  process.exit(code);
}

function parseArgs(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    }
    if (!OPTIONS.has(a)) fail(`unknown argument '${a}' (${USAGE})`, 2);
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) fail(`${a} needs a value (${USAGE})`, 2);
    out.set(a, v);
    i++;
  }
  return out;
}

function integer(name: string, text: string | undefined, dflt: number, min: number, max: number, what: string): number {
  if (text === undefined) return dflt;
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) fail(`${name} must be ${what}, got '${text}'`, 2);
  return n;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const port = integer('--port', args.get('--port'), 0, 0, 65535, 'a port number (0-65535)');
  const lifetime = integer('--token-lifetime', args.get('--token-lifetime'), 3600, 1, MAX_LIFETIME_S, `a number of seconds (1-${MAX_LIFETIME_S})`);
  const users = (args.get('--users') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const world = new World();
  world.tokenLifetimeS = lifetime;
  let emu: Emulator;
  try {
    emu = await startEmulator({ port, world });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') fail(`port ${port} is in use`, 1);
    if (code === 'EACCES') fail(`no permission to listen on port ${port}`, 1);
    fail(`cannot listen on 127.0.0.1:${port} (${code ?? (e as Error).message})`, 1);
  }
  process.stdout.write(`Google API emulator listening on ${emu.url}\n`);
  for (const email of users) {
    const u = emu.world.addUser(email);
    process.stdout.write(`user ${email}: ${JSON.stringify(u)}\n`);
  }
  const stop = () => void emu.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void main();
