/**
 * Google Drive API v3 routes of the loopback emulator. The real `@googleapis/drive` client (and Python's
 * googleapiclient) talk to these over HTTP; behaviour follows Google's reference,
 * https://developers.google.com/workspace/drive/api/reference/rest/v3, with the cited guide per route.
 * State lives in {@link DriveStore} (drive-store.ts), the `q` language in drive-query.ts, `fields` in drive-fields.ts.
 *
 * Route keys (used by fault injection and the request counters):
 *   drive.about.get                GET    /drive/v3/about
 *   drive.files.list               GET    /drive/v3/files
 *   drive.files.create             POST   /drive/v3/files                      (metadata only)
 *   drive.files.generateIds        GET    /drive/v3/files/generateIds
 *   drive.files.emptyTrash         DELETE /drive/v3/files/trash
 *   drive.files.get                GET    /drive/v3/files/{fileId}             (alt=json | alt=media + Range)
 *   drive.files.update             PATCH  /drive/v3/files/{fileId}             (metadata, addParents/removeParents)
 *   drive.files.delete             DELETE /drive/v3/files/{fileId}
 *   drive.permissions.list         GET    /drive/v3/files/{fileId}/permissions
 *   drive.permissions.create       POST   /drive/v3/files/{fileId}/permissions
 *   drive.permissions.get          GET    /drive/v3/files/{fileId}/permissions/{permissionId}
 *   drive.permissions.update       PATCH  /drive/v3/files/{fileId}/permissions/{permissionId}
 *   drive.permissions.delete       DELETE /drive/v3/files/{fileId}/permissions/{permissionId}
 *   drive.changes.getStartPageToken GET   /drive/v3/changes/startPageToken
 *   drive.changes.list             GET    /drive/v3/changes
 *   drive.upload.create            POST   /upload/drive/v3/files?uploadType=media|multipart|resumable
 *   drive.upload.update            PATCH  /upload/drive/v3/files/{fileId}?uploadType=media|multipart|resumable
 *   drive.upload.resumable         PUT    /upload/drive/v3/files[/{fileId}]?upload_id=…  (session URI)
 *   drive.batch                    POST   /batch/drive/v3                      (multipart/mixed; inner calls are
 *                                                                              counted under their own keys too)
 */
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import { Module, Router, World, RequestContext, HttpError, sendJson, errorBody } from './core';
import { DriveStore, DriveError, invalidParam, parseOrderBy, iso, norm, Media, UploadSession } from './drive-store';
import { parseQuery, QueryError, Node } from './drive-query';
import {
  parseFields,
  validateFields,
  project,
  FieldsError,
  Sel,
  Schema,
  FILE,
  FILE_LIST,
  CHANGE_LIST,
  START_PAGE_TOKEN,
  PERMISSION,
  PERMISSION_LIST,
  ABOUT,
  GENERATED_IDS,
} from './drive-fields';
import { boundaryOf, mediaType, parseMultipart, parseHttpRequest, MultipartError } from './drive-multipart';

export { DriveStore } from './drive-store';

/** The Drive state of a world (created on first use; `world.reset()` drops it). */
export function driveState(world: World): DriveStore {
  return world.module('drive', () => new DriveStore(world));
}

/**
 * Drive v3 defaults when `fields` is absent. "By default, the server sends back a default set of fields specific to
 * the method used" (https://developers.google.com/workspace/drive/api/guides/fields-parameter), and the v3 migration
 * notes say only "a subset of commonly used fields" comes back without `fields`
 * (https://developers.google.com/workspace/drive/api/guides/v3versusv2). files.get/create/update: kind, id, name,
 * mimeType (the guide's example). Permissions: kind, id, type, role. Google documents no default set for the
 * Permission resource (https://developers.google.com/workspace/drive/api/reference/rest/v3/permissions), so the
 * emulator keeps the identifying minimum and leaves out `emailAddress`, `domain` and `displayName`: code that needs
 * them must name them in `fields` (lib/google/drive.ts does), which is right whatever Google's defaults are.
 */
const DEFAULT_FILE = 'kind,id,name,mimeType';
const DEFAULT_FILE_LIST = 'kind,incompleteSearch,nextPageToken,files(kind,id,name,mimeType)';
const DEFAULT_CHANGE_LIST = 'kind,nextPageToken,newStartPageToken,changes(kind,type,changeType,time,removed,fileId,file(kind,id,name,mimeType))';
const DEFAULT_PERMISSION = 'kind,id,type,role';
const DEFAULT_PERMISSION_LIST = 'kind,nextPageToken,permissions(kind,id,type,role)';

type DriveHandler = (ctx: RequestContext, store: DriveStore) => void | Promise<void>;

// https://developers.google.com/workspace/drive/api/guides/api-specific-auth
const S = 'https://www.googleapis.com/auth/';
const WRITE_SCOPES = [S + 'drive', S + 'drive.file', S + 'drive.appdata'];
const CONTENT_SCOPES = [...WRITE_SCOPES, S + 'drive.readonly', S + 'drive.photos.readonly', S + 'drive.meet.readonly'];
const READ_SCOPES = [...CONTENT_SCOPES, S + 'drive.metadata', S + 'drive.metadata.readonly'];

export const driveModule: Module = (router: Router, world: World) => {
  const h =
    (fn: DriveHandler, need?: 'read' | 'write' | 'content') =>
    async (ctx: RequestContext): Promise<void> => {
      try {
        if (need) requireScope(ctx, world, need);
        await fn(ctx, driveState(world));
      } catch (e) {
        if (e instanceof DriveError) sendDriveError(ctx.res, e);
        else throw e;
      }
    };

  // ---- about ---------------------------------------------------------------------------------------------------
  // https://developers.google.com/workspace/drive/api/reference/rest/v3/about/get — `fields` is required.
  router.add(
    'drive.about.get',
    'GET',
    '/drive/v3/about',
    h((ctx, store) => {
      const f = param(ctx, 'fields');
      if (!f) throw new DriveError(400, "The 'fields' parameter is required for this method.", 'required', 'fields', 'parameter');
      const sel = fieldsSel(f, ABOUT);
      const viewer = norm(ctx.user.email);
      const usage = store.usage(viewer);
      const about = {
        kind: 'drive#about',
        user: store.userResource(viewer, viewer),
        storageQuota: { limit: '16106127360', usage: String(usage.total), usageInDrive: String(usage.total), usageInDriveTrash: String(usage.trash) },
        maxUploadSize: '5242880000000',
        appInstalled: false,
        canCreateDrives: true,
        canCreateTeamDrives: true,
        importFormats: {},
        exportFormats: {},
        maxImportSizes: {},
        folderColorPalette: ['#ac725e', '#d06b64', '#f83a22', '#fa573c', '#ff7537', '#ffad46'],
        driveThemes: [],
        teamDriveThemes: [],
      };
      sendJson(ctx.res, 200, project(about, sel));
    }, 'read'),
  );

  // ---- files ---------------------------------------------------------------------------------------------------
  // https://developers.google.com/workspace/drive/api/reference/rest/v3/files/list
  // https://developers.google.com/workspace/drive/api/guides/search-files
  router.add(
    'drive.files.list',
    'GET',
    '/drive/v3/files',
    h((ctx, store) => {
      const sel = fieldsSel(param(ctx, 'fields') || DEFAULT_FILE_LIST, FILE_LIST);
      const pageSize = intParam(ctx, 'pageSize', 100, 1, 1000);
      const q = param(ctx, 'q');
      let node: Node | undefined;
      try {
        node = parseQuery(q);
      } catch (e) {
        if (e instanceof QueryError)
          throw new DriveError(400, 'Invalid Value', 'invalid', 'q', 'parameter', { 'x-emulator-detail': e.message.replace(/[^\x20-\x7e]/g, '?') });
        throw e;
      }
      const orderBy = param(ctx, 'orderBy');
      const order = parseOrderBy(orderBy);
      // supportsAllDrives, includeItemsFromAllDrives, spaces, corpora, driveId, includeLabels,
      // includePermissionsForView are accepted and ignored: the emulator has only My Drive.
      const viewer = norm(ctx.user.email);
      const fp = fingerprint(viewer, q ?? '', orderBy ?? '');
      const tok = param(ctx, 'pageToken');
      const offset = tok ? decodePageToken(tok, fp) : 0;
      const client = ctx.user.clientId;
      const all = store.listSorted(viewer, client, node, order, `${viewer}\u0000${client}\u0000${q ?? ''}\u0000${orderBy ?? ''}`);
      const n = Math.min(pageSize, store.quirks.maxPageItems ?? Infinity);
      const page = all.slice(offset, offset + n);
      const more = offset + n < all.length;
      const access = store.access(viewer, client);
      const star = sel.has('*');
      const out: Record<string, unknown> = {};
      if (star || sel.has('kind')) out.kind = 'drive#fileList';
      if (more && (star || sel.has('nextPageToken'))) out.nextPageToken = encodePageToken(offset + n, fp);
      if (star || sel.has('incompleteSearch')) out.incompleteSearch = false;
      if (star || sel.has('files')) {
        const fsel = star ? null : (sel.get('files') ?? null);
        out.files = page.map((f) => store.fileResource(f, access, fsel));
      }
      sendJson(ctx.res, 200, out);
    }, 'read'),
  );

  // https://developers.google.com/workspace/drive/api/reference/rest/v3/files/create (metadata-only)
  router.add(
    'drive.files.create',
    'POST',
    '/drive/v3/files',
    h((ctx, store) => {
      rejectUploadOnMetadataUrl(ctx);
      const sel = fieldsSel(param(ctx, 'fields') || DEFAULT_FILE, FILE);
      const f = store.createFile(ctx.user.email, readJson(ctx.body), undefined, ctx.user.clientId);
      sendJson(ctx.res, 200, store.fileResource(f, store.access(ctx.user.email, ctx.user.clientId), sel));
    }, 'write'),
  );

  // https://developers.google.com/workspace/drive/api/reference/rest/v3/files/generateIds
  router.add(
    'drive.files.generateIds',
    'GET',
    '/drive/v3/files/generateIds',
    h((ctx, store) => {
      const sel = fieldsSel(param(ctx, 'fields') || 'kind,space,ids', GENERATED_IDS);
      const count = intParam(ctx, 'count', 10, 1, 1000);
      const space = param(ctx, 'space') ?? 'drive';
      if (space !== 'drive' && space !== 'appDataFolder') throw invalidParam('space');
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        const id = store.newFileId();
        store.generatedIds.add(id);
        ids.push(id);
      }
      sendJson(ctx.res, 200, project({ kind: 'drive#generatedIds', space, ids }, sel));
    }, 'write'),
  );

  // https://developers.google.com/workspace/drive/api/reference/rest/v3/files/emptyTrash (before files/{id})
  router.add(
    'drive.files.emptyTrash',
    'DELETE',
    '/drive/v3/files/trash',
    h((ctx, store) => {
      store.emptyTrash(ctx.user.email);
      noContent(ctx.res);
    }, 'write'),
  );

  // https://developers.google.com/workspace/drive/api/reference/rest/v3/files/get
  // https://developers.google.com/workspace/drive/api/guides/manage-downloads (alt=media, Range → 206)
  router.add(
    'drive.files.get',
    'GET',
    '/drive/v3/files/:fileId',
    h((ctx, store) => {
      const alt = param(ctx, 'alt') ?? 'json';
      if (alt === 'media') {
        requireScope(ctx, world, 'content');
        download(ctx, store);
        return;
      }
      if (alt !== 'json') throw invalidParam('alt');
      const sel = fieldsSel(param(ctx, 'fields') || DEFAULT_FILE, FILE);
      const access = store.access(ctx.user.email, ctx.user.clientId);
      const f = store.visible(ctx.user.email, ctx.params.fileId!, access);
      sendJson(ctx.res, 200, store.fileResource(f, access, sel));
    }, 'read'),
  );

  // https://developers.google.com/workspace/drive/api/reference/rest/v3/files/update (metadata)
  router.add(
    'drive.files.update',
    'PATCH',
    '/drive/v3/files/:fileId',
    h((ctx, store) => {
      rejectUploadOnMetadataUrl(ctx);
      const sel = fieldsSel(param(ctx, 'fields') || DEFAULT_FILE, FILE);
      const f = store.updateFile(ctx.user.email, ctx.params.fileId!, readJson(ctx.body), { ...parentParams(ctx), clientId: ctx.user.clientId });
      sendJson(ctx.res, 200, store.fileResource(f, store.access(ctx.user.email, ctx.user.clientId), sel));
    }, 'write'),
  );

  // https://developers.google.com/workspace/drive/api/reference/rest/v3/files/delete
  router.add(
    'drive.files.delete',
    'DELETE',
    '/drive/v3/files/:fileId',
    h((ctx, store) => {
      store.deleteFile(ctx.user.email, ctx.params.fileId!);
      noContent(ctx.res);
    }, 'write'),
  );

  // ---- uploads -------------------------------------------------------------------------------------------------
  // https://developers.google.com/workspace/drive/api/guides/manage-uploads
  router.add(
    'drive.upload.create',
    'POST',
    '/upload/drive/v3/files',
    h((ctx, store) => upload(ctx, store, undefined), 'write'),
  );
  router.add(
    'drive.upload.update',
    'PATCH',
    '/upload/drive/v3/files/:fileId',
    h((ctx, store) => upload(ctx, store, ctx.params.fileId), 'write'),
  );
  // The session URI is the credential for the data PUTs (no Authorization header needed), as on Google.
  const resumable = h((ctx, store) => resumablePut(ctx, store));
  router.add('drive.upload.resumable', 'PUT', '/upload/drive/v3/files', resumable, { auth: false });
  router.add('drive.upload.resumable', 'PUT', '/upload/drive/v3/files/:fileId', resumable, { auth: false });

  // ---- permissions ---------------------------------------------------------------------------------------------
  // https://developers.google.com/workspace/drive/api/reference/rest/v3/permissions
  router.add(
    'drive.permissions.list',
    'GET',
    '/drive/v3/files/:fileId/permissions',
    h((ctx, store) => {
      const sel = fieldsSel(param(ctx, 'fields') || DEFAULT_PERMISSION_LIST, PERMISSION_LIST);
      const pageSize = intParam(ctx, 'pageSize', 100, 1, 100);
      const f = store.visible(ctx.user.email, ctx.params.fileId!);
      const fp = fingerprint(norm(ctx.user.email), 'permissions', f.id);
      const tok = param(ctx, 'pageToken');
      const offset = tok ? decodePageToken(tok, fp) : 0;
      const all = store.permissionsOf(f);
      const page = all.slice(offset, offset + pageSize);
      const body: Record<string, unknown> = { kind: 'drive#permissionList', permissions: page.map((p) => store.permissionResource(p)) };
      if (offset + pageSize < all.length) body.nextPageToken = encodePageToken(offset + pageSize, fp);
      sendJson(ctx.res, 200, project(body, sel));
    }, 'read'),
  );

  router.add(
    'drive.permissions.create',
    'POST',
    '/drive/v3/files/:fileId/permissions',
    h((ctx, store) => {
      const sel = fieldsSel(param(ctx, 'fields') || DEFAULT_PERMISSION, PERMISSION);
      const p = store.createPermission(ctx.user.email, ctx.params.fileId!, readJson(ctx.body), {
        sendNotificationEmail: boolParam(ctx, 'sendNotificationEmail'),
        transferOwnership: boolParam(ctx, 'transferOwnership') ?? false,
        emailMessage: param(ctx, 'emailMessage'),
      });
      sendJson(ctx.res, 200, project(store.permissionResource(p), sel));
    }, 'write'),
  );

  router.add(
    'drive.permissions.get',
    'GET',
    '/drive/v3/files/:fileId/permissions/:permissionId',
    h((ctx, store) => {
      const sel = fieldsSel(param(ctx, 'fields') || DEFAULT_PERMISSION, PERMISSION);
      const f = store.visible(ctx.user.email, ctx.params.fileId!);
      const p = store.permissionsOf(f).find((x) => x.id === ctx.params.permissionId);
      if (!p) throw new DriveError(404, `Permission not found: ${ctx.params.permissionId}.`, 'notFound', 'permissionId', 'parameter');
      sendJson(ctx.res, 200, project(store.permissionResource(p), sel));
    }, 'read'),
  );

  router.add(
    'drive.permissions.update',
    'PATCH',
    '/drive/v3/files/:fileId/permissions/:permissionId',
    h((ctx, store) => {
      const sel = fieldsSel(param(ctx, 'fields') || DEFAULT_PERMISSION, PERMISSION);
      const p = store.updatePermission(ctx.user.email, ctx.params.fileId!, ctx.params.permissionId!, readJson(ctx.body));
      sendJson(ctx.res, 200, project(store.permissionResource(p), sel));
    }, 'write'),
  );

  router.add(
    'drive.permissions.delete',
    'DELETE',
    '/drive/v3/files/:fileId/permissions/:permissionId',
    h((ctx, store) => {
      store.deletePermission(ctx.user.email, ctx.params.fileId!, ctx.params.permissionId!);
      noContent(ctx.res);
    }, 'write'),
  );

  // ---- changes -------------------------------------------------------------------------------------------------
  // https://developers.google.com/workspace/drive/api/guides/manage-changes
  router.add(
    'drive.changes.getStartPageToken',
    'GET',
    '/drive/v3/changes/startPageToken',
    h((ctx, store) => {
      const sel = fieldsSel(param(ctx, 'fields') || 'kind,startPageToken', START_PAGE_TOKEN);
      sendJson(ctx.res, 200, project({ kind: 'drive#startPageToken', startPageToken: String(store.changes.next) }, sel));
    }, 'read'),
  );

  // https://developers.google.com/workspace/drive/api/reference/rest/v3/changes/list
  router.add(
    'drive.changes.list',
    'GET',
    '/drive/v3/changes',
    h((ctx, store) => {
      const sel = fieldsSel(param(ctx, 'fields') || DEFAULT_CHANGE_LIST, CHANGE_LIST);
      const tok = param(ctx, 'pageToken');
      if (tok === undefined) throw new DriveError(400, 'Required parameter: pageToken', 'required', 'pageToken', 'parameter');
      const from = /^\d{1,15}$/.test(tok) ? Number(tok) : NaN;
      if (!(from >= 1 && from <= store.changes.next)) throw invalidParam('pageToken');
      const pageSize = intParam(ctx, 'pageSize', 100, 1, 1000);
      const includeRemoved = boolParam(ctx, 'includeRemoved') ?? true;
      // includeCorpusRemovals, restrictToMyDrive, spaces, supportsAllDrives, includeItemsFromAllDrives: accepted, ignored.
      const viewer = norm(ctx.user.email);
      const access = store.access(viewer, ctx.user.clientId);
      const star = sel.has('*');
      const csel = star ? null : (sel.get('changes') ?? null);
      const changes: Record<string, unknown>[] = [];
      let next: number | undefined;
      for (const seq of store.changes.since(viewer, from)) {
        const e = store.changes.entries[seq - 1]!;
        const f = store.files.get(e.fileId);
        const removed = !f || access.searchRole(f) === 0;
        if (removed && !includeRemoved) continue;
        if (changes.length === pageSize) {
          next = seq;
          break;
        }
        const full = csel === null || csel.has('*');
        const want = (k: string) => full || csel!.has(k);
        const c: Record<string, unknown> = {};
        if (want('kind')) c.kind = 'drive#change';
        if (want('type')) c.type = 'file';
        if (want('changeType')) c.changeType = 'file';
        if (want('time')) c.time = iso(e.time);
        if (want('removed')) c.removed = removed;
        if (want('fileId')) c.fileId = e.fileId;
        if (want('file') && !removed) c.file = store.fileResource(f!, access, full ? null : (csel!.get('file') ?? null));
        changes.push(c);
      }
      const out: Record<string, unknown> = {};
      if (star || sel.has('kind')) out.kind = 'drive#changeList';
      if (next !== undefined) {
        if (star || sel.has('nextPageToken')) out.nextPageToken = String(next);
      } else if (star || sel.has('newStartPageToken')) out.newStartPageToken = String(store.changes.next);
      if (star || sel.has('changes')) out.changes = changes;
      sendJson(ctx.res, 200, out);
    }, 'read'),
  );

  // ---- batch ---------------------------------------------------------------------------------------------------
  // https://developers.google.com/workspace/drive/api/guides/performance#batch
  router.add(
    'drive.batch',
    'POST',
    '/batch/drive/v3',
    h(async (ctx) => {
      const ct = ctx.req.headers['content-type'];
      const boundary = boundaryOf(ct);
      if (mediaType(ct) !== 'multipart/mixed' || !boundary) throw new DriveError(400, 'Batch requests must be multipart/mixed.', 'badRequest');
      let parts;
      try {
        parts = parseMultipart(ctx.body, boundary);
      } catch (e) {
        if (e instanceof MultipartError) throw new DriveError(400, e.message, 'badRequest');
        throw e;
      }
      if (parts.length > 100) throw new DriveError(400, 'A batch request cannot contain more than 100 requests.', 'badRequest');
      const rb = 'batch_' + crypto.randomBytes(12).toString('base64url');
      const chunks: Buffer[] = [];
      for (const part of parts) {
        const r = await dispatchInner(router, world, ctx, part.body);
        const cid = part.headers['content-id'];
        const head =
          `--${rb}\r\nContent-Type: application/http\r\n` +
          (cid ? `Content-ID: ${responseContentId(cid)}\r\n` : '') +
          `\r\nHTTP/1.1 ${r.status} ${http.STATUS_CODES[r.status] ?? 'Unknown'}\r\n` +
          Object.entries(r.headers)
            .map(([k, v]) => `${k}: ${v}\r\n`)
            .join('') +
          `\r\n`;
        chunks.push(Buffer.from(head, 'latin1'), r.body, Buffer.from('\r\n'));
      }
      chunks.push(Buffer.from(`--${rb}--\r\n`));
      const body = Buffer.concat(chunks);
      ctx.res.writeHead(200, { 'content-type': `multipart/mixed; boundary=${rb}`, 'content-length': body.length });
      ctx.res.end(body);
    }),
  );
};

// ---- helpers -----------------------------------------------------------------------------------------------------

function sendDriveError(res: http.ServerResponse, e: DriveError): void {
  const body = errorBody(e.code, e.message, e.reason, e.status);
  const first = body.error.errors[0] as Record<string, unknown>;
  if (e.location) {
    first.location = e.location;
    first.locationType = e.locationType ?? 'parameter';
  }
  sendJson(res, e.code, body, e.headers);
}

function requireScope(ctx: RequestContext, world: World, need: 'read' | 'write' | 'content'): void {
  const m = /^Bearer\s+(.+)$/i.exec(ctx.req.headers.authorization ?? '');
  const tok = m ? world.tokens.get(m[1]!.trim()) : undefined;
  if (!tok) return; // unauthenticated routes, or tokens minted outside World
  const ok = need === 'write' ? WRITE_SCOPES : need === 'content' ? CONTENT_SCOPES : READ_SCOPES;
  if (tok.scopes.some((s) => ok.includes(s))) return;
  // https://developers.google.com/workspace/drive/api/guides/handle-errors#resolve_a_403_error_insufficient_permissions
  throw new DriveError(403, 'Request had insufficient authentication scopes.', 'insufficientPermissions', undefined, undefined, {
    'www-authenticate': `Bearer realm="https://accounts.google.com/", error="insufficient_scope", scope="${ok[0]}"`,
  });
}

function param(ctx: RequestContext, k: string): string | undefined {
  return ctx.url.searchParams.get(k) ?? undefined;
}

function intParam(ctx: RequestContext, k: string, dflt: number, min: number, max: number): number {
  const v = param(ctx, k);
  if (v === undefined || v === '') return dflt;
  const n = /^-?\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw invalidParam(k, `Invalid value '${v}'. Values must be within the range: [${min}, ${max}]`);
  return n;
}

function boolParam(ctx: RequestContext, k: string): boolean | undefined {
  const v = param(ctx, k);
  if (v === undefined || v === '') return undefined;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw invalidParam(k);
}

function listParam(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function parentParams(ctx: RequestContext): { addParents?: string[]; removeParents?: string[] } {
  return { addParents: listParam(param(ctx, 'addParents')), removeParents: listParam(param(ctx, 'removeParents')) };
}

function fieldsSel(fields: string, schema: Schema): Sel {
  try {
    const sel = parseFields(fields);
    validateFields(sel, schema);
    return sel;
  } catch (e) {
    if (e instanceof FieldsError) throw new DriveError(400, e.message, 'invalidParameter', 'fields', 'parameter');
    throw e;
  }
}

function readJson(body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new DriveError(400, 'Parse Error', 'parseError');
  }
}

function noContent(res: http.ServerResponse): void {
  res.writeHead(204, { 'content-length': '0' });
  res.end();
}

/** Media sent to the metadata URL: "Uploads must be sent to the upload URL" (400 wrongUrlForUpload). */
function rejectUploadOnMetadataUrl(ctx: RequestContext): void {
  const ut = param(ctx, 'uploadType');
  if (ut === 'media' || ut === 'multipart' || ut === 'resumable') {
    const host = ctx.req.headers.host ?? 'www.googleapis.com';
    throw new DriveError(
      400,
      `Uploads must be sent to the upload URL. Re-send this request to http://${host}/upload${ctx.url.pathname}?uploadType=${ut}`,
      'wrongUrlForUpload',
      'uploadType',
      'parameter',
    );
  }
}

/** Page tokens are opaque: an offset bound to the query that produced it. */
function fingerprint(...parts: string[]): string {
  return crypto.createHash('sha1').update(parts.join('\u0000')).digest('base64url').slice(0, 10);
}

function encodePageToken(offset: number, fp: string): string {
  return Buffer.from(JSON.stringify({ o: offset, f: fp })).toString('base64url');
}

function decodePageToken(tok: string, fp: string): number {
  try {
    const v = JSON.parse(Buffer.from(tok, 'base64url').toString('utf8')) as { o?: unknown; f?: unknown };
    if (typeof v.o === 'number' && Number.isInteger(v.o) && v.o >= 0 && v.f === fp) return v.o;
  } catch {
    /* fall through */
  }
  throw invalidParam('pageToken');
}

/** `Range: bytes=a-b | a- | -n` (single range). Multiple or malformed ranges are ignored (full 200), per RFC 9110. */
function parseRange(h: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!h) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || (m[2] !== '' && Number(m[2]) < start)) return 'unsatisfiable';
  return { start, end };
}

function download(ctx: RequestContext, store: DriveStore): void {
  const f = store.visible(ctx.user.email, ctx.params.fileId!);
  if (!f.content) {
    throw new DriveError(
      403,
      'Only files with binary content can be downloaded. Use Export with Docs Editors files.',
      'fileNotDownloadable',
      'alt',
      'parameter',
    );
  }
  const c = f.content;
  const r = parseRange(ctx.req.headers.range, c.length);
  if (r === 'unsatisfiable') {
    // googleapiclient's MediaIoBaseDownload treats 416 + "bytes */0" as an empty file.
    const body = JSON.stringify(errorBody(416, 'Request range not satisfiable', 'requestedRangeNotSatisfiable'));
    ctx.res.writeHead(416, { 'content-type': 'application/json; charset=UTF-8', 'content-range': `bytes */${c.length}`, 'content-length': Buffer.byteLength(body) });
    ctx.res.end(body);
    return;
  }
  const headers: Record<string, string | number> = { 'content-type': f.mimeType, 'accept-ranges': 'bytes' };
  if (r) {
    const part = c.subarray(r.start, r.end + 1);
    ctx.res.writeHead(206, { ...headers, 'content-range': `bytes ${r.start}-${r.end}/${c.length}`, 'content-length': part.length });
    ctx.res.end(part);
    return;
  }
  ctx.res.writeHead(200, { ...headers, 'content-length': c.length });
  ctx.res.end(c);
}

/** multipart/related: the JSON metadata part, then the media part (manage-uploads#multipart). */
function parseRelated(ctx: RequestContext): { meta: unknown; media: Media } {
  const ct = ctx.req.headers['content-type'];
  const boundary = boundaryOf(ct);
  if (mediaType(ct) !== 'multipart/related' || !boundary)
    throw new DriveError(400, `Invalid multipart request with 0 mime parts.`, 'badContent');
  let parts;
  try {
    parts = parseMultipart(ctx.body, boundary);
  } catch (e) {
    if (e instanceof MultipartError) throw new DriveError(400, `Malformed multipart body: ${e.message}`, 'badContent');
    throw e;
  }
  if (parts.length !== 2) throw new DriveError(400, `Invalid multipart request with ${parts.length} mime parts.`, 'badContent');
  const [metaPart, mediaPart] = parts as [(typeof parts)[0], (typeof parts)[0]];
  const mt = mediaType(metaPart.headers['content-type']);
  if (mt !== undefined && mt !== 'application/json') throw new DriveError(400, 'Metadata part must be application/json.', 'badContent');
  return { meta: readJson(metaPart.body), media: { data: Buffer.from(mediaPart.body), contentType: mediaType(mediaPart.headers['content-type']) } };
}

function upload(ctx: RequestContext, store: DriveStore, fileId: string | undefined): void {
  const ut = param(ctx, 'uploadType');
  const viewer = ctx.user.email;
  const finish = (media: Media, meta: unknown) => {
    const sel = fieldsSel(param(ctx, 'fields') || DEFAULT_FILE, FILE);
    const clientId = ctx.user.clientId;
    const f = fileId ? store.updateFile(viewer, fileId, meta, { ...parentParams(ctx), clientId }, media) : store.createFile(viewer, meta, media, clientId);
    sendJson(ctx.res, 200, store.fileResource(f, store.access(viewer, clientId), sel));
  };
  switch (ut) {
    case 'media':
      finish({ data: ctx.body, contentType: mediaType(ctx.req.headers['content-type']) }, {});
      return;
    case 'multipart': {
      const { meta, media } = parseRelated(ctx);
      finish(media, meta);
      return;
    }
    case 'resumable':
      initiateResumable(ctx, store, fileId);
      return;
    case undefined:
      throw new DriveError(400, 'Required parameter: uploadType', 'required', 'uploadType', 'parameter');
    default:
      throw invalidParam('uploadType', `Invalid value '${ut}'. Values must be one of: [media, multipart, resumable]`);
  }
}

/** Step 1 of a resumable upload: validate the metadata and answer 200 with the session URI in `Location`. */
function initiateResumable(ctx: RequestContext, store: DriveStore, fileId: string | undefined): void {
  const viewer = norm(ctx.user.email);
  fieldsSel(param(ctx, 'fields') || DEFAULT_FILE, FILE);
  const meta = readJson(ctx.body);
  if (fileId) store.checkUpdate(viewer, fileId, meta);
  else store.checkCreate(viewer, meta);
  const lenHeader = ctx.req.headers['x-upload-content-length'];
  let declaredLength: number | undefined;
  if (typeof lenHeader === 'string' && lenHeader !== '') {
    declaredLength = /^\d+$/.test(lenHeader) ? Number(lenHeader) : NaN;
    if (Number.isNaN(declaredLength)) throw new DriveError(400, 'Invalid X-Upload-Content-Length header.', 'badRequest');
  }
  const id = 'AHVrdx' + crypto.randomBytes(36).toString('base64url');
  const params: Record<string, string> = {};
  for (const [k, v] of ctx.url.searchParams) if (k !== 'upload_id') params[k] = v;
  const session: UploadSession = {
    id,
    email: viewer,
    clientId: ctx.user.clientId,
    fileId,
    meta: meta as Record<string, unknown>,
    params,
    contentType: mediaType(header(ctx, 'x-upload-content-type')),
    declaredLength,
    chunks: [],
    received: 0,
  };
  store.uploads.set(id, session);
  const qs = new URLSearchParams({ ...params, upload_id: id }).toString();
  const host = ctx.req.headers.host ?? '127.0.0.1';
  ctx.res.writeHead(200, { location: `http://${host}${ctx.url.pathname}?${qs}`, 'x-guploader-uploadid': id, 'content-length': '0' });
  ctx.res.end();
}

function header(ctx: RequestContext, k: string): string | undefined {
  const v = ctx.req.headers[k];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Step 2: `PUT <session URI>` with all bytes, or chunks with `Content-Range: bytes a-b/total` (total may be `*`
 * until the last chunk), or a status query `Content-Range: bytes *\/total` with an empty body. Incomplete uploads
 * get 308 "Resume Incomplete" with `Range: bytes=0-<last byte received>` (no Range header when nothing arrived);
 * the final chunk gets 200 and the file resource (manage-uploads#resumable).
 */
function resumablePut(ctx: RequestContext, store: DriveStore): void {
  const id = param(ctx, 'upload_id');
  const s = id ? store.uploads.get(id) : undefined;
  if (!s || s.fileId !== ctx.params.fileId) throw new DriveError(404, 'Upload session not found or expired.', 'notFound', 'upload_id', 'parameter');
  const fields = param(ctx, 'fields') || s.params.fields || DEFAULT_FILE;
  const sel = fieldsSel(fields, FILE);
  const respond = () => sendJson(ctx.res, 200, store.fileResource(s.result!, store.access(s.email, s.clientId), sel));
  if (s.result) {
    respond();
    return;
  }
  const body = ctx.body;
  const cr = header(ctx, 'content-range');
  let total: number | undefined;
  if (cr === undefined) {
    // The whole content in one request.
    if (s.received > 0) throw new DriveError(400, 'Missing Content-Range header for a partially uploaded session.', 'badRequest');
    append(s, body, 0);
    total = body.length;
  } else {
    const status = /^bytes \*\/(\d+|\*)$/.exec(cr.trim());
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(cr.trim());
    if (status) {
      if (body.length) throw new DriveError(400, 'A status query must not carry a body.', 'badRequest');
      total = status[1] === '*' ? undefined : Number(status[1]);
    } else if (range) {
      const a = Number(range[1]);
      const b = Number(range[2]);
      total = range[3] === '*' ? undefined : Number(range[3]);
      if (b < a || b - a + 1 !== body.length) throw new DriveError(400, `Content-Range ${cr} does not match the ${body.length} bytes sent.`, 'badRequest');
      if (a > s.received)
        throw new DriveError(400, `Content-Range starts at ${a} but only ${s.received} bytes have been received.`, 'badRequest');
      append(s, body, a);
    } else throw new DriveError(400, `Invalid Content-Range header: ${cr}`, 'badRequest');
  }
  if (total !== undefined && s.declaredLength !== undefined && total !== s.declaredLength)
    throw new DriveError(400, `The upload size ${total} does not match X-Upload-Content-Length ${s.declaredLength}.`, 'badRequest');
  if (total !== undefined && s.received > total) throw new DriveError(400, 'More bytes were sent than the declared total.', 'badRequest');
  if (total !== undefined && s.received === total) {
    const data = Buffer.concat(s.chunks);
    const media: Media = { data, contentType: s.contentType ?? mediaType(header(ctx, 'content-type')) };
    const opts = { addParents: listParam(s.params.addParents), removeParents: listParam(s.params.removeParents), clientId: s.clientId };
    s.result = s.fileId ? store.updateFile(s.email, s.fileId, s.meta, opts, media) : store.createFile(s.email, s.meta, media, s.clientId);
    s.chunks = [];
    respond();
    return;
  }
  if (s.contentType === undefined) s.contentType = mediaType(header(ctx, 'content-type'));
  const h: Record<string, string> = { 'content-length': '0' };
  if (s.received > 0) h.range = `bytes=0-${s.received - 1}`;
  ctx.res.statusMessage = 'Resume Incomplete';
  ctx.res.writeHead(308, h);
  ctx.res.end();
}

/** Append bytes starting at `offset`, dropping any prefix the session already has (overlapping retries). */
function append(s: UploadSession, body: Buffer, offset: number): void {
  const skip = s.received - offset;
  if (skip >= body.length) return;
  const chunk = Buffer.from(skip > 0 ? body.subarray(skip) : body);
  s.chunks.push(chunk);
  s.received += chunk.length;
}

function responseContentId(cid: string): string {
  const inner = cid.replace(/^<|>$/g, '');
  return `<response-${inner}>`;
}

/** Minimal ServerResponse stand-in that captures a batch part's answer. */
class CapturedResponse {
  statusCode = 200;
  statusMessage = '';
  headers: Record<string, string> = {};
  private readonly chunks: Buffer[] = [];
  writeHead(code: number, a?: unknown, b?: unknown): this {
    this.statusCode = code;
    const hs = (typeof a === 'string' ? b : a) as Record<string, string | number> | undefined;
    for (const [k, v] of Object.entries(hs ?? {})) this.headers[k.toLowerCase()] = String(v);
    return this;
  }
  setHeader(k: string, v: string | number): this {
    this.headers[k.toLowerCase()] = String(v);
    return this;
  }
  write(c: string | Buffer): boolean {
    this.chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
    return true;
  }
  end(c?: string | Buffer): this {
    if (c !== undefined) this.write(c);
    return this;
  }
  get body(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

async function dispatchInner(
  router: Router,
  world: World,
  outer: RequestContext,
  raw: Buffer,
): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  const json = (status: number, body: unknown) => {
    const b = Buffer.from(JSON.stringify(body));
    return { status, headers: { 'content-type': 'application/json; charset=UTF-8', 'content-length': String(b.length) }, body: b };
  };
  let inner;
  try {
    inner = parseHttpRequest(raw);
  } catch (e) {
    return json(400, errorBody(400, (e as Error).message, 'badRequest'));
  }
  const url = new URL(inner.target, 'http://emulator');
  const found = router.match(inner.method, url.pathname);
  const key = found?.route.key;
  // Batches carry metadata calls only: "media upload and download are not supported" in a batch.
  if (!found || !key || !key.startsWith('drive.') || key === 'drive.batch' || key.startsWith('drive.upload.') || (key === 'drive.files.get' && url.searchParams.get('alt') === 'media'))
    return json(404, errorBody(404, `No batchable Drive route for ${inner.method} ${url.pathname}`, 'notFound'));
  world.count(key);
  const fault = world.takeFault(key);
  if (fault?.latencyMs) await new Promise((r) => setTimeout(r, fault.latencyMs));
  if (fault?.status) return json(fault.status, errorBody(fault.status, `Injected fault on ${key}`, fault.reason ?? (fault.status >= 500 ? 'backendError' : 'badRequest')));
  const authorization = inner.headers.authorization ?? outer.req.headers.authorization ?? '';
  const user = world.authenticate(authorization);
  if (!user) return json(401, errorBody(401, 'Request had invalid authentication credentials.', 'authError'));
  const res = new CapturedResponse();
  const req = { method: inner.method, url: inner.target, headers: { ...inner.headers, authorization } } as unknown as http.IncomingMessage;
  try {
    await found.route.handler({
      req,
      res: res as unknown as http.ServerResponse,
      url,
      params: found.params,
      body: inner.body,
      user,
      route: key,
    });
  } catch (e) {
    if (e instanceof HttpError) return json(e.code, errorBody(e.code, e.message, e.reason, e.status));
    return json(500, errorBody(500, `Emulator bug: ${(e as Error).message}`, 'internalError'));
  }
  return { status: res.statusCode, headers: res.headers, body: res.body };
}
