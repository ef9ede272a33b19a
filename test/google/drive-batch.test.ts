/**
 * lib/google/drive-batch.ts (DriveApi.deleteFiles / DriveApi.shareMany, §3.8 #26/#28 in batches of 100) through
 * the real OAuth2Client against the loopback emulator's `POST /batch/drive/v3`. Faults are injected per part (the
 * emulator applies a fault of `drive.files.delete` / `drive.permissions.create` to the next matching part of a
 * batch) or on the whole batch (`drive.batch`: status, drop, latency). A small loopback proxy in front of the
 * emulator spoils batch answers the emulator did process (unreadable body, a missing part).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startServer, Emulator } from '../emulator/core';
import { driveModule, driveState } from '../emulator/drive';
import { oauthModule } from '../emulator/oauth';
import { makeOAuthClient } from '../../lib/google/clients';
import { createDriveApi, DriveApi, DriveApiOptions, DriveFile } from '../../lib/google/drive';
import { buildBatchBody, MalformedBatchResponse, parseBatchResponse } from '../../lib/google/drive-batch';
import { RetryEvent } from '../../lib/google/retry';

const DO = 'do@example.com';
const DS = 'ds@example.org';

let emu: Emulator;
let env: NodeJS.ProcessEnv;
let drive: DriveApi;
let dsDrive: DriveApi;
let doRoot: string;

function apiFor(email: string, opts: Omit<DriveApiOptions, 'env'> = {}, rootUrl = emu.url): DriveApi {
  const u = emu.world.addUser(email);
  const e = { SYFT_BG_GOOGLE_ROOT_URL: rootUrl };
  const auth = makeOAuthClient({ clientId: u.clientId, clientSecret: u.clientSecret }, e);
  auth.setCredentials({ access_token: u.accessToken, refresh_token: u.refreshToken, expiry_date: Date.now() + 3_600_000 });
  return createDriveApi(auth, { env: e, ...opts, retry: { baseDelayMs: 5, maxDelayMs: 20, ...opts.retry } });
}

const count = (route: string) => emu.world.counters.get(route) ?? 0;
const invitations = (fileIds: readonly string[]) => {
  const ids = new Set(fileIds);
  return driveState(emu.world).notifications.filter((n) => ids.has(n.fileId) && n.to === DS).length;
};

let folderSeq = 0;
/** `n` small files in a new folder of the DO (created 25 at a time). */
async function makeFiles(n: number, prefix: string, api = drive): Promise<DriveFile[]> {
  const folder = await api.createFolder(`${prefix}-${++folderSeq}`, api === drive ? doRoot : undefined);
  const out: DriveFile[] = [];
  for (let i = 0; i < n; i += 25) {
    const names = Array.from({ length: Math.min(25, n - i) }, (_, j) => `${prefix}-${String(i + j).padStart(3, '0')}.txt`);
    out.push(...(await Promise.all(names.map((name) => api.uploadFile({ name, parentId: folder.id, content: name })))));
  }
  emu.world.counters.clear();
  return out;
}

async function exists(api: DriveApi, id: string): Promise<boolean> {
  return api.getFile(id, ['id']).then(
    () => true,
    (e: { status?: number }) => {
      if (e.status === 404) return false;
      throw e;
    },
  );
}

/** The DS's permission entries on a file, as the DS sees them. */
async function dsEntries(fileId: string) {
  return (await dsDrive.listPermissions(fileId)).filter((p) => p.emailAddress === DS);
}

/** A loopback proxy to the emulator that can spoil the next batch answers after the emulator processed them. */
interface Proxy {
  url: string;
  /** Per upcoming batch answer: cut it in half (unreadable) or leave out its last part. */
  spoil: Array<'truncate' | 'lastPart'>;
  close(): Promise<void>;
}

async function startProxy(target: string): Promise<Proxy> {
  const spoil: Proxy['spoil'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !['host', 'content-length', 'connection', 'transfer-encoding'].includes(k)) headers[k] = v;
        const up = await fetch(new URL(req.url ?? '/', target), { method: req.method, headers, body: chunks.length > 0 ? Buffer.concat(chunks) : undefined });
        let body = Buffer.from(await up.arrayBuffer());
        const ct = up.headers.get('content-type') ?? 'application/json';
        const how = req.url?.startsWith('/batch/') ? spoil.shift() : undefined;
        if (how === 'truncate') body = body.subarray(0, Math.floor(body.length / 2));
        if (how === 'lastPart') {
          const b = /boundary=([^;\s]+)/.exec(ct)![1]!;
          const segments = body.toString('latin1').split(`--${b}`);
          // [preamble, part 1, …, part n, "--\r\n"]: drop part n.
          segments.splice(segments.length - 2, 1);
          body = Buffer.from(segments.join(`--${b}`), 'latin1');
        }
        res.writeHead(up.status, { 'content-type': ct });
        res.end(body);
      })().catch((e: unknown) => {
        res.writeHead(502);
        res.end(String(e));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, spoil, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

let proxy: Proxy;

beforeAll(async () => {
  emu = await startServer([oauthModule, driveModule]);
  env = { SYFT_BG_GOOGLE_ROOT_URL: emu.url };
  drive = apiFor(DO);
  dsDrive = apiFor(DS);
  doRoot = (await drive.createFolder('SyftBox')).id;
  proxy = await startProxy(emu.url);
});
afterAll(async () => {
  await proxy.close();
  await emu.close();
});
beforeEach(() => {
  emu.world.faults = [];
  emu.world.counters.clear();
  proxy.spoil.length = 0;
});

describe('wire format', () => {
  it('builds Google’s batch body and reads answers with CRLF or LF, quoted boundaries and any part order', () => {
    const body = buildBatchBody(
      [
        { method: 'DELETE', path: 'drive/v3/files/a%2Fb', query: { supportsAllDrives: 'true' } },
        { method: 'POST', path: 'drive/v3/files/x/permissions', query: { fields: 'id,role' }, json: { role: 'reader' } },
      ],
      'BND',
      'p',
      'http://127.0.0.1:1/',
    );
    expect(body).toBe(
      '--BND\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <p+0>\r\n\r\n' +
        'DELETE /drive/v3/files/a%2Fb?supportsAllDrives=true HTTP/1.1\r\n\r\n\r\n' +
        '--BND\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <p+1>\r\n\r\n' +
        'POST /drive/v3/files/x/permissions?fields=id%2Crole HTTP/1.1\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Length: 17\r\n\r\n{"role":"reader"}\r\n' +
        '--BND--\r\n',
    );
    const answer =
      'preamble\n--b_1\nContent-Type: application/http\nContent-ID: response-p+1\n\nHTTP/1.1 200 OK\nContent-Type: application/json\n\n{"id":"1"}\n' +
      '--b_1\nContent-Type: application/http\nContent-ID: <response-p+0>\n\nHTTP/1.1 204 No Content\n\n\n--b_1--\nepilogue';
    expect(parseBatchResponse('multipart/mixed; boundary="b_1"', answer)).toEqual([
      { contentId: 'response-p+1', status: 200, headers: { 'content-type': 'application/json' }, body: '{"id":"1"}' },
      { contentId: 'response-p+0', status: 204, headers: {}, body: '' },
    ]);
  });

  it('refuses answers that are not complete multipart bodies of HTTP responses', () => {
    const part = '--b\r\nContent-ID: <response-p+0>\r\n\r\nHTTP/1.1 200 OK\r\n\r\n{}\r\n';
    expect(() => parseBatchResponse('application/json', '{}')).toThrow(MalformedBatchResponse);
    expect(() => parseBatchResponse('multipart/mixed', part + '--b--')).toThrow(MalformedBatchResponse);
    expect(() => parseBatchResponse('multipart/mixed; boundary=b', 'no delimiter')).toThrow(/no boundary delimiter/);
    expect(() => parseBatchResponse('multipart/mixed; boundary=b', part)).toThrow(/no closing delimiter/);
    expect(() => parseBatchResponse('multipart/mixed; boundary=b', '--b\r\nContent-ID: x\r\n\r\n<html>oops</html>\r\n--b--')).toThrow(/no HTTP status line/);
    expect(parseBatchResponse('multipart/mixed; boundary=b', part + '--b--\r\n')).toHaveLength(1);
  });
});

describe('deleteFiles (#26 in batches)', () => {
  it('250 deletes go out as 3 batch requests, all deleted, in input order', async () => {
    const files = await makeFiles(250, 'del');
    const calls: string[] = [];
    const api = apiFor(DO, { onCall: (r) => calls.push(r) });
    const ids = files.map((f) => f.id);
    const r = await api.deleteFiles(ids);
    expect(r).toEqual({ deleted: ids, missing: [], failed: [] });
    expect(count('drive.batch')).toBe(3);
    expect(count('drive.files.delete')).toBe(250);
    expect(calls).toEqual(['drive.batch', 'drive.batch', 'drive.batch']);
    expect(await drive.findFiles({ nameContains: ['del-'], owner: 'me', folder: false })).toEqual([]);
    // Nothing to do: no request at all.
    expect(await api.deleteFiles([])).toEqual({ deleted: [], missing: [], failed: [] });
    expect(count('drive.batch')).toBe(3);
  }, 60_000);

  it('files that are gone or not ours are missing (ignored, as the reference), not failed', async () => {
    const [mine] = await makeFiles(1, 'mixed');
    const [sharedWithDo, private_] = await makeFiles(2, 'ds-owned', dsDrive);
    await dsDrive.share(sharedWithDo!.id, DO, 'writer', { sendNotificationEmail: false });
    emu.world.counters.clear();
    const r = await drive.deleteFiles([mine!.id, 'no-such-file', sharedWithDo!.id, private_!.id, mine!.id]);
    expect(r).toEqual({ deleted: [mine!.id], missing: ['no-such-file', sharedWithDo!.id, private_!.id], failed: [] });
    expect(count('drive.batch')).toBe(1);
    expect(count('drive.files.delete')).toBe(4); // the duplicate id is sent once
    expect(await exists(dsDrive, sharedWithDo!.id)).toBe(true);
    expect(await exists(dsDrive, private_!.id)).toBe(true);
  });

  it('parts answered 429, 403 rateLimitExceeded or 500 are re-sent in a later batch after the backoff', async () => {
    const files = await makeFiles(10, 'part-faults');
    const events: RetryEvent[] = [];
    const api = apiFor(DO, { retry: { onRetry: (e) => events.push(e) } });
    emu.world.faults.push(
      { route: 'drive.files.delete', status: 429, count: 2 },
      { route: 'drive.files.delete', status: 403, reason: 'rateLimitExceeded' },
      { route: 'drive.files.delete', status: 500 },
    );
    const r = await api.deleteFiles(files.map((f) => f.id));
    expect(r.deleted).toEqual(files.map((f) => f.id));
    expect([r.missing, r.failed]).toEqual([[], []]);
    expect(count('drive.batch')).toBe(2);
    expect(count('drive.files.delete')).toBe(14);
    expect(events.map((e) => [e.route, e.attempt])).toEqual([['drive.files.delete', 1]]);
    for (const f of files) expect(await exists(drive, f.id)).toBe(false);
  });

  it('a fatal part fails at once; a part that keeps failing runs out of attempts', async () => {
    const [a, b] = await makeFiles(2, 'give-up');
    const api = apiFor(DO, { retry: { maxAttempts: 3 } });
    // Part a: 400 (fatal). Part b: 503 in each of its 3 attempts.
    emu.world.faults.push({ route: 'drive.files.delete', status: 400, reason: 'badRequest' }, { route: 'drive.files.delete', status: 503, count: 3 });
    const r = await api.deleteFiles([a!.id, b!.id]);
    expect(r.deleted).toEqual([]);
    expect(r.failed.map((f) => [f.id, f.error.status, f.error.reason, f.error.attempts, f.error.route])).toEqual([
      [a!.id, 400, 'badRequest', 1, 'drive.files.delete'],
      [b!.id, 503, 'backendError', 3, 'drive.files.delete'],
    ]);
    expect(count('drive.batch')).toBe(3);
    expect(await exists(drive, a!.id)).toBe(true);
    expect(await exists(drive, b!.id)).toBe(true);
  });

  it('the whole batch: 503 and a dropped connection are re-sent (deletes are idempotent), 400 fails every item', async () => {
    const files = await makeFiles(6, 'whole');
    const ids = files.map((f) => f.id);
    emu.world.faults.push({ route: 'drive.batch', status: 503 });
    expect((await drive.deleteFiles(ids.slice(0, 2))).deleted).toEqual(ids.slice(0, 2));
    expect(count('drive.batch')).toBe(2);

    emu.world.counters.clear();
    emu.world.faults.push({ route: 'drive.batch', drop: true });
    expect((await drive.deleteFiles(ids.slice(2, 4))).deleted).toEqual(ids.slice(2, 4));
    expect(count('drive.batch')).toBe(2);

    emu.world.counters.clear();
    emu.world.faults.push({ route: 'drive.batch', status: 400 });
    const r = await drive.deleteFiles(ids.slice(4));
    expect(r.deleted).toEqual([]);
    expect(r.failed.map((f) => [f.id, f.error.status, f.error.route])).toEqual(ids.slice(4).map((id) => [id, 400, 'drive.batch']));
    expect(count('drive.batch')).toBe(1);
    expect(count('drive.files.delete')).toBe(0);
    for (const id of ids.slice(4)) expect(await exists(drive, id)).toBe(true);
  });

  it('an unreadable answer is a transient failure of the whole batch: re-sent, and the files are gone', async () => {
    const files = await makeFiles(3, 'unreadable');
    const api = apiFor(DO, {}, proxy.url);
    proxy.spoil.push('truncate');
    const r = await api.deleteFiles(files.map((f) => f.id));
    // The spoiled attempt did delete them; the retry finds them gone.
    expect(r).toEqual({ deleted: [], missing: files.map((f) => f.id), failed: [] });
    expect(count('drive.batch')).toBe(2);
    for (const f of files) expect(await exists(drive, f.id)).toBe(false);
  });

  it('a 401 on the batch refreshes the token once and goes on', async () => {
    const [f] = await makeFiles(1, 'reauth');
    const u = emu.world.addUser(DO);
    emu.world.tokens.delete(u.accessToken); // refused although not expired
    const auth = makeOAuthClient({ clientId: u.clientId, clientSecret: u.clientSecret }, env);
    auth.setCredentials({ access_token: u.accessToken, refresh_token: u.refreshToken, expiry_date: Date.now() + 3_600_000 });
    const api = createDriveApi(auth, { env, retry: { baseDelayMs: 5, maxDelayMs: 20 } });
    emu.world.counters.clear();
    expect((await api.deleteFiles([f!.id])).deleted).toEqual([f!.id]);
    expect(count('drive.batch')).toBe(2);
    expect(count('oauth.token')).toBe(1);
  });
});

describe('shareMany (#28 in batches)', () => {
  it('150 items go out as 2 batch requests; the DS sees every permission', async () => {
    const files = await makeFiles(150, 'share');
    const items = files.map((f, i) => ({ fileId: f.id, email: DS, role: i < 75 ? ('reader' as const) : ('writer' as const) }));
    const r = await drive.shareMany(items);
    expect(count('drive.batch')).toBe(2);
    expect(count('drive.permissions.create')).toBe(150);
    expect(r).toHaveLength(150);
    r.forEach((x, i) => {
      expect(x).toMatchObject({ ...items[i], ok: true, recovered: false, permission: { type: 'user', role: items[i]!.role, emailAddress: DS } });
    });
    // As the DS: every file is found in a search and lists the DS with its role.
    const seen = await dsDrive.findFiles({ nameContains: ['share-'], notOwnedByMe: true, fields: ['id'] });
    expect(new Set(seen.map((f) => f.id))).toEqual(new Set(files.map((f) => f.id)));
    expect((await dsEntries(files[0]!.id)).map((p) => p.role)).toEqual(['reader']);
    expect((await dsEntries(files[149]!.id)).map((p) => p.role)).toEqual(['writer']);
    expect(invitations(files.map((f) => f.id))).toBe(150);
  }, 60_000);

  it('a part answered 429 is re-sent; a part answered 500 is looked up first, then re-sent', async () => {
    const files = await makeFiles(5, 'share-faults');
    emu.world.faults.push({ route: 'drive.permissions.create', status: 429 }, { route: 'drive.permissions.create', status: 500 });
    const r = await drive.shareMany(files.map((f) => ({ fileId: f.id, email: DS, role: 'reader' })));
    expect(r.map((x) => x.ok && x.recovered)).toEqual([false, false, false, false, false]);
    // create batch, lookup batch (1 list, for the 500), create batch for the two.
    expect(count('drive.batch')).toBe(3);
    expect(count('drive.permissions.list')).toBe(1);
    expect(count('drive.permissions.create')).toBe(7);
    for (const f of files) expect(await dsEntries(f.id)).toHaveLength(1);
    expect(invitations(files.map((f) => f.id))).toBe(5);
  });

  it('a dropped batch connection: looked up, re-sent, one permission and one invitation per item', async () => {
    const files = await makeFiles(150, 'share-drop');
    emu.world.faults.push({ route: 'drive.batch', drop: true });
    const r = await drive.shareMany(files.map((f) => ({ fileId: f.id, email: DS, role: 'writer' })));
    expect(r.every((x) => x.ok)).toBe(true);
    // Dropped batch (never processed), batch 2, lookup of the first 100, re-send of the first 100.
    expect(count('drive.batch')).toBe(4);
    expect(count('drive.permissions.list')).toBe(100);
    expect(count('drive.permissions.create')).toBe(150);
    for (const f of [files[0]!, files[99]!, files[100]!]) expect((await dsEntries(f.id)).map((p) => p.role)).toEqual(['writer']);
    const perFile = await Promise.all(files.map(async (f) => (await drive.listPermissions(f.id)).filter((p) => p.emailAddress === DS).length));
    expect(perFile.every((n) => n === 1)).toBe(true);
    expect(invitations(files.map((f) => f.id))).toBe(150);
  }, 60_000);

  it('a batch the server completes after the client timed out is found by the lookup, not sent again', async () => {
    const files = await makeFiles(150, 'share-slow');
    // Attempts time out after 400 ms; the backoff before the lookup (~1.2 s) outlasts the 900 ms the server takes.
    const api = apiFor(DO, { retry: { attemptTimeoutMs: 400, baseDelayMs: 1200, maxDelayMs: 2000, random: () => 0.99 } });
    emu.world.faults.push({ route: 'drive.batch', latencyMs: 900 });
    const r = await api.shareMany(files.map((f) => ({ fileId: f.id, email: DS, role: 'reader' })));
    expect(r.every((x) => x.ok)).toBe(true);
    expect(r.map((x) => x.ok && x.recovered)).toEqual([...Array(100).fill(true), ...Array(50).fill(false)]);
    expect(count('drive.batch')).toBe(3);
    expect(count('drive.permissions.create')).toBe(150);
    expect(invitations(files.map((f) => f.id))).toBe(150);
    expect(r[0]).toMatchObject({ ok: true, permission: { role: 'reader', emailAddress: DS } });
  }, 60_000);

  it('an unreadable answer and a missing part are ambiguous: looked up, recovered, no second invitation', async () => {
    const files = await makeFiles(4, 'share-spoiled');
    const api = apiFor(DO, {}, proxy.url);
    proxy.spoil.push('truncate');
    const r1 = await api.shareMany(files.slice(0, 2).map((f) => ({ fileId: f.id, email: DS, role: 'reader' })));
    expect(r1.map((x) => x.ok && x.recovered)).toEqual([true, true]);
    expect(count('drive.batch')).toBe(2); // create, lookup
    expect(count('drive.permissions.create')).toBe(2);

    emu.world.counters.clear();
    proxy.spoil.push('lastPart');
    const r2 = await api.shareMany(files.slice(2).map((f) => ({ fileId: f.id, email: DS, role: 'writer' })));
    expect(r2.map((x) => x.ok && x.recovered)).toEqual([false, true]);
    expect(count('drive.batch')).toBe(2);
    expect(count('drive.permissions.list')).toBe(1);
    expect(count('drive.permissions.create')).toBe(2);
    expect(invitations(files.map((f) => f.id))).toBe(4);
  });

  it('fatal parts fail alone, with their error; sendNotificationEmail=false sends no invitation', async () => {
    const files = await makeFiles(2, 'share-fatal');
    const r = await drive.shareMany(
      [
        { fileId: files[0]!.id, email: DS, role: 'reader' },
        { fileId: 'no-such-file', email: DS, role: 'reader' },
        { fileId: files[1]!.id, email: DS, role: 'writer' },
      ],
      { sendNotificationEmail: false },
    );
    expect(r.map((x) => x.ok)).toEqual([true, false, true]);
    const bad = r[1]!;
    expect(bad.ok === false && [bad.fileId, bad.error.status, bad.error.route, bad.error.attempts]).toEqual(['no-such-file', 404, 'drive.permissions.create', 1]);
    expect(count('drive.batch')).toBe(1);
    expect(invitations(files.map((f) => f.id))).toBe(0);
    expect((await dsEntries(files[1]!.id)).map((p) => p.role)).toEqual(['writer']);
    await expect(drive.shareMany([{ fileId: files[0]!.id, email: DS, role: 'owner' as 'reader' }])).rejects.toThrow(TypeError);
  });
});
