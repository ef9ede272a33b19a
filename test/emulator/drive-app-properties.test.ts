/// <reference types="jest" />
/**
 * Drive `appProperties` are private to the app: "A collection of arbitrary key-value pairs which are private to the
 * requesting app" (File resource, https://developers.google.com/workspace/drive/api/reference/rest/v3/files), while
 * `properties` are public (https://developers.google.com/workspace/drive/api/guides/properties). The app is the OAuth
 * client of the access token: tokens from the token endpoint carry the client_id they were requested with; tokens
 * from `POST /__admin/users` belong to the default client unless `clientId` names another. Everything through the
 * real @googleapis/drive client.
 */
import type { drive_v3 } from '@googleapis/drive';
import type { OAuth2Client } from 'google-auth-library';
import { startServer, DEFAULT_CLIENT_ID, type Emulator } from './core';
import { oauthModule } from './oauth';
import { driveModule } from './drive';
import { makeOAuthClient, makeDrive, callOptions } from '../../lib/google/clients';

const DO = 'do@example.org';
const DS = 'ds@example.com';

let emu: Emulator;
let env: NodeJS.ProcessEnv;
const o = () => callOptions(env);

beforeAll(async () => {
  emu = await startServer([oauthModule, driveModule]);
  env = { SYFT_BG_GOOGLE_ROOT_URL: emu.url };
});
afterAll(() => emu.close());
beforeEach(() => emu.world.reset());

interface App {
  email: string;
  clientId: string;
  clientSecret: string;
  accessToken: string;
  refreshToken: string;
  auth: OAuth2Client;
  drive: drive_v3.Drive;
}

async function admin(path: string, body?: unknown): Promise<{ status: number; data: any }> {
  const r = await fetch(`${emu.url}__admin/${path}`, { method: 'POST', ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
  return { status: r.status, data: await r.json() };
}

/** `email` signed in to the app `clientId` (default: the emulator's default client), over the admin API. */
async function signIn(email: string, clientId?: string): Promise<App> {
  const r = await admin('users', { email, ...(clientId ? { clientId } : {}) });
  expect(r.status).toBe(200);
  const u = r.data as Omit<App, 'auth' | 'drive'>;
  const auth = makeOAuthClient(u, env);
  auth.setCredentials({ access_token: u.accessToken, refresh_token: u.refreshToken, expiry_date: Date.now() + 3600_000 });
  return { ...u, auth, drive: makeDrive(auth, env) };
}

async function newClient(): Promise<{ clientId: string; clientSecret: string }> {
  return (await admin('clients')).data;
}

async function props(app: App, fileId: string) {
  return (await app.drive.files.get({ fileId, fields: 'appProperties,properties' }, o())).data;
}

async function names(app: App, q: string): Promise<string[]> {
  return ((await app.drive.files.list({ q, fields: 'files(name)' }, o())).data.files ?? []).map((f) => f.name!);
}

describe('OAuth clients of tokens', () => {
  it('admin users: the default client unless clientId names a registered one; bad requests are 400', async () => {
    const a = await admin('users', { email: DO });
    const b = await admin('users', { email: DS });
    expect(a.data.clientId).toBe(DEFAULT_CLIENT_ID);
    expect(b.data).toMatchObject({ clientId: DEFAULT_CLIENT_ID, clientSecret: a.data.clientSecret });
    expect(emu.world.tokens.get(a.data.accessToken)?.clientId).toBe(DEFAULT_CLIENT_ID);

    const c = await newClient();
    const other = await admin('users', { email: DO, clientId: c.clientId });
    expect(other.data).toMatchObject({ email: DO, clientId: c.clientId, clientSecret: c.clientSecret });
    expect(emu.world.tokens.get(other.data.accessToken)?.clientId).toBe(c.clientId);

    const unknown = await admin('users', { email: DO, clientId: 'nobody.apps.googleusercontent.com' });
    expect(unknown.status).toBe(400);
    expect(unknown.data.error.message).toContain('Unknown OAuth client nobody.apps.googleusercontent.com');
    expect((await admin('users', '{"email": ')).status).toBe(400);
    expect((await admin('users', { email: DO, scopes: 'drive' })).status).toBe(400);
    expect((await admin('users', {})).status).toBe(400);
  });

  it('a token from the token endpoint carries the client_id it was requested with', async () => {
    const c = await newClient();
    const app = await signIn(DO, c.clientId);
    const before = app.accessToken;
    app.auth.setCredentials({ access_token: before, refresh_token: app.refreshToken, expiry_date: Date.now() - 1000 });
    emu.world.tokens.delete(before); // only a refreshed token can work
    const id = (await app.drive.files.create({ requestBody: { name: 'f', appProperties: { k: 'v' } }, fields: 'id' }, o())).data.id!;
    const now = app.auth.credentials.access_token!;
    expect(now).not.toBe(before);
    expect(emu.world.counters.get('oauth.token')).toBe(1);
    expect(emu.world.tokens.get(now)?.clientId).toBe(c.clientId);
    // So the properties belong to that client, not to the default one.
    expect((await props(app, id)).appProperties).toEqual({ k: 'v' });
    const dflt = await signIn(DO);
    expect((await props(dflt, id)).appProperties).toBeUndefined();
  });
});

describe('appProperties are private to the app', () => {
  it('each app reads, merges and deletes only its own keys; properties are shared; other users of the same app see them', async () => {
    const a = await signIn(DO);
    const b = await signIn(DO, (await newClient()).clientId);
    const ds = await signIn(DS); // another user of app A (the default client)

    const id = (await a.drive.files.create({ requestBody: { name: 'x', appProperties: { k: 'a', onlyA: '1' }, properties: { pub: 'x' } }, fields: 'id' }, o())).data.id!;
    expect(await props(a, id)).toEqual({ appProperties: { k: 'a', onlyA: '1' }, properties: { pub: 'x' } });
    expect(await props(b, id)).toEqual({ properties: { pub: 'x' } });

    // B's update merges into B's own set; A's keys stay.
    const ub = await b.drive.files.update({ fileId: id, requestBody: { appProperties: { k: 'b', onlyB: '2' } }, fields: 'appProperties' }, o());
    expect(ub.data).toEqual({ appProperties: { k: 'b', onlyB: '2' } });
    expect((await props(a, id)).appProperties).toEqual({ k: 'a', onlyA: '1' });

    // null deletes B's key only.
    await b.drive.files.update({ fileId: id, requestBody: { appProperties: { k: null, onlyA: null } as never } }, o());
    expect((await props(b, id)).appProperties).toEqual({ onlyB: '2' });
    expect((await props(a, id)).appProperties).toEqual({ k: 'a', onlyA: '1' });
    await b.drive.files.update({ fileId: id, requestBody: { appProperties: { onlyB: null } as never } }, o());
    expect((await props(b, id)).appProperties).toBeUndefined();

    // properties are public: B's change is A's too.
    await b.drive.files.update({ fileId: id, requestBody: { properties: { pub: 'y' } } }, o());
    expect((await props(a, id)).properties).toEqual({ pub: 'y' });

    // Private to the app, not to the user: the DS, through app A, sees app A's properties of a file shared with them.
    await a.drive.permissions.create({ fileId: id, requestBody: { type: 'user', role: 'reader', emailAddress: DS }, sendNotificationEmail: false }, o());
    expect(await props(ds, id)).toEqual({ appProperties: { k: 'a', onlyA: '1' }, properties: { pub: 'y' } });
  });

  it("`appProperties has {…}` matches only the requesting app's keys; files.list and changes.list show each app its own", async () => {
    const a = await signIn(DO);
    const b = await signIn(DO, (await newClient()).clientId);
    const start = (await a.drive.changes.getStartPageToken({}, o())).data.startPageToken!;
    await a.drive.files.create({ requestBody: { name: 'byA', appProperties: { tag: 'x' } } }, o());
    // A media upload (drive.upload.create, multipart) records the uploading app too.
    await b.drive.files.create({ requestBody: { name: 'byB', appProperties: { tag: 'x' } }, media: { mimeType: 'text/plain', body: 'hello' } }, o());

    const has = "appProperties has { key='tag' and value='x' }";
    expect(await names(a, has)).toEqual(['byA']);
    expect(await names(b, has)).toEqual(['byB']);
    expect(await names(a, `not ${has} and trashed = false`)).toEqual(['byB']);
    // properties has does not see appProperties.
    expect(await names(a, "properties has { key='tag' and value='x' }")).toEqual([]);

    // The same query by both apps (one cached result list): each sees its own appProperties.
    const listed = async (app: App) =>
      ((await app.drive.files.list({ q: 'trashed = false', orderBy: 'name', fields: 'files(name,appProperties)' }, o())).data.files ?? []).map((f) => [f.name, f.appProperties ?? null]);
    expect(await listed(a)).toEqual([['byA', { tag: 'x' }], ['byB', null]]);
    expect(await listed(b)).toEqual([['byA', null], ['byB', { tag: 'x' }]]);

    const feed = async (app: App) =>
      ((await app.drive.changes.list({ pageToken: start, fields: 'changes(file(name,appProperties))' }, o())).data.changes ?? []).map((c) => [c.file!.name, c.file!.appProperties ?? null]);
    expect(await feed(a)).toEqual([['byA', { tag: 'x' }], ['byB', null]]);
    expect(await feed(b)).toEqual([['byA', null], ['byB', { tag: 'x' }]]);
  });

  it('resumable uploads and batch calls act for the client of their token', async () => {
    const a = await signIn(DO);
    const b = await signIn(DO, (await newClient()).clientId);
    const init = await b.auth.request({ url: `${emu.url}upload/drive/v3/files`, method: 'POST', params: { uploadType: 'resumable', fields: 'id,appProperties' }, data: { name: 'r', appProperties: { up: 'b' } } });
    const put = await fetch((init.headers as unknown as Headers).get('location')!, { method: 'PUT', body: 'bytes' });
    expect(put.status).toBe(200);
    const created = (await put.json()) as { id: string; appProperties: Record<string, string> };
    expect(created.appProperties).toEqual({ up: 'b' });
    expect((await props(a, created.id)).appProperties).toBeUndefined();

    const boundary = 'batch_app';
    const body =
      `--${boundary}\r\nContent-Type: application/http\r\n\r\nGET /drive/v3/files/${created.id}?fields=appProperties HTTP/1.1\r\nAuthorization: Bearer ${b.accessToken}\r\n\r\n` +
      `--${boundary}\r\nContent-Type: application/http\r\n\r\nGET /drive/v3/files/${created.id}?fields=name,appProperties HTTP/1.1\r\n\r\n` +
      `--${boundary}--\r\n`;
    const r = await fetch(`${emu.url}batch/drive/v3`, { method: 'POST', headers: { authorization: `Bearer ${a.accessToken}`, 'content-type': `multipart/mixed; boundary=${boundary}` }, body });
    expect(r.status).toBe(200);
    const text = await r.text();
    expect(text).toContain('{"appProperties":{"up":"b"}}'); // the part's own token: app B
    expect(text).toContain('{"name":"r"}'); // the batch's token: app A
  });
});
