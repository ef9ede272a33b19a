import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError, EXIT } from '../errors';
import { expandTilde } from '../home';
import { resolveContext, type ApiOptions } from './context';

export interface InitOptions extends ApiOptions {
  /** `-e`: the data owner's e-mail address. */
  email: string;
  /** `-r`: the SyftBox folder (default `~/SyftBox_<email>`). */
  syftboxRoot?: string;
  /** `-t`: an OAuth token file, copied to `<home>/token.json` (without it, and without a sign-in, notifications go to a local Maildir). */
  tokenPath?: string;
  /** `--credentials`: the OAuth client for the Google sign-in (default `<home>/credentials.json`, used when it exists). */
  credentials?: string;
  /** Sign in with Google when no token is stored and an OAuth client file is there (default true; `--no-google`). */
  google?: boolean;
  /** Open a browser for the sign-in (default true; `--no-browser`); the URL always goes to `onMessage`. */
  openBrowser?: boolean;
  /** Lines of the Google sign-in (the URL to open), as they happen. */
  onMessage?: (line: string) => void;
  /** For the "created on" comment of a new config.yaml. */
  now?: Date;
}

export interface InitResult {
  /** What `syft-bg init` prints after the sign-in, in order. */
  messages: string[];
  configPath: string;
  /** `<home>/token.json`, when a token was given or obtained by the sign-in. */
  tokenStored?: string;
  /** The Google sign-in ran (and stored the token). */
  signedIn: boolean;
  /** The SyftBox folder, when init created it (whatever the transport, before config.yaml was written). */
  createdSyftboxRoot?: string;
}

/**
 * `syft-bg init -e EMAIL [-r ROOT] [-t TOKEN]`: create config.yaml, or merge into the existing one (objects,
 * settings, comments and unknown keys kept). Everything is checked before anything is written, and a failed init
 * changes nothing (see lib/init.ts; a token from the sign-in stays, so a re-run does not ask again). A filesystem
 * failure is a UserError naming the path and the OS reason (exit 1). When something the services read at start
 * changed and the PM2 daemon runs them, the last message says 'syft-bg restart' applies it.
 */
export async function init(opts: InitOptions): Promise<InitResult> {
  const ctx = resolveContext(opts);
  const { home, cwd } = ctx;
  let tokenPath = opts.tokenPath;
  let signedIn = false;
  // Google sign-in: only without -t, when no token is stored yet, and when an OAuth client file is there.
  // Without credentials.json init stays on the local transports (no Google account needed).
  if (tokenPath === undefined && opts.google !== false && !fs.existsSync(home.token)) {
    const credentials = opts.credentials !== undefined ? path.resolve(cwd, expandTilde(opts.credentials, home.userHome)) : home.credentials;
    if (opts.credentials !== undefined && !fs.existsSync(credentials)) throw new UserError(`OAuth client file not found: ${credentials}`, EXIT.usage);
    if (fs.existsSync(credentials)) {
      // The checks runInit would make, before anyone is sent to a browser.
      const { isValidEmail } = require('../config/email') as typeof import('../config/email');
      if (!isValidEmail(opts.email.trim())) throw new UserError(`Invalid email '${opts.email}': expected an address like name@example.com`, EXIT.usage);
      if (opts.syftboxRoot !== undefined && opts.syftboxRoot.trim() === '') throw new UserError('Invalid SyftBox root: the path is empty', EXIT.usage);
      const { checkWritableFolder } = require('../init') as typeof import('../init');
      checkWritableFolder(home.dir);
      if (opts.syftboxRoot !== undefined) {
        const root = path.resolve(cwd, expandTilde(opts.syftboxRoot, home.userHome));
        let isFile = false;
        try {
          isFile = !fs.statSync(root).isDirectory();
        } catch {
          isFile = false; // missing, or unreachable: checked next
        }
        if (isFile) throw new UserError(`Invalid SyftBox root ${root}: it is a file, not a folder`, EXIT.usage);
        checkWritableFolder(root);
      }
      const { runDesktopFlow } = require('../google/oauth-flow') as typeof import('../google/oauth-flow');
      await runDesktopFlow({
        credentialsPath: credentials,
        tokenPath: home.token,
        email: opts.email.trim(),
        env: ctx.env,
        openBrowser: opts.openBrowser !== false,
        print: opts.onMessage ?? (() => undefined),
      });
      // As if given with -t: the config (new or merged) points at it and switches to gmail/drive.
      tokenPath = home.token;
      signedIn = true;
    }
  }
  const { runInit } = require('../init') as typeof import('../init');
  // The SyftBox folder is created before config.yaml is written, whatever the transport: a folder that cannot be
  // created fails init with nothing changed (a Drive sync could not create it either).
  const r = runInit({
    home,
    email: opts.email,
    syftboxRoot: opts.syftboxRoot,
    tokenPath,
    cwd,
    createSyftboxRoot: true,
    signedIn,
    ...(opts.now ? { now: opts.now } : {}),
  });
  const result: InitResult = {
    messages: [...r.messages],
    configPath: r.configPath,
    ...(r.tokenStored ? { tokenStored: r.tokenStored } : {}),
    signedIn,
    ...(r.createdSyftboxRoot ? { createdSyftboxRoot: r.createdSyftboxRoot } : {}),
  };
  if (r.changed.length > 0) {
    const running = await runningServices(ctx.pm2Home, ctx.home.dir);
    if (running.length > 0) result.messages.push(previousSettingsLine(running));
  }
  return result;
}

/**
 * The syft-bg services the PM2 daemon has online, read over its RPC socket (lib/pm2/daemon-reader: no daemon is
 * started; without a daemon socket the answer is immediate).
 */
async function runningServices(pm2Home: string, home: string): Promise<string[]> {
  const { readDaemon } = require('../pm2/daemon-reader') as typeof import('../pm2/daemon-reader');
  const { SERVICES, pm2Name } = require('../services') as typeof import('../services');
  const { otherHomeOf } = require('../control') as typeof import('../control');
  const d = await readDaemon({ home: pm2Home, timeoutMs: 1000 });
  if (!d.running) return [];
  // Only this home's services: another home's on the same daemon do not read this config.yaml.
  return SERVICES.filter((s) => d.processes.some((p) => p.name === pm2Name(s) && p.pm2_env.status === 'online' && otherHomeOf(p, home) === null));
}

/** The services keep what they read at start: say so, with the command that applies the new settings. */
export function previousSettingsLine(running: readonly string[]): string {
  return running.length === 1
    ? `${running[0]} is running with the previous settings: 'syft-bg restart ${running[0]}' applies the new ones.`
    : `${running.join(' and ')} are running with the previous settings: 'syft-bg restart' applies the new ones.`;
}
