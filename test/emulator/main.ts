#!/usr/bin/env node
// `npm run emulator -- --port N`: run the Google API emulator on its own (e.g. with
// SYFT_BG_GOOGLE_ROOT_URL=http://127.0.0.1:N/ for the services). Prints the URL once listening.
import { startEmulator } from './index';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const port = Number(arg('--port') ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`--port must be a port number, got '${arg('--port')}'\n`);
    process.exit(2);
  }
  const users = (arg('--users') ?? '').split(',').filter(Boolean);
  const emu = await startEmulator({ port });
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
