export interface InitCliOptions {
  email: string;
  syftboxRoot?: string;
  tokenPath?: string;
  /** `--credentials FILE`: the OAuth client for the Google sign-in (default `<home>/credentials.json`). */
  credentials?: string;
  /** `--no-browser` sets false. */
  browser?: boolean;
  /** `--no-google` sets false. */
  google?: boolean;
}

/** `syft-bg init` over lib/api/init: the sign-in's lines as they come, then what init did. */
export async function run(o: InitCliOptions): Promise<void> {
  const { init } = await import('../../lib/api/init');
  const r = await init({
    email: o.email,
    ...(o.syftboxRoot !== undefined ? { syftboxRoot: o.syftboxRoot } : {}),
    ...(o.tokenPath !== undefined ? { tokenPath: o.tokenPath } : {}),
    ...(o.credentials !== undefined ? { credentials: o.credentials } : {}),
    openBrowser: o.browser !== false,
    google: o.google !== false,
    onMessage: (l) => void process.stdout.write(l + '\n'),
  });
  for (const m of r.messages) process.stdout.write(m + '\n');
}
