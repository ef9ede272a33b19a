/** `syft-bg setup-status` over lib/api/status: exit 0 when ready. */
export async function run(): Promise<void> {
  const { setupStatus } = await import('../../lib/api/status');
  const { renderChecks } = await import('../../lib/setup-check');
  const r = renderChecks((await setupStatus()).checks);
  process.stdout.write(r.text);
  process.exitCode = r.ready ? 0 : 1;
}
