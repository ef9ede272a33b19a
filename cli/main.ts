#!/usr/bin/env node
// The syft-bg command line. Only commander is loaded up front; every command loads what it needs when it
// runs, so `syft-bg status` does not pay for pm2, googleapis, zod or yaml.
import { Command, CommanderError, Option } from 'commander';
import type { Report } from '../lib/control';

const program = new Command();

// `syft-bg … | head`: the reader went away. Nothing is wrong with the command; stop quietly, as other tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

function version(): string {
  return (require('../../package.json') as { version: string }).version;
}

/** Print a command's report and set the exit code. */
export function emit(r: Report): void {
  for (const l of r.out) process.stdout.write(l + '\n');
  for (const l of r.err) process.stderr.write(l + '\n');
  process.exitCode = r.exitCode;
}

const collect = (v: string, prev: string[]) => prev.concat([v]);
/** A repeatable option without a `(default: [])` in --help; read it with `?? []`. */
const repeat = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

program
  .name('syft-bg')
  .description('Background services for SyftBox data owners: e-mail notifications and auto-approval, run under PM2.')
  .version(version(), '-V, --version')
  .showSuggestionAfterError(true)
  .exitOverride()
  .configureOutput({ outputError: (str, write) => write(str) });

program
  .command('init')
  .description('Create or update the configuration (~/.syft-bg/config.yaml).')
  .requiredOption('-e, --email <email>', 'data owner e-mail address')
  .option('-r, --syftbox-root <dir>', 'SyftBox folder (default: ~/SyftBox_<email>)')
  .option('-t, --token-path <file>', 'Google OAuth token file to copy to ~/.syft-bg/token.json (optional: without it notifications go to a local Maildir)')
  .option('--credentials <file>', 'OAuth client file (Desktop app) for the Google sign-in (default: ~/.syft-bg/credentials.json, used when it exists)')
  .option('--no-browser', 'do not open a browser for the Google sign-in; print the URL only')
  .option('--no-google', 'skip the Google sign-in even when credentials.json exists')
  .action(async (o: { email: string; syftboxRoot?: string; tokenPath?: string; credentials?: string; browser?: boolean; google?: boolean }) => {
    await (await import('./commands/init')).run(o);
  });

program
  .command('start [service]')
  .description('Start services under PM2 (all when no service is named). A running service is left alone.')
  .action(async (service?: string) => emit(await (await import('./commands/services')).start(service ? [service] : [])));

program
  .command('stop [service]')
  .description('Stop services (all when no service is named).')
  .action(async (service?: string) => emit(await (await import('./commands/services')).stop(service ? [service] : [])));

program
  .command('restart [service]')
  .description('Restart services (all when no service is named); services that are not running are started.')
  .action(async (service?: string) => emit(await (await import('./commands/services')).restart(service ? [service] : [])));

program
  .command('ensure-running <services...>')
  .description('Start the named services if they are not running.')
  .option('--restart', 'restart services that are already running')
  .action(async (services: string[], o: { restart?: boolean }) =>
    emit(await (await import('./commands/services')).ensure(services, !!o.restart)),
  );

program
  .command('status')
  .description('Show services, configuration, transports, tokens and auto-approval objects.')
  .option('--json', 'machine-readable output')
  .action(async (o: { json?: boolean }) => {
    await (await import('./commands/status')).run({ json: !!o.json });
  });

program
  .command('setup-status')
  .description('Check the environment: credentials, tokens, configuration, SyftBox folder, PM2. Exit 0 when ready.')
  .action(async () => {
    await (await import('./commands/setup-status')).run();
  });

program
  .command('logs <service>')
  .description('Show a service log (pretty-printed).')
  .option('-f, --follow', 'keep printing new lines (Ctrl+C to stop)')
  .option('-n, --lines <n>', 'number of lines to show', '50')
  .option('--json', 'print the raw JSON lines')
  .action(async (service: string, o: { follow?: boolean; lines: string; json?: boolean }) => {
    await (await import('./commands/logs')).run(service, o);
  });

program
  .command('run-foreground')
  .description('Run a service in this terminal (the same code PM2 runs), with readable logs.')
  .addOption(new Option('-s, --service <service>', 'service to run').choices(['notify', 'approve']).makeOptionMandatory())
  .option('--once', 'run a single pass and exit')
  .action(async (o: { service: 'notify' | 'approve'; once?: boolean }) => {
    await (await import('./commands/run-foreground')).run(o.service, !!o.once);
  });

program
  .command('install')
  .description('Start syft-bg at boot (pm2 save + pm2 startup systemd).')
  .option('--dry-run', 'print the systemd unit and the commands without changing anything')
  .option('--user <name>', 'install for this user (when run as root)')
  .action(async (o: { dryRun?: boolean; user?: string }) => {
    await (await import('./commands/boot')).install(o);
  });

program
  .command('uninstall')
  .description('Stop starting syft-bg at boot (pm2 unstartup systemd). Running services keep running.')
  .option('--dry-run', 'print the commands without changing anything')
  .option('--user <name>', 'uninstall for this user (when run as root)')
  .action(async (o: { dryRun?: boolean; user?: string }) => {
    await (await import('./commands/boot')).uninstall(o);
  });

program
  .command('auto-approve [contents...]')
  .description('Create or update an auto-approval object: files matched by content (CONTENTS) or by name (-f), for the given peers.')
  .option('-p, --peers <peer>', 'peer e-mail the object approves jobs from (repeatable; none on a new object = any peer)', repeat)
  .option('-n, --name <name>', 'object name (an existing object is updated; default: the file stem, the job name or auto_approval)')
  .option('-f, --file-paths <file>', 'relative path allowed by name only, content not checked (repeatable), e.g. params.json', repeat)
  .option('-b, --base-dir <dir>', 'resolve CONTENTS against this folder; relative paths are then the paths below it')
  .option('--allow-dependency <dep>', 'dependency of config.yaml the object accepts besides syft-client (repeatable; * = any)', repeat)
  .option('--from-job <job>', 'build the object from a job that arrived: its folder (…/app_data/job/inbox/<ds>/<job>) or <ds>/<job>')
  .option('--by-name <file>', 'with --from-job: match this job file by name only (repeatable)', repeat)
  .option('--only <file>', 'with --from-job: match only these job files by content (repeatable)', repeat)
  .action(
    async (
      contents: string[],
      o: { peers?: string[]; name?: string; filePaths?: string[]; baseDir?: string; allowDependency?: string[]; fromJob?: string; byName?: string[]; only?: string[] },
    ) => {
      (await import('./commands/auto-approve')).autoApprove(contents, {
        ...o,
        peers: o.peers ?? [],
        filePaths: o.filePaths ?? [],
        allowDependency: o.allowDependency ?? [],
        byName: o.byName ?? [],
        only: o.only ?? [],
      });
    },
  );

program
  .command('list-auto-approvals')
  .description('List auto-approval objects: files with their hashes, name-only files, peers.')
  .option('-n, --name <name>', 'only this object')
  .option('--json', 'machine-readable output')
  .action(async (o: { name?: string; json?: boolean }) => {
    (await import('./commands/auto-approve')).list(o);
  });

program
  .command('remove-auto-approval [files...]')
  .description('Remove files from an auto-approval object, or the whole object with --all.')
  .requiredOption('-n, --name <name>', 'the object')
  .option('--all', 'remove the object and its stored copies')
  .action(async (files: string[], o: { name: string; all?: boolean }) => {
    (await import('./commands/auto-approve')).removeAutoApproval(files, o);
  });

program
  .command('remove-peer <peer>')
  .description('Remove a peer from auto-approval objects (all, or the one named with -n).')
  .option('-n, --name <name>', 'only this object')
  .option('--allow-any-peer', 'allow removing the last peer of an object, which then approves jobs from ANY peer')
  .action(async (peer: string, o: { name?: string; allowAnyPeer?: boolean }) => {
    (await import('./commands/auto-approve')).removePeer(peer, o);
  });

program
  .command('explain <job>')
  .description('Would this job be auto-approved? Each object\'s verdict with its reason; changes nothing. Exit 0 if approved, 3 if not.')
  .option('--json', 'machine-readable output')
  .action(async (job: string, o: { json?: boolean }) => {
    (await import('./commands/explain')).run(job, o);
  });

// Bare `syft-bg`: the live dashboard on a terminal; the status when piped (scripts, CI).
program.action(async () => {
  if (process.stdout.isTTY && process.stdin.isTTY) {
    await (await import('./tui/dashboard')).run();
    return;
  }
  await (await import('./commands/status')).run({ json: false });
});

async function main(argv: string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help / --version exit 0; usage errors exit 2 like click does.
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    const { isUserError } = await import('../lib/errors');
    if (isUserError(e)) {
      process.stderr.write(`Error: ${e.message}\n`);
      process.exitCode = e.exitCode;
      return;
    }
    process.stderr.write(`syft-bg: internal error (please report it): ${(e as Error)?.stack ?? e}\n`);
    process.exitCode = 1;
  }
}

void main(process.argv);
