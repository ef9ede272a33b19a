/**
 * The page every HTML e-mail is set in: the reference's `base.html` (§7.8), self-contained with inline styles for
 * mail clients (pure).
 */

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** `title` is escaped here; `body` is HTML already. */
export function htmlPage(title: string, body: readonly string[]): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    '</head>',
    '<body style="margin:0;padding:0;background:#f3f4f6;font-family:-apple-system,BlinkMacSystemFont,\'Segoe UI\',Roboto,Helvetica,Arial,sans-serif">',
    '<div style="max-width:600px;margin:0 auto;padding:24px">',
    '<div style="padding:16px 0"><a href="https://openmined.org" style="font-size:20px;font-weight:700;color:#111827;text-decoration:none">SyftBox</a>',
    '<div style="color:#6b7280;font-size:13px">Secure Data Collaboration</div></div>',
    '<div style="background:#ffffff;border-radius:8px;padding:24px">',
    ...body,
    '</div>',
    '<div style="color:#6b7280;font-size:12px;text-align:center;padding:16px 0">',
    '<p style="margin:4px 0">This is an automated notification from SyftBox.</p>',
    '<p style="margin:4px 0">Questions? Visit <a href="https://docs.openmined.org" style="color:#6b7280">docs.openmined.org</a></p>',
    '<p style="margin:4px 0"><a href="https://openmined.org" style="color:#6b7280">OpenMined</a> &middot; ' +
      '<a href="https://github.com/OpenMined/syft-client" style="color:#6b7280">GitHub</a> &middot; ' +
      '<a href="https://slack.openmined.org" style="color:#6b7280">Community</a></p>',
    '</div>',
    '</div>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
