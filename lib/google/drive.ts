/**
 * Typed Drive v3 calls: every call of syftbox-protocol.md §3.8 (numbers in the comments), plus `changes.*`.
 *
 * Rules every function here follows:
 * - queries are built with `query.ts` (values escaped), every request has a `fields` mask;
 * - every list call pages until `nextPageToken` is gone (the reference reads one page in several places, §7 #10),
 *   each page retried on its own;
 * - every request goes through {@link withRetry} with the call's idempotency, with gaxios' own retries off;
 * - every request gets `callOptions(env)` (uploads ignore the client-level rootUrl, node-ecosystem.md §B.5).
 *
 * Loading this module does not load `@googleapis/drive`; the client is created on the first call.
 */
import type { drive_v3 } from '@googleapis/drive';
import type { OAuth2Client } from 'google-auth-library';
import { Readable } from 'node:stream';
import { callOptions, makeDrive, reauthorizer, currentAccessToken } from './clients';
import { DriveQuery, fields, FileField, FOLDER_MIME, q } from './query';
import { gaxiosNoRetry, GoogleApiError, RetryPolicy, withRetry } from './retry';
import { createBatchOps, type DeleteFilesResult, type ShareManyItem, type ShareManyResult } from './drive-batch';

export { FOLDER_MIME };
export type { DeleteFilesResult, ShareManyItem, ShareManyResult };

export interface DriveFile {
  id: string;
  name: string;
  mimeType?: string;
  /** Bytes (Drive sends it as a string); absent for folders and Google Docs. */
  size?: number;
  modifiedTime?: string;
  createdTime?: string;
  parents?: string[];
  /** Owner e-mail addresses. */
  owners?: string[];
  appProperties?: Record<string, string>;
  trashed?: boolean;
}

export interface DrivePermission {
  id: string;
  type?: string;
  role?: string;
  emailAddress?: string;
}

export interface DriveChange {
  fileId: string;
  removed: boolean;
  time?: string;
  changeType?: string;
  /** Present unless removed (or no longer visible). */
  file?: DriveFile;
}

export type P2pFolderType = 'inbox' | 'outbox';

/** `syft_datasite#<version>#<datasite>#<type>#<peer>` (§2.1). */
export interface P2pFolderName {
  version: string;
  datasite: string;
  type: P2pFolderType;
  peer: string;
}

export interface P2pFolder extends P2pFolderName {
  file: DriveFile;
}

export interface DriveApiOptions {
  env?: NodeJS.ProcessEnv;
  /** Overrides of the retry policy (tests inject clock/sleep/random). */
  retry?: Partial<RetryPolicy>;
  /** Uploads larger than this use a resumable session (default 5 MiB, Google's multipart limit advice). */
  resumableThreshold?: number;
  /** Resumable upload chunk size, a multiple of 256 KiB (default 8 MiB). */
  uploadChunkSize?: number;
  /** Download chunk size for ranged downloads (default 10 MiB, as the reference). */
  downloadChunkSize?: number;
  /** Called once per HTTP attempt (retries included) with the route, e.g. `drive.files.list` (metrics). */
  onCall?: (route: string) => void;
}

export interface UploadInput {
  name: string;
  /** The folder to create the file in. */
  parentId: string;
  content: Buffer | string;
  /** Default: `text/plain` for strings, `application/octet-stream` for bytes (as the reference, §3.9). */
  mimeType?: string;
}

export interface ListFolderOptions {
  /** Default 100 (§3.8 #9). */
  pageSize?: number;
  /** Default `name desc` (§3.8 #9). */
  orderBy?: string;
  /** Only non-folders / only folders. */
  kind?: 'files' | 'folders';
}

export interface FindFilesOptions {
  name?: string;
  nameContains?: string[];
  parentId?: string;
  /** An e-mail address, or `'me'`. */
  owner?: string;
  notOwnedByMe?: boolean;
  folder?: boolean;
  fields?: FileField[];
}

export type StateFileKind = 'checkpoint' | 'incremental_checkpoint' | 'rolling_state';
export type ShareRole = 'reader' | 'writer' | 'commenter';

const SYFTBOX_ROOT_NAME = 'SyftBox';
const DATASET_COLLECTION_PREFIX = 'syft_datasetcollection_';
const LIST_FIELDS: FileField[] = ['id', 'name', 'mimeType', 'size', 'modifiedTime', 'parents'];
const FILE_FIELDS: FileField[] = ['id', 'name', 'mimeType', 'size', 'modifiedTime', 'createdTime', 'parents', 'owners(emailAddress)', 'appProperties', 'trashed'];
const MIB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------------------------
// Pure helpers

export function p2pFolderName(n: P2pFolderName): string {
  for (const [k, v] of Object.entries(n)) {
    if (typeof v !== 'string' || v === '' || v.includes('#')) throw new TypeError(`p2p folder ${k} must be non-empty and without '#': ${JSON.stringify(v)}`);
  }
  return `syft_datasite#${n.version}#${n.datasite}#${n.type}#${n.peer}`;
}

/** Parse a p2p folder name exactly (5 `#`-separated parts, prefix `syft_datasite`), or undefined. */
export function parseP2pFolderName(name: string): P2pFolderName | undefined {
  const parts = name.split('#');
  if (parts.length !== 5) return undefined;
  const [prefix, version, datasite, type, peer] = parts as [string, string, string, string, string];
  if (prefix !== 'syft_datasite' || version === '' || datasite === '' || peer === '') return undefined;
  if (type !== 'inbox' && type !== 'outbox') return undefined;
  return { version, datasite, type, peer };
}

/** `syft_<sender>_to_<receiver>_archive` (§3.1). */
export function archiveFolderName(sender: string, receiver: string): string {
  return `syft_${sender}_to_${receiver}_archive`;
}

export function toDriveFile(f: drive_v3.Schema$File): DriveFile {
  if (!f.id) throw new TypeError('Drive returned a file without an id');
  const out: DriveFile = { id: f.id, name: f.name ?? '' };
  if (f.mimeType) out.mimeType = f.mimeType;
  if (f.size !== undefined && f.size !== null) out.size = Number(f.size);
  if (f.modifiedTime) out.modifiedTime = f.modifiedTime;
  if (f.createdTime) out.createdTime = f.createdTime;
  if (f.parents) out.parents = [...f.parents];
  if (f.owners) out.owners = f.owners.map((o) => o.emailAddress ?? '').filter((e) => e !== '');
  if (f.appProperties) out.appProperties = { ...f.appProperties };
  if (f.trashed !== undefined && f.trashed !== null) out.trashed = f.trashed;
  return out;
}

function toPermission(p: drive_v3.Schema$Permission): DrivePermission {
  const out: DrivePermission = { id: p.id ?? '' };
  if (p.type) out.type = p.type;
  if (p.role) out.role = p.role;
  if (p.emailAddress) out.emailAddress = p.emailAddress;
  return out;
}

function toBuffer(content: Buffer | string): Buffer {
  return typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
}

function defaultMime(content: Buffer | string): string {
  return typeof content === 'string' ? 'text/plain' : 'application/octet-stream';
}

const ROLE_RANK: Record<string, number> = { reader: 1, commenter: 2, writer: 3, fileOrganizer: 4, organizer: 5, owner: 6 };

function headerOf(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const h = headers as { get?: (n: string) => string | null } & Record<string, unknown>;
  if (typeof h.get === 'function') return h.get(name) ?? undefined;
  const v = h[name] ?? h[name.toLowerCase()];
  return typeof v === 'string' ? v : undefined;
}

function arrayBufferToBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data === undefined || data === null || data === '') return Buffer.alloc(0);
  throw new TypeError(`unexpected download body of type ${typeof data}`);
}

// ---------------------------------------------------------------------------------------------------------------

export interface DriveApi {
  /** #1 `about.get` → the caller's e-mail address. */
  whoami(): Promise<string>;
  /** #2 every folder named `SyftBox` owned by the caller (all pages). */
  findSyftBoxRoots(): Promise<DriveFile[]>;
  /** #2 the oldest `SyftBox` folder owned by the caller (deterministic when there are several, §7 #3). */
  findSyftBoxRoot(): Promise<DriveFile | undefined>;
  /** #3 folders matching every given filter (all pages). */
  searchFolders(opts: { nameContains?: string[]; parentId?: string; owner?: string; notOwnedByMe?: boolean }): Promise<DriveFile[]>;
  /** #4 `<version>#<me>` folders in `/SyftBox` owned by the caller, exact-name re-filtered. */
  findPersonalFolders(me: string, syftboxId: string): Promise<Array<{ version: string; file: DriveFile }>>;
  /** #5 `syft_datasite#*#<datasite>#<type>#<peer>` folders owned by `owner`, exact-name re-filtered. */
  findP2pFolders(opts: { datasite: string; type: P2pFolderType; peer: string; owner: string }): Promise<P2pFolder[]>;
  /** #6 p2p folders about the caller's datasite that others own (peer requests), all pages, with owners. */
  listPeerRequests(me: string): Promise<P2pFolder[]>;
  /** #7/#12 the id of the (first, oldest) non-trashed file with exactly this name directly in `parentId`. */
  findFileIdByName(name: string, parentId: string): Promise<string | undefined>;
  /** #8/#16/#17 generic search (all pages); at least one filter is required. */
  findFiles(opts: FindFilesOptions): Promise<DriveFile[]>;
  /** #9 the folder's children, page by page (pageSize 100, `name desc`); stop early by breaking out. */
  iterateFolder(folderId: string, opts?: ListFolderOptions): AsyncGenerator<DriveFile>;
  /** #9 all children. */
  listFolder(folderId: string, opts?: ListFolderOptions): Promise<DriveFile[]>;
  /** #10 folders with exactly this name (all pages; the reference's pageSize=1 can miss one, §7 #10). */
  findFoldersByExactName(name: string, opts?: { owner?: string; parentId?: string }): Promise<DriveFile[]>;
  /** #11 `syft_<sender>_to_<receiver>_archive` owned by the caller. */
  findArchiveFolder(sender: string, receiver: string): Promise<DriveFile | undefined>;
  /** #13 checkpoint / incremental checkpoint / rolling-state files in a folder (exact prefix re-filter). */
  listStateFiles(folderId: string, kind: StateFileKind): Promise<DriveFile[]>;
  /** #14 the caller's dataset collection folders in `/SyftBox` (with appProperties). */
  listOwnDatasetCollections(syftboxId: string): Promise<DriveFile[]>;
  /** #15 dataset collection folders shared with the caller (with owners). */
  listSharedDatasetCollections(): Promise<DriveFile[]>;
  /** #18 create a folder (no parent: My Drive root). Not retried on ambiguous failures. */
  createFolder(name: string, parentId?: string): Promise<DriveFile>;
  /** #19 upload a new file (multipart when small, resumable when large) and fix a dropped parent (#22). */
  uploadFile(input: UploadInput): Promise<DriveFile>;
  /** #20 replace a file's content (`files.update` with media; resumable when large). */
  replaceContent(fileId: string, content: Buffer | string, mimeType?: string): Promise<DriveFile>;
  /** #21/#22 add and/or remove parents. */
  moveFile(fileId: string, change: { addParents?: string[]; removeParents?: string[] }): Promise<DriveFile>;
  /** #21 with #24: move a file from all its current parents into `folderId`. */
  archiveFile(fileId: string, folderId: string): Promise<DriveFile>;
  /** #23 set `appProperties.syft_shared_with_any = "true"` (other appProperties are kept). */
  tagSharedWithAny(fileId: string): Promise<DriveFile>;
  /** #24 */
  getParents(fileId: string): Promise<string[]>;
  /** `files.get` metadata. */
  getFile(fileId: string, fieldList?: FileField[]): Promise<DriveFile>;
  /** #25 the whole content, fetched in `downloadChunkSize` ranges (each retried on its own). */
  download(fileId: string): Promise<Buffer>;
  /** #25 bytes `start..endInclusive`; `total` from Content-Range when the server sent one. */
  downloadRange(fileId: string, start: number, endInclusive: number): Promise<{ data: Buffer; total?: number; partial: boolean }>;
  /** #26 delete; false when the file was already gone (404). */
  deleteFile(fileId: string): Promise<boolean>;
  /** #27 all permissions (all pages). */
  listPermissions(fileId: string): Promise<DrivePermission[]>;
  /** #28 `permissions.create` for a user. Non-idempotent; after an ambiguous failure the permissions are checked. */
  share(fileId: string, email: string, role: ShareRole, opts?: { sendNotificationEmail?: boolean }): Promise<DrivePermission>;
  /**
   * #26 batched (drive-batch.ts): `files.delete` of many files, at most 100 per `POST /batch/drive/v3`. 404 and 403
   * `insufficientFilePermissions` are `missing` (ignored, as the reference); retryable part failures are re-sent in
   * a later batch after the backoff; the rest is `failed`. Duplicate ids are deleted once.
   */
  deleteFiles(ids: string[]): Promise<DeleteFilesResult>;
  /**
   * #28 batched (drive-batch.ts): `permissions.create` for many (file, user) pairs, at most 100 per batch request;
   * one result per item, in input order. Parts that failed ambiguously are looked up before being re-sent.
   */
  shareMany(items: ShareManyItem[], opts?: { sendNotificationEmail?: boolean }): Promise<ShareManyResult[]>;
  /** The reference's `add_permission`: share unless `email` already has at least `role` (case-insensitive). */
  ensureShared(fileId: string, email: string, role: ShareRole, opts?: { sendNotificationEmail?: boolean }): Promise<{ permission: DrivePermission; created: boolean }>;
  /** `changes.getStartPageToken` */
  getStartPageToken(): Promise<string>;
  /** `changes.list` from `pageToken`, paging until Drive hands out `newStartPageToken`. */
  listChanges(pageToken: string, opts?: { pageSize?: number; fileFields?: FileField[] }): Promise<{ changes: DriveChange[]; newStartPageToken: string }>;
}

export function createDriveApi(auth: OAuth2Client, opts: DriveApiOptions = {}): DriveApi {
  const env = opts.env ?? process.env;
  const retryPolicy = opts.retry ?? {};
  const resumableThreshold = opts.resumableThreshold ?? 5 * MIB;
  const uploadChunkSize = opts.uploadChunkSize ?? 8 * MIB;
  const downloadChunkSize = opts.downloadChunkSize ?? 10 * MIB;
  if (!(downloadChunkSize > 0)) throw new TypeError('downloadChunkSize must be positive');
  // Drive requires every chunk but the last to be a multiple of 256 KiB.
  if (!(uploadChunkSize > 0) || uploadChunkSize % (256 * 1024) !== 0) throw new TypeError('uploadChunkSize must be a positive multiple of 256 KiB');
  const rootOpts = callOptions(env);
  const base = rootOpts.rootUrl ?? 'https://www.googleapis.com/';

  let client: drive_v3.Drive | undefined;
  const drive = (): drive_v3.Drive => (client ??= makeDrive(auth, env));

  /** Per-call gaxios options: root URL (uploads!), no gaxios retries, the attempt's timeout. */
  const call = (timeoutMs: number, extra: Record<string, unknown> = {}) => ({ ...rootOpts, ...gaxiosNoRetry(), timeout: timeoutMs, ...extra });

  const reauth = reauthorizer(auth);
  const run = <T>(route: string, idempotent: boolean, fn: (timeoutMs: number, attempt: number) => Promise<T>): Promise<T> => {
    let tokenAtStart: string | null | undefined;
    return withRetry(
      ({ timeoutMs, attempt }) => {
        tokenAtStart = currentAccessToken(auth);
        opts.onCall?.(route);
        return fn(timeoutMs, attempt);
      },
      { ...retryPolicy, route, idempotent, onUnauthorized: () => reauth(tokenAtStart) },
    );
  };

  // --- files.list with paging -----------------------------------------------------------------------------------

  async function* listPages(params: { q: DriveQuery; fieldList: FileField[]; pageSize?: number; orderBy?: string }): AsyncGenerator<DriveFile[]> {
    let pageToken: string | undefined;
    const seen = new Set<string>();
    do {
      const token = pageToken;
      const res = await run('drive.files.list', true, (timeout) =>
        drive().files.list(
          {
            q: params.q,
            fields: fields.fileList(params.fieldList),
            pageSize: params.pageSize ?? 100,
            ...(params.orderBy ? { orderBy: params.orderBy } : {}),
            ...(token ? { pageToken: token } : {}),
          },
          call(timeout),
        ),
      );
      yield (res.data.files ?? []).map(toDriveFile);
      pageToken = res.data.nextPageToken ?? undefined;
      if (pageToken !== undefined) {
        // Partial and even empty pages with a token are normal on real Drive; a repeated token is not.
        if (seen.has(pageToken)) throw new GoogleApiError({ route: 'drive.files.list', message: 'Drive returned the same nextPageToken twice', reason: 'pagingLoop', status: 200 });
        seen.add(pageToken);
      }
    } while (pageToken !== undefined);
  }

  async function listAll(params: { q: DriveQuery; fieldList: FileField[]; pageSize?: number; orderBy?: string }): Promise<DriveFile[]> {
    const out: DriveFile[] = [];
    for await (const page of listPages(params)) out.push(...page);
    return out;
  }

  const byAge = (a: DriveFile, b: DriveFile) => (a.createdTime ?? '').localeCompare(b.createdTime ?? '') || a.id.localeCompare(b.id);

  // --- uploads --------------------------------------------------------------------------------------------------

  /** Parse `Range: bytes=0-N` of a 308 into the next offset. */
  const nextOffset = (range: string | undefined): number => {
    const m = range ? /bytes=\d+-(\d+)/.exec(range) : null;
    return m ? Number(m[1]) + 1 : 0;
  };

  /**
   * A resumable upload (https://developers.google.com/workspace/drive/api/guides/manage-uploads#resumable).
   * The session guarantees at most one file, so every chunk (and the session start, which creates nothing) is
   * retried on any transient error; after a failure the next attempt asks the session how far it got.
   */
  async function resumableUpload(method: 'POST' | 'PATCH', path: string, metadata: object, data: Buffer, mimeType: string, fieldList: FileField[]): Promise<drive_v3.Schema$File> {
    const sessionUrl = await run(method === 'POST' ? 'drive.upload.create' : 'drive.upload.update', true, async (timeout) => {
      const res = await auth.request<unknown>({
        url: new URL(path, base).toString(),
        method,
        params: { uploadType: 'resumable', fields: fields.file(fieldList) },
        headers: {
          'content-type': 'application/json; charset=UTF-8',
          'x-upload-content-type': mimeType,
          'x-upload-content-length': String(data.length),
        },
        data: JSON.stringify(metadata),
        ...gaxiosNoRetry(),
        timeout,
      });
      const loc = headerOf(res.headers, 'location');
      if (!loc) throw new GoogleApiError({ route: 'drive.upload.create', status: res.status, reason: 'noUploadSession', message: 'resumable upload start returned no Location' });
      return new URL(loc, base).toString();
    });
    const total = data.length;
    let offset = 0;
    const put = async (body: Buffer | undefined, contentRange: string, timeout: number) =>
      auth.request<drive_v3.Schema$File>({
        url: sessionUrl,
        method: 'PUT',
        headers: { 'content-range': contentRange, ...(body ? { 'content-type': mimeType } : {}) },
        data: body ?? '',
        responseType: 'json',
        validateStatus: (s) => (s >= 200 && s < 300) || s === 308,
        ...gaxiosNoRetry(),
        timeout,
      });
    for (;;) {
      const step = await run('drive.upload.resumable', true, async (timeout, attempt) => {
        let from = offset;
        if (attempt > 1) {
          // Where did the interrupted attempt leave the session?
          const status = await put(undefined, `bytes */${total}`, timeout);
          if (status.status !== 308) return { done: status.data };
          from = nextOffset(headerOf(status.headers, 'range'));
        }
        const end = Math.min(total, from + uploadChunkSize);
        const chunk = data.subarray(from, end);
        const range = total === 0 ? `bytes */0` : `bytes ${from}-${end - 1}/${total}`;
        const res = await put(chunk, range, timeout);
        if (res.status !== 308) return { done: res.data };
        return { offset: nextOffset(headerOf(res.headers, 'range')) };
      });
      if ('done' in step) return step.done ?? {};
      if (step.offset <= offset && step.offset < total && offset > 0) {
        // No progress at all: the session is not accepting bytes; do not loop forever.
        throw new GoogleApiError({ route: 'drive.upload.resumable', status: 308, reason: 'noProgress', message: `resumable upload made no progress at byte ${offset}` });
      }
      offset = step.offset;
    }
  }

  async function createFile(input: UploadInput, fieldList: FileField[]): Promise<drive_v3.Schema$File> {
    const data = toBuffer(input.content);
    const mimeType = input.mimeType ?? defaultMime(input.content);
    const metadata = { name: input.name, parents: [input.parentId] };
    if (data.length > resumableThreshold) {
      return resumableUpload('POST', 'upload/drive/v3/files', metadata, data, mimeType, fieldList);
    }
    // Multipart: a POST that creates the file, so retried only on "not processed" errors.
    const res = await run('drive.upload.create', false, (timeout) =>
      drive().files.create(
        { requestBody: metadata, media: { mimeType, body: Readable.from([data]) }, fields: fields.file(fieldList) },
        call(timeout),
      ),
    );
    return res.data;
  }

  async function updateMetadata(fileId: string, params: Omit<drive_v3.Params$Resource$Files$Update, 'fileId' | 'fields' | 'media'>, fieldList = FILE_FIELDS): Promise<DriveFile> {
    const res = await run('drive.files.update', true, (timeout) =>
      drive().files.update({ fileId, fields: fields.file(fieldList), ...params }, call(timeout)),
    );
    return toDriveFile(res.data);
  }

  async function listPermissions(fileId: string): Promise<DrivePermission[]> {
    const out: DrivePermission[] = [];
    let pageToken: string | undefined;
    do {
      const token = pageToken;
      const res = await run('drive.permissions.list', true, (timeout) =>
        drive().permissions.list(
          { fileId, fields: fields.permissionList(['id', 'type', 'role', 'emailAddress']), pageSize: 100, ...(token ? { pageToken: token } : {}) },
          call(timeout),
        ),
      );
      out.push(...(res.data.permissions ?? []).map(toPermission));
      pageToken = res.data.nextPageToken ?? undefined;
      if (pageToken !== undefined && pageToken === token) throw new GoogleApiError({ route: 'drive.permissions.list', status: 200, reason: 'pagingLoop', message: 'repeated nextPageToken' });
    } while (pageToken !== undefined);
    return out;
  }

  const hasRole = (perms: DrivePermission[], email: string, role: ShareRole) =>
    perms.find((p) => p.emailAddress?.toLowerCase() === email.toLowerCase() && (ROLE_RANK[p.role ?? ''] ?? 0) >= (ROLE_RANK[role] ?? 0));

  async function share(fileId: string, email: string, role: ShareRole, o: { sendNotificationEmail?: boolean } = {}): Promise<DrivePermission> {
    try {
      const res = await run('drive.permissions.create', false, (timeout) =>
        drive().permissions.create(
          {
            fileId,
            sendNotificationEmail: o.sendNotificationEmail ?? true,
            fields: 'id,type,role,emailAddress',
            requestBody: { type: 'user', role, emailAddress: email },
          },
          call(timeout),
        ),
      );
      return toPermission(res.data);
    } catch (e) {
      // The request may have been applied (5xx, reset, timeout): look before reporting a failure.
      if (e instanceof GoogleApiError && (e.status === undefined || e.status >= 500)) {
        const existing = hasRole(await listPermissions(fileId).catch(() => []), email, role);
        if (existing) return existing;
      }
      throw e;
    }
  }

  async function rangeGet(fileId: string, start: number, endInclusive: number): Promise<{ data: Buffer; total?: number; partial: boolean }> {
    return run('drive.files.get', true, async (timeout) => {
      const res = await drive().files.get(
        { fileId, alt: 'media' },
        call(timeout, {
          responseType: 'arraybuffer',
          // Ranges count bytes of the representation: ask for it unencoded.
          headers: { range: `bytes=${start}-${endInclusive}`, 'accept-encoding': 'identity' },
        }),
      );
      const data = arrayBufferToBuffer(res.data as unknown);
      const cr = headerOf(res.headers, 'content-range');
      const m = cr ? /bytes\s+(\d+)-(\d+)\/(\d+|\*)/.exec(cr) : null;
      const total = m && m[3] !== '*' ? Number(m[3]) : undefined;
      return { data, partial: res.status === 206, ...(total !== undefined ? { total } : {}) };
    });
  }

  const batch = createBatchOps({ auth, base, run, retry: retryPolicy, listPermissions, hasRole });

  const api: DriveApi = {
    async whoami() {
      const res = await run('drive.about.get', true, (timeout) => drive().about.get({ fields: 'user(emailAddress)' }, call(timeout)));
      const email = res.data.user?.emailAddress;
      if (!email) throw new GoogleApiError({ route: 'drive.about.get', status: 200, reason: 'noEmail', message: 'about.get returned no user.emailAddress' });
      return email;
    },

    findSyftBoxRoots() {
      return listAll({
        q: q.and(q.nameEq(SYFTBOX_ROOT_NAME), q.folder(), q.ownedByMe(), q.trashed(false)),
        fieldList: ['id', 'name', 'createdTime', 'parents'],
      }).then((files) => files.filter((f) => f.name === SYFTBOX_ROOT_NAME).sort(byAge));
    },

    async findSyftBoxRoot() {
      return (await api.findSyftBoxRoots())[0];
    },

    searchFolders(o) {
      return listAll({
        q: q.and(
          q.folder(),
          q.trashed(false),
          ...(o.nameContains ?? []).map((s) => q.nameContains(s)),
          o.parentId !== undefined && q.inParents(o.parentId),
          o.owner !== undefined && (o.owner === 'me' ? q.ownedByMe() : q.inOwners(o.owner)),
          o.notOwnedByMe === true && q.notOwnedByMe(),
        ),
        fieldList: ['id', 'name', 'createdTime', 'owners(emailAddress)'],
      });
    },

    async findPersonalFolders(me, syftboxId) {
      const folders = await api.searchFolders({ nameContains: [`#${me}`], parentId: syftboxId, owner: 'me' });
      const out: Array<{ version: string; file: DriveFile }> = [];
      for (const file of folders) {
        const parts = file.name.split('#');
        if (parts.length === 2 && parts[0] !== '' && parts[1] === me) out.push({ version: parts[0]!, file });
      }
      return out.sort((a, b) => byAge(a.file, b.file));
    },

    async findP2pFolders({ datasite, type, peer, owner }) {
      const folders = await api.searchFolders({ nameContains: ['syft_datasite#', `#${datasite}#${type}#${peer}`], owner });
      const out: P2pFolder[] = [];
      for (const file of folders) {
        const n = parseP2pFolderName(file.name);
        if (n && n.datasite === datasite && n.type === type && n.peer === peer) out.push({ ...n, file });
      }
      return out.sort((a, b) => byAge(a.file, b.file));
    },

    async listPeerRequests(me) {
      const folders = await api.searchFolders({ nameContains: ['syft_datasite#', `#${me}#`], notOwnedByMe: true });
      const out: P2pFolder[] = [];
      for (const file of folders) {
        const n = parseP2pFolderName(file.name);
        if (n && n.datasite === me) out.push({ ...n, file });
      }
      return out.sort((a, b) => byAge(a.file, b.file));
    },

    async findFileIdByName(name, parentId) {
      const files = await listAll({ q: q.and(q.nameEq(name), q.inParents(parentId), q.trashed(false)), fieldList: ['id', 'name', 'createdTime'] });
      return files.filter((f) => f.name === name).sort(byAge)[0]?.id;
    },

    findFiles(o) {
      const terms = [
        o.name !== undefined && q.nameEq(o.name),
        ...(o.nameContains ?? []).map((s) => q.nameContains(s)),
        o.parentId !== undefined && q.inParents(o.parentId),
        o.owner !== undefined && (o.owner === 'me' ? q.ownedByMe() : q.inOwners(o.owner)),
        o.notOwnedByMe === true && q.notOwnedByMe(),
        o.folder === true && q.folder(),
        o.folder === false && q.notFolder(),
      ];
      if (!terms.some(Boolean)) throw new TypeError('findFiles needs at least one filter');
      return listAll({ q: q.and(...terms, q.trashed(false)), fieldList: o.fields ?? FILE_FIELDS });
    },

    async *iterateFolder(folderId, o = {}) {
      const query = q.and(
        q.inParents(folderId),
        q.trashed(false),
        o.kind === 'files' && q.notFolder(),
        o.kind === 'folders' && q.folder(),
      );
      for await (const page of listPages({ q: query, fieldList: LIST_FIELDS, pageSize: o.pageSize ?? 100, orderBy: o.orderBy ?? 'name desc' })) {
        yield* page;
      }
    },

    async listFolder(folderId, o) {
      const out: DriveFile[] = [];
      for await (const f of api.iterateFolder(folderId, o)) out.push(f);
      return out;
    },

    async findFoldersByExactName(name, o = {}) {
      const files = await listAll({
        q: q.and(
          q.nameEq(name),
          q.folder(),
          q.trashed(false),
          o.owner !== undefined && (o.owner === 'me' ? q.ownedByMe() : q.inOwners(o.owner)),
          o.parentId !== undefined && q.inParents(o.parentId),
        ),
        fieldList: ['id', 'name', 'createdTime', 'parents'],
      });
      return files.filter((f) => f.name === name).sort(byAge);
    },

    async findArchiveFolder(sender, receiver) {
      return (await api.findFoldersByExactName(archiveFolderName(sender, receiver), { owner: 'me' }))[0];
    },

    async listStateFiles(folderId, kind) {
      const files = await listAll({
        q: q.and(q.inParents(folderId), q.trashed(false), q.nameContains(kind)),
        fieldList: ['id', 'name', 'size', 'modifiedTime'],
      });
      return files.filter((f) => f.name.startsWith(`${kind}_`));
    },

    async listOwnDatasetCollections(syftboxId) {
      const files = await listAll({
        q: q.and(q.nameContains(DATASET_COLLECTION_PREFIX), q.inParents(syftboxId), q.ownedByMe(), q.trashed(false), q.folder()),
        fieldList: ['id', 'name', 'appProperties'],
      });
      return files.filter((f) => f.name.startsWith(DATASET_COLLECTION_PREFIX));
    },

    async listSharedDatasetCollections() {
      const files = await listAll({
        q: q.and(q.nameContains(DATASET_COLLECTION_PREFIX), q.notOwnedByMe(), q.trashed(false), q.folder()),
        fieldList: ['id', 'name', 'owners(emailAddress)'],
      });
      return files.filter((f) => f.name.startsWith(DATASET_COLLECTION_PREFIX));
    },

    async createFolder(name, parentId) {
      const res = await run('drive.files.create', false, (timeout) =>
        drive().files.create(
          {
            requestBody: { name, mimeType: FOLDER_MIME, ...(parentId !== undefined ? { parents: [parentId] } : {}) },
            fields: fields.file(['id', 'name', 'mimeType', 'parents', 'createdTime']),
          },
          call(timeout),
        ),
      );
      return toDriveFile(res.data);
    },

    async uploadFile(input) {
      const created = toDriveFile(await createFile(input, ['id', 'name', 'mimeType', 'size', 'parents', 'createdTime']));
      // Drive has been seen to drop `parents` on create (§3.5, fix 44ed2e2): put it back.
      if (!created.parents?.includes(input.parentId)) {
        // One parent per file: replace whatever Drive put there.
        const fixed = await api.moveFile(created.id, { addParents: [input.parentId], removeParents: created.parents ?? [] });
        return { ...created, parents: fixed.parents ?? [input.parentId] };
      }
      return created;
    },

    async replaceContent(fileId, content, mimeType) {
      const data = toBuffer(content);
      const type = mimeType ?? defaultMime(content);
      const fieldList: FileField[] = ['id', 'name', 'mimeType', 'size', 'modifiedTime', 'parents'];
      if (data.length > resumableThreshold) {
        return toDriveFile(await resumableUpload('PATCH', `upload/drive/v3/files/${encodeURIComponent(fileId)}`, {}, data, type, fieldList));
      }
      // Replacing content with the same bytes again leaves the same state: idempotent.
      const res = await run('drive.upload.update', true, (timeout) =>
        drive().files.update({ fileId, media: { mimeType: type, body: Readable.from([data]) }, fields: fields.file(fieldList) }, call(timeout)),
      );
      return toDriveFile(res.data);
    },

    moveFile(fileId, change) {
      const add = change.addParents ?? [];
      const remove = change.removeParents ?? [];
      if (add.length === 0 && remove.length === 0) throw new TypeError('moveFile needs addParents or removeParents');
      return updateMetadata(
        fileId,
        {
          ...(add.length > 0 ? { addParents: add.join(',') } : {}),
          ...(remove.length > 0 ? { removeParents: remove.join(',') } : {}),
          supportsAllDrives: true,
        },
        ['id', 'name', 'parents'],
      );
    },

    async archiveFile(fileId, folderId) {
      const parents = await api.getParents(fileId);
      const remove = parents.filter((p) => p !== folderId);
      if (parents.includes(folderId) && remove.length === 0) return api.getFile(fileId, ['id', 'name', 'parents']);
      return api.moveFile(fileId, { ...(parents.includes(folderId) ? {} : { addParents: [folderId] }), removeParents: remove });
    },

    tagSharedWithAny(fileId) {
      // appProperties in files.update are merged key by key by Drive; only this key is sent.
      return updateMetadata(fileId, { requestBody: { appProperties: { syft_shared_with_any: 'true' } } }, ['id', 'name', 'appProperties']);
    },

    async getParents(fileId) {
      return (await api.getFile(fileId, ['id', 'parents'])).parents ?? [];
    },

    async getFile(fileId, fieldList = FILE_FIELDS) {
      const res = await run('drive.files.get', true, (timeout) => drive().files.get({ fileId, fields: fields.file(fieldList) }, call(timeout)));
      return toDriveFile(res.data);
    },

    async download(fileId) {
      const first = await rangeGet(fileId, 0, downloadChunkSize - 1).catch(async (e: unknown) => {
        // An empty file has no byte 0: 416. Fetch it without a Range.
        if (e instanceof GoogleApiError && e.status === 416) {
          const res = await run('drive.files.get', true, (timeout) =>
            drive().files.get({ fileId, alt: 'media' }, call(timeout, { responseType: 'arraybuffer' })),
          );
          return { data: arrayBufferToBuffer(res.data as unknown), partial: false } as { data: Buffer; total?: number; partial: boolean };
        }
        throw e;
      });
      if (!first.partial) return first.data;
      const total = first.total;
      if (total === undefined) throw new GoogleApiError({ route: 'drive.files.get', status: 206, reason: 'noContentRange', message: 'partial download without a total size' });
      const chunks = [first.data];
      let offset = first.data.length;
      while (offset < total) {
        const next = await rangeGet(fileId, offset, Math.min(total, offset + downloadChunkSize) - 1);
        if (next.data.length === 0) throw new GoogleApiError({ route: 'drive.files.get', status: 206, reason: 'emptyRange', message: `no bytes at offset ${offset} of ${total}` });
        if (next.total !== undefined && next.total !== total) {
          throw new GoogleApiError({ route: 'drive.files.get', status: 206, reason: 'changedDuringDownload', message: `file size changed from ${total} to ${next.total} during the download` });
        }
        chunks.push(next.data);
        offset += next.data.length;
      }
      return Buffer.concat(chunks);
    },

    downloadRange(fileId, start, endInclusive) {
      if (!(Number.isInteger(start) && Number.isInteger(endInclusive) && start >= 0 && endInclusive >= start)) {
        throw new RangeError(`invalid byte range ${start}-${endInclusive}`);
      }
      return rangeGet(fileId, start, endInclusive);
    },

    async deleteFile(fileId) {
      try {
        await run('drive.files.delete', true, (timeout) => drive().files.delete({ fileId, supportsAllDrives: true }, call(timeout)));
        return true;
      } catch (e) {
        // Also the outcome of a retried delete whose first attempt did delete the file.
        if (e instanceof GoogleApiError && e.status === 404) return false;
        throw e;
      }
    },

    listPermissions,
    share,
    deleteFiles: (ids) => batch.deleteFiles(ids),
    shareMany: (items, o) => batch.shareMany(items, o),

    async ensureShared(fileId, email, role, o) {
      const existing = hasRole(await listPermissions(fileId), email, role);
      if (existing) return { permission: existing, created: false };
      return { permission: await share(fileId, email, role, o), created: true };
    },

    async getStartPageToken() {
      const res = await run('drive.changes.getStartPageToken', true, (timeout) => drive().changes.getStartPageToken({ supportsAllDrives: true }, call(timeout)));
      const t = res.data.startPageToken;
      if (!t) throw new GoogleApiError({ route: 'drive.changes.getStartPageToken', status: 200, reason: 'noToken', message: 'no startPageToken' });
      return t;
    },

    async listChanges(pageToken, o = {}) {
      const changes: DriveChange[] = [];
      let token = pageToken;
      const seen = new Set<string>([token]);
      for (;;) {
        const current = token;
        const res = await run('drive.changes.list', true, (timeout) =>
          drive().changes.list(
            {
              pageToken: current,
              pageSize: o.pageSize ?? 100,
              includeRemoved: true,
              spaces: 'drive',
              fields: fields.changeList(['fileId', 'removed', 'time', 'changeType'], o.fileFields ?? ['id', 'name', 'mimeType', 'parents', 'trashed', 'modifiedTime']),
            },
            call(timeout),
          ),
        );
        for (const c of res.data.changes ?? []) {
          const ch: DriveChange = { fileId: c.fileId ?? c.file?.id ?? '', removed: c.removed === true };
          if (c.time) ch.time = c.time;
          if (c.changeType) ch.changeType = c.changeType;
          if (c.file?.id) ch.file = toDriveFile(c.file);
          changes.push(ch);
        }
        if (res.data.newStartPageToken) return { changes, newStartPageToken: res.data.newStartPageToken };
        const next = res.data.nextPageToken;
        if (!next) throw new GoogleApiError({ route: 'drive.changes.list', status: 200, reason: 'noToken', message: 'changes.list returned neither nextPageToken nor newStartPageToken' });
        if (seen.has(next)) throw new GoogleApiError({ route: 'drive.changes.list', status: 200, reason: 'pagingLoop', message: 'repeated nextPageToken' });
        seen.add(next);
        token = next;
      }
    },
  };
  return api;
}
