async function report(r: { exitCode: number; stdout: string[]; stderr: string[] }): Promise<void> {
  for (const l of r.stdout) process.stdout.write(l + '\n');
  for (const l of r.stderr) process.stderr.write(l + '\n');
  process.exitCode = r.exitCode;
}

export async function install(o: { dryRun?: boolean; user?: string }): Promise<void> {
  const { install } = await import('../../lib/boot/startup');
  await report(await install({ dryRun: !!o.dryRun, user: o.user }));
}

export async function uninstall(o: { dryRun?: boolean; user?: string }): Promise<void> {
  const { uninstall } = await import('../../lib/boot/startup');
  await report(await uninstall({ dryRun: !!o.dryRun, user: o.user }));
}
