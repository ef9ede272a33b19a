/**
 * In-memory Drive world for the emulator: files, permissions, indexes, access rules, the per-user change log and
 * resumable upload sessions. Routes (drive.ts) translate HTTP to these operations; the operations enforce Drive's
 * rules and throw {@link DriveError}s in Google's shape.
 *
 * Semantics (see the v3 reference, https://developers.google.com/workspace/drive/api/reference/rest/v3):
 *  - Ownership: the creator owns a file, also inside someone else's shared folder (My Drive, not shared drives).
 *  - Access: owner; a `user`/`group`/`domain` permission on the file or on any ancestor folder (the folder's owner
 *    counts as a writer of everything inside it); `anyone` permissions give access by id but do not make a file
 *    discoverable in `files.list` or the change feed. Roles: reader < commenter < writer < owner; inherited access
 *    is at most writer. "Only the owner may trash a file, and other users cannot see files in the owner's trash"
 *    (File.trashed).
 *  - Single-parent model (https://developers.google.com/workspace/drive/api/guides/ref-single-parent): a create may
 *    name at most one parent and a parent can only be added to an item without one (403 `cannotAddParent`,
 *    "Increasing the number of parents is not allowed"); an operation that would leave an item without parents puts
 *    it in its owner's My Drive.
 *  - files.delete: "Permanently deletes a file owned by the user without moving it to the trash. ... If the target is
 *    a folder, all descendants owned by the user are also deleted." Descendants owned by others move to their
 *    owner's My Drive (single-parent rule above).
 *  - `properties` are public, visible to every app; `appProperties` are "A collection of arbitrary key-value pairs
 *    which are private to the requesting app" (File resource; the "Add custom file properties" guide,
 *    https://developers.google.com/workspace/drive/api/guides/properties). The app is the OAuth client of the
 *    request's access token: each client reads, queries (`appProperties has {…}`) and merges only its own keys;
 *    every user of the same client sees them.
 */
import * as crypto from 'node:crypto';
import { HttpError, World } from './core';
import { Node, CmpOp, tokenize, nameMatcher, fullTextContains, parseRfc3339, QueryError } from './drive-query';
import { Sel, project } from './drive-fields';

export const FOLDER_MIME = 'application/vnd.google-apps.folder';
const GOOGLE_APPS = 'application/vnd.google-apps.';

export const ROLE_RANK = { reader: 1, commenter: 2, writer: 3, fileOrganizer: 4, organizer: 5, owner: 6 } as const;
export type Role = keyof typeof ROLE_RANK;
const READER = 1;
const WRITER = 3;
const OWNER = 6;
const PERMISSION_TYPES = ['user', 'group', 'domain', 'anyone'] as const;
export type PermissionType = (typeof PERMISSION_TYPES)[number];

export interface Permission {
  id: string;
  type: PermissionType;
  role: Role;
  emailAddress?: string;
  domain?: string;
  allowFileDiscovery?: boolean;
  /** Who created this permission (File.sharingUser). */
  grantedBy?: string;
}

export interface DriveFile {
  id: string;
  name: string;
  nameTokens: string[];
  mimeType: string;
  owner: string;
  parents: string[];
  /** OAuth client id → that app's private properties. */
  appProperties: Map<string, Record<string, string>>;
  properties: Record<string, string>;
  description?: string;
  starredBy: Set<string>;
  explicitlyTrashed: boolean;
  trashed: boolean;
  trashedTime?: number;
  trashingUser?: string;
  createdTime: number;
  modifiedTime: number;
  /** email → last time that user modified the file (modifiedByMeTime). */
  modifiedBy: Map<string, number>;
  lastModifyingUser: string;
  version: number;
  /** Binary content; undefined for folders and Google Docs types. */
  content?: Buffer;
  hashes?: { md5: string; sha1: string; sha256: string };
  textTokens?: string[];
  headRevisionId?: string;
  originalFilename?: string;
  /** Direct permissions, including the owner's. */
  permissions: Permission[];
  isRoot: boolean;
  /** Insertion order (stable default ordering and tie-break). */
  seq: number;
}

export interface UploadSession {
  id: string;
  email: string;
  /** OAuth client of the token that started the session (for appProperties). */
  clientId: string;
  /** Set for an update (PATCH /upload/drive/v3/files/{id}). */
  fileId?: string;
  meta: Record<string, unknown>;
  params: Record<string, string>;
  contentType?: string;
  declaredLength?: number;
  chunks: Buffer[];
  received: number;
  result?: DriveFile;
}

/** Reproducible deviations of real Drive that syft-client has defensive code for (syftbox-protocol.md §3.11). */
export interface DriveQuirks {
  /** Return at most this many files per `files.list` page, whatever `pageSize` says (partial pages). */
  maxPageItems?: number;
  /** Create the next N files without any parent (Drive "dropping" the parent, syft-client 44ed2e2). */
  dropParentsOnCreate?: number;
  /** Files younger than this (ms) are missing from `files.list` (eventual consistency). */
  listLagMs?: number;
}

/** An error in Google's shape, with the optional `location`/`locationType` Drive puts in `errors[0]`. */
export class DriveError extends HttpError {
  constructor(
    code: number,
    message: string,
    reason: string,
    readonly location?: string,
    readonly locationType?: string,
    headers: Record<string, string> = {},
  ) {
    super(code, message, reason, undefined, headers);
  }
}

export const notFound = (id: string) => new DriveError(404, `File not found: ${id}.`, 'notFound', 'fileId', 'parameter');
export const insufficient = (id: string) =>
  new DriveError(403, `The user does not have sufficient permissions for file ${id}.`, 'insufficientFilePermissions');
export const invalidParam = (location: string, message = 'Invalid Value') => new DriveError(400, message, 'invalid', location, 'parameter');
const cannotAddParent = () => new DriveError(403, 'Increasing the number of parents is not allowed', 'cannotAddParent');

export const norm = (email: string) => email.trim().toLowerCase();
const domainOf = (email: string) => email.slice(email.lastIndexOf('@') + 1);
const rank = (r: string) => ROLE_RANK[r as Role] ?? 0;
export const iso = (ms: number) => new Date(ms).toISOString();
export const isFolder = (f: DriveFile) => f.mimeType === FOLDER_MIME;
const hasBinary = (f: DriveFile) => f.content !== undefined;

/** Google user permission ids are long decimal strings, stable per account. */
export function permissionIdFor(email: string): string {
  const h = crypto.createHash('sha256').update(norm(email)).digest();
  return (h.readBigUInt64BE(0) % 10n ** 20n).toString().padStart(20, '0');
}

function directRole(f: DriveFile, email: string, anyone: boolean): number {
  let r = 0;
  for (const p of f.permissions) {
    let match = false;
    if (p.type === 'user' || p.type === 'group') match = p.emailAddress === email;
    else if (p.type === 'domain') match = p.domain === domainOf(email);
    else if (p.type === 'anyone') match = anyone;
    if (match) r = Math.max(r, rank(p.role));
  }
  return r;
}

/** Effective roles of one user, with per-folder memoisation (one instance per request). */
export class Access {
  private readonly inh = new Map<string, number>();
  private readonly inhAnyone = new Map<string, number>();
  constructor(
    private readonly store: DriveStore,
    readonly email: string,
    /** The OAuth client of the request: whose `appProperties` are seen. */
    readonly clientId = '',
  ) {}

  /** Role when addressing the file by id (`anyone` permissions count). */
  role(f: DriveFile): number {
    return this.compute(f, true);
  }

  /** Role for search and the change feed (`anyone` permissions do not make a file discoverable). */
  searchRole(f: DriveFile): number {
    return this.compute(f, false);
  }

  private compute(f: DriveFile, anyone: boolean): number {
    if (f.owner === this.email) return OWNER;
    if (f.trashed) return 0;
    let r = directRole(f, this.email, anyone);
    if (r >= WRITER) return r;
    for (const p of f.parents) r = Math.max(r, this.inherited(p, anyone));
    return r;
  }

  private inherited(id: string, anyone: boolean): number {
    const memo = anyone ? this.inhAnyone : this.inh;
    const c = memo.get(id);
    if (c !== undefined) return c;
    memo.set(id, 0); // cycle guard
    const p = this.store.files.get(id);
    let r = 0;
    if (p) {
      r = p.owner === this.email ? WRITER : Math.min(WRITER, directRole(p, this.email, anyone));
      if (r < WRITER) for (const pp of p.parents) r = Math.max(r, this.inherited(pp, anyone));
    }
    memo.set(id, r);
    return r;
  }
}

/** Per-user change feed. Page tokens are global sequence numbers; only a file's latest change is listed. */
export class ChangeLog {
  readonly entries: { fileId: string; time: number }[] = [];
  private readonly perUser = new Map<string, number[]>();
  private readonly latest = new Map<string, Map<string, number>>();

  /** The token that will be given to the next change. */
  get next(): number {
    return this.entries.length + 1;
  }

  record(fileId: string, audience: Iterable<string>, time: number): void {
    const seq = this.entries.length + 1;
    this.entries.push({ fileId, time });
    for (const e of audience) {
      let list = this.perUser.get(e);
      if (!list) this.perUser.set(e, (list = []));
      list.push(seq);
      let m = this.latest.get(e);
      if (!m) this.latest.set(e, (m = new Map()));
      m.set(fileId, seq);
    }
  }

  /** Sequence numbers ≥ `from` in `email`'s feed, skipping changes superseded by a later one for the same file. */
  *since(email: string, from: number): Generator<number> {
    const list = this.perUser.get(email);
    const latest = this.latest.get(email);
    if (!list || !latest) return;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]! < from) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < list.length; i++) {
      const seq = list[i]!;
      if (latest.get(this.entries[seq - 1]!.fileId) === seq) yield seq;
    }
  }
}

export interface OrderKey {
  key: string;
  desc: boolean;
}
const ORDER_KEYS = new Set([
  'createdTime',
  'folder',
  'modifiedByMeTime',
  'modifiedTime',
  'name',
  'name_natural',
  'quotaBytesUsed',
  'recency',
  'sharedWithMeTime',
  'starred',
  'viewedByMeTime',
]);

/** `orderBy`: "a comma-separated list of sort keys ... Each key sorts ascending by default, but can be reversed with the 'desc' modifier" (files.list). */
export function parseOrderBy(s: string | null | undefined): OrderKey[] {
  if (s === null || s === undefined || s.trim() === '') return [];
  return s.split(',').map((part) => {
    const words = part.trim().split(/\s+/);
    const key = words[0] ?? '';
    const dir = words[1]?.toLowerCase();
    if (!ORDER_KEYS.has(key) || words.length > 2 || (dir !== undefined && dir !== 'desc' && dir !== 'asc')) throw invalidParam('orderBy');
    return { key, desc: dir === 'desc' };
  });
}

const natural = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

interface Meta {
  id?: string;
  name?: string;
  mimeType?: string;
  parents?: string[];
  description?: string;
  appProperties?: Record<string, string | null>;
  properties?: Record<string, string | null>;
  starred?: boolean;
  trashed?: boolean;
  createdTime?: number;
  modifiedTime?: number;
  originalFilename?: string;
}

export interface Media {
  data: Buffer;
  contentType?: string;
}

export class DriveStore {
  readonly files = new Map<string, DriveFile>();
  private readonly children = new Map<string, Set<string>>();
  private readonly byOwner = new Map<string, Set<string>>();
  private readonly byName = new Map<string, Set<string>>();
  private readonly roots = new Map<string, string>();
  readonly generatedIds = new Set<string>();
  readonly uploads = new Map<string, UploadSession>();
  readonly changes = new ChangeLog();
  /** Share notifications Drive would have e-mailed (permissions.create with sendNotificationEmail). */
  readonly notifications: { to: string; from: string; fileId: string; role: Role; message?: string }[] = [];
  quirks: DriveQuirks = {};
  private seq = 0;
  /** Sorted `files.list` results by (viewer, q, orderBy), valid while no change has been logged since. */
  private readonly listCache = new Map<string, { rev: number; files: DriveFile[] }>();

  constructor(private readonly world: World) {}

  now(): number {
    return this.world.now();
  }

  /** Roles of `email`; `clientId` (the request's OAuth client) selects the appProperties seen through it. */
  access(email: string, clientId = ''): Access {
    return new Access(this, norm(email), clientId);
  }

  newFileId(): string {
    // Drive ids: 33 URL-safe characters, starting with "1" for My Drive items.
    return '1' + crypto.randomBytes(24).toString('base64url');
  }

  /** The user's My Drive root folder (created on first use; alias `root`). */
  rootId(email: string): string {
    const e = norm(email);
    let id = this.roots.get(e);
    if (!id) {
      id = '0A' + crypto.randomBytes(12).toString('base64url').replace(/[-_]/g, 'x') + 'Uk9PVA';
      const t = this.now();
      this.insert({
        id,
        name: 'My Drive',
        nameTokens: tokenize('My Drive'),
        mimeType: FOLDER_MIME,
        owner: e,
        parents: [],
        appProperties: new Map(),
        properties: {},
        starredBy: new Set(),
        explicitlyTrashed: false,
        trashed: false,
        createdTime: t,
        modifiedTime: t,
        modifiedBy: new Map(),
        lastModifyingUser: e,
        version: 1,
        permissions: [{ id: permissionIdFor(e), type: 'user', role: 'owner', emailAddress: e }],
        isRoot: true,
        seq: 0,
      });
      this.roots.set(e, id);
    }
    return id;
  }

  resolveId(id: string, viewer: string): string {
    return id === 'root' ? this.rootId(viewer) : id;
  }

  /** The file as `viewer` may address it by id, or 404 (Drive does not reveal files you cannot see). */
  visible(viewer: string, id: string, access = this.access(viewer)): DriveFile {
    const f = this.files.get(this.resolveId(id, viewer));
    if (!f || access.role(f) === 0) throw notFound(id);
    return f;
  }

  // ---- indexes -------------------------------------------------------------------------------------------------

  private insert(f: DriveFile): void {
    f.seq = ++this.seq;
    this.files.set(f.id, f);
    addTo(this.byOwner, f.owner, f.id);
    addTo(this.byName, f.name, f.id);
    for (const p of f.parents) addTo(this.children, p, f.id);
  }

  private remove(f: DriveFile): void {
    this.files.delete(f.id);
    removeFrom(this.byOwner, f.owner, f.id);
    removeFrom(this.byName, f.name, f.id);
    for (const p of f.parents) removeFrom(this.children, p, f.id);
    this.children.delete(f.id);
  }

  private setParents(f: DriveFile, parents: string[]): void {
    for (const p of f.parents) removeFrom(this.children, p, f.id);
    f.parents = parents;
    for (const p of parents) addTo(this.children, p, f.id);
  }

  private setName(f: DriveFile, name: string): void {
    removeFrom(this.byName, f.name, f.id);
    f.name = name;
    f.nameTokens = tokenize(name);
    f.textTokens = undefined;
    addTo(this.byName, name, f.id);
  }

  private setOwner(f: DriveFile, email: string): void {
    removeFrom(this.byOwner, f.owner, f.id);
    f.owner = email;
    addTo(this.byOwner, email, f.id);
  }

  private setContent(f: DriveFile, data: Buffer): void {
    f.content = data;
    f.hashes = undefined;
    f.textTokens = undefined;
    f.headRevisionId = '0B' + crypto.randomBytes(18).toString('base64url');
  }

  hashes(f: DriveFile): { md5: string; sha1: string; sha256: string } | undefined {
    if (!f.content) return undefined;
    if (!f.hashes) {
      const c = f.content;
      f.hashes = {
        md5: crypto.createHash('md5').update(c).digest('hex'),
        sha1: crypto.createHash('sha1').update(c).digest('hex'),
        sha256: crypto.createHash('sha256').update(c).digest('hex'),
      };
    }
    return f.hashes;
  }

  childrenOf(id: string): ReadonlySet<string> {
    return this.children.get(id) ?? EMPTY;
  }

  /** The file and every descendant (breadth first; cycle-safe). */
  subtree(f: DriveFile): DriveFile[] {
    const out = [f];
    const seen = new Set([f.id]);
    for (let i = 0; i < out.length; i++) {
      for (const c of this.childrenOf(out[i]!.id)) {
        if (seen.has(c)) continue;
        seen.add(c);
        const cf = this.files.get(c);
        if (cf) out.push(cf);
      }
    }
    return out;
  }

  private isAncestor(ancestorId: string, f: DriveFile): boolean {
    const seen = new Set<string>();
    const stack = [...f.parents];
    while (stack.length) {
      const id = stack.pop()!;
      if (id === ancestorId) return true;
      if (seen.has(id)) continue;
      seen.add(id);
      const p = this.files.get(id);
      if (p) stack.push(...p.parents);
    }
    return false;
  }

  // ---- change feed ---------------------------------------------------------------------------------------------

  /** Everyone who can currently find the file (search access). */
  accessors(f: DriveFile): Set<string> {
    const cands = new Set<string>();
    const seen = new Set<string>();
    const stack: DriveFile[] = [f];
    while (stack.length) {
      const x = stack.pop()!;
      if (seen.has(x.id)) continue;
      seen.add(x.id);
      cands.add(x.owner);
      for (const p of x.permissions) {
        if ((p.type === 'user' || p.type === 'group') && p.emailAddress) cands.add(p.emailAddress);
        else if (p.type === 'domain' && p.domain) for (const u of this.world.users.keys()) if (domainOf(norm(u)) === p.domain) cands.add(norm(u));
      }
      for (const pid of x.parents) {
        const pf = this.files.get(pid);
        if (pf) stack.push(pf);
      }
    }
    const out = new Set<string>();
    for (const e of cands) if (new Access(this, e).searchRole(f) > 0) out.add(e);
    return out;
  }

  /** Run a mutation over `files` and log one change per file for everyone who could see it before or after. */
  private tracked<T>(files: DriveFile[], fn: () => T): T {
    const before = new Map(files.map((f) => [f.id, this.accessors(f)]));
    const result = fn();
    const t = this.now();
    for (const f of files) {
      const aud = before.get(f.id)!;
      if (this.files.has(f.id)) for (const e of this.accessors(f)) aud.add(e);
      this.changes.record(f.id, aud, t);
    }
    return result;
  }

  // ---- metadata validation -------------------------------------------------------------------------------------

  private meta(body: unknown, mode: 'create' | 'update'): Meta {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new DriveError(400, 'Invalid JSON payload received.', 'parseError');
    const b = body as Record<string, unknown>;
    const m: Meta = {};
    const str = (k: string): string | undefined => {
      const v = b[k];
      if (v === undefined || v === null) return undefined;
      if (typeof v !== 'string') throw new DriveError(400, `Invalid value for ${k}`, 'invalid', k, 'other');
      return v;
    };
    const time = (k: string): number | undefined => {
      const s = str(k);
      if (s === undefined) return undefined;
      try {
        return parseRfc3339(s);
      } catch (e) {
        if (e instanceof QueryError) throw new DriveError(400, `Invalid value for ${k}: ${s}`, 'invalid', k, 'other');
        throw e;
      }
    };
    m.name = str('name');
    m.mimeType = str('mimeType');
    m.description = str('description');
    m.originalFilename = str('originalFilename');
    m.modifiedTime = time('modifiedTime');
    if (mode === 'create') {
      m.id = str('id');
      m.createdTime = time('createdTime');
      if (b.parents !== undefined && b.parents !== null) {
        if (!Array.isArray(b.parents) || b.parents.some((p) => typeof p !== 'string'))
          throw new DriveError(400, 'Invalid value for parents', 'invalid', 'parents', 'other');
        m.parents = b.parents as string[];
      }
    } else if (b.parents !== undefined) {
      // https://developers.google.com/workspace/drive/api/reference/rest/v3/files/update: parents are changed with addParents/removeParents.
      throw new DriveError(
        403,
        'The parents field is not directly writable in update requests. Use the addParents and removeParents parameters instead.',
        'fieldNotWritable',
      );
    }
    for (const k of ['appProperties', 'properties'] as const) {
      const v = b[k];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'object' || Array.isArray(v)) throw new DriveError(400, `Invalid value for ${k}`, 'invalid', k, 'other');
      const out: Record<string, string | null> = {};
      for (const [key, val] of Object.entries(v as Record<string, unknown>)) {
        if (val === null) {
          if (mode === 'create') continue;
          out[key] = null;
          continue;
        }
        if (typeof val !== 'string' && typeof val !== 'number' && typeof val !== 'boolean')
          throw new DriveError(400, `Invalid value for ${k}.${key}`, 'invalid', k, 'other');
        const s = String(val);
        // "Maximum of 124 bytes size per property (including both key and value) string in UTF-8 encoding."
        // https://developers.google.com/workspace/drive/api/guides/properties (message is the emulator's own)
        if (Buffer.byteLength(key) + Buffer.byteLength(s) > 124)
          throw new DriveError(400, `The property ${key} exceeds the limit of 124 bytes for key and value.`, 'badRequest');
        out[key] = s;
      }
      m[k] = out;
    }
    for (const k of ['starred', 'trashed'] as const) {
      const v = b[k];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'boolean') throw new DriveError(400, `Invalid value for ${k}`, 'invalid', k, 'other');
      m[k] = v;
    }
    return m;
  }

  /** A parent named in a create or addParents: must be a folder the user can write to. */
  private parentFor(id: string, viewer: string, access: Access): DriveFile {
    const pid = this.resolveId(id, viewer);
    const p = this.files.get(pid);
    if (!p || access.role(p) === 0) throw notFound(id);
    // Emulator's wording: Drive rejects non-folder parents, the exact message is not documented.
    if (!isFolder(p)) throw new DriveError(400, 'The specified parent is not a folder.', 'badRequest');
    if (access.role(p) < WRITER) throw insufficient(id);
    return p;
  }

  // ---- operations ----------------------------------------------------------------------------------------------

  /** Validate a create before a resumable upload starts (metadata and parent errors surface at initiation). */
  checkCreate(viewerEmail: string, body: unknown): void {
    const viewer = norm(viewerEmail);
    const m = this.meta(body, 'create');
    if (m.parents && m.parents.length > 1) throw cannotAddParent();
    if (m.parents?.[0] !== undefined) this.parentFor(m.parents[0], viewer, this.access(viewer));
  }

  /** Validate an update before a resumable upload starts. */
  checkUpdate(viewerEmail: string, id: string, body: unknown): void {
    const viewer = norm(viewerEmail);
    const access = this.access(viewer);
    const f = this.visible(viewer, id, access);
    if (access.role(f) < WRITER) throw insufficient(id);
    this.meta(body, 'update');
  }

  /** Bytes used by a user's files (About.storageQuota). */
  usage(email: string): { total: number; trash: number } {
    let total = 0;
    let trash = 0;
    for (const id of this.byOwner.get(norm(email)) ?? []) {
      const n = this.files.get(id)?.content?.length ?? 0;
      total += n;
      if (this.files.get(id)?.trashed) trash += n;
    }
    return { total, trash };
  }

  /** files.create; `clientId` is the OAuth client of the request (owner of the `appProperties` given). */
  createFile(viewerEmail: string, body: unknown, media: Media | undefined, clientId: string): DriveFile {
    const viewer = norm(viewerEmail);
    const m = this.meta(body, 'create');
    const access = this.access(viewer);
    let parents: string[];
    if (m.parents !== undefined && m.parents.length > 0) {
      if (m.parents.length > 1) throw cannotAddParent();
      parents = [this.parentFor(m.parents[0]!, viewer, access).id];
    } else parents = [this.rootId(viewer)];
    if (this.quirks.dropParentsOnCreate && this.quirks.dropParentsOnCreate > 0) {
      this.quirks.dropParentsOnCreate--;
      parents = [];
    }
    let id = this.newFileId();
    if (m.id !== undefined) {
      if (this.files.has(m.id)) throw new DriveError(409, 'A file already exists with the provided ID.', 'duplicate', 'file.id', 'other');
      if (!this.generatedIds.has(m.id)) throw new DriveError(400, 'The provided file ID is not usable.', 'fileIdNotUsable', 'file.id', 'other');
      this.generatedIds.delete(m.id);
      id = m.id;
    }
    const mimeType = m.mimeType ?? media?.contentType ?? 'application/octet-stream';
    const t = this.now();
    const parentTrashed = parents.some((p) => this.files.get(p)?.trashed === true);
    const name = m.name ?? 'Untitled';
    const f: DriveFile = {
      id,
      name,
      nameTokens: tokenize(name),
      mimeType,
      owner: viewer,
      parents,
      appProperties: new Map(),
      properties: strip(m.properties),
      description: m.description,
      starredBy: m.starred ? new Set([viewer]) : new Set(),
      explicitlyTrashed: m.trashed === true,
      trashed: m.trashed === true || parentTrashed,
      trashedTime: m.trashed ? t : undefined,
      trashingUser: m.trashed ? viewer : undefined,
      createdTime: m.createdTime ?? t,
      modifiedTime: m.modifiedTime ?? t,
      modifiedBy: new Map([[viewer, t]]),
      lastModifyingUser: viewer,
      version: 1,
      permissions: [{ id: permissionIdFor(viewer), type: 'user', role: 'owner', emailAddress: viewer }],
      isRoot: false,
      seq: 0,
    };
    // Folders and Google Docs types have no binary content (no size/md5Checksum); anything else is a blob, empty
    // for a metadata-only create.
    const own = strip(m.appProperties);
    if (Object.keys(own).length > 0) f.appProperties.set(clientId, own);
    if (mimeType !== FOLDER_MIME && !mimeType.startsWith(GOOGLE_APPS)) {
      this.setContent(f, media?.data ?? Buffer.alloc(0));
      f.originalFilename = m.originalFilename ?? name;
    }
    this.insert(f);
    this.changes.record(f.id, this.accessors(f), t);
    return f;
  }

  /** files.update; `opts.clientId` is the OAuth client of the request (whose `appProperties` are merged). */
  updateFile(
    viewerEmail: string,
    id: string,
    body: unknown,
    opts: { addParents?: string[]; removeParents?: string[]; clientId: string },
    media?: Media,
  ): DriveFile {
    const viewer = norm(viewerEmail);
    const access = this.access(viewer);
    const f = this.visible(viewer, id, access);
    const role = access.role(f);
    if (role < WRITER) throw insufficient(id);
    const m = this.meta(body, 'update');
    if (f.isRoot && (m.name !== undefined || m.trashed !== undefined || opts.addParents?.length || media)) throw insufficient(id);
    if (m.trashed !== undefined && m.trashed !== f.explicitlyTrashed && role < OWNER) throw insufficient(id);

    let parents: string[] | undefined;
    if (opts.addParents?.length || opts.removeParents?.length) {
      const remove = new Set((opts.removeParents ?? []).map((p) => this.resolveId(p, viewer)));
      const next = f.parents.filter((p) => !remove.has(p));
      for (const a of opts.addParents ?? []) {
        const p = this.parentFor(a, viewer, access);
        if (p.id === f.id || this.isAncestor(f.id, p)) throw new DriveError(400, 'A folder cannot be moved into itself or one of its descendants.', 'badRequest');
        if (!next.includes(p.id)) next.push(p.id);
      }
      if (next.length > 1) throw cannotAddParent();
      parents = next.length ? next : [this.rootId(f.owner)];
      if (sameList(parents, f.parents)) parents = undefined;
    }

    if (media && (isFolder(f) || f.mimeType.startsWith(GOOGLE_APPS))) {
      // Emulator's wording: Drive refuses binary content for folders and Docs-editor files.
      throw new DriveError(400, 'Folders and Google Docs files cannot have binary content.', 'badRequest');
    }
    const trashChange = m.trashed !== undefined && m.trashed !== f.explicitlyTrashed;
    const affected = parents || trashChange ? this.subtree(f) : [f];
    return this.tracked(affected, () => {
      const t = this.now();
      let modified = false;
      if (m.name !== undefined && m.name !== f.name) {
        this.setName(f, m.name);
        modified = true;
      }
      if (m.description !== undefined) {
        f.description = m.description;
        f.textTokens = undefined;
        modified = true;
      }
      if (m.mimeType !== undefined && m.mimeType !== f.mimeType) {
        f.mimeType = m.mimeType;
        modified = true;
      }
      if (m.originalFilename !== undefined && hasBinary(f)) f.originalFilename = m.originalFilename;
      for (const k of ['appProperties', 'properties'] as const) {
        const patch = m[k];
        if (!patch) continue;
        // Drive merges: listed keys are set, keys set to null are removed, other keys are kept. appProperties: only
        // the requesting app's own.
        const props = k === 'properties' ? f.properties : (f.appProperties.get(opts.clientId) ?? {});
        for (const [key, val] of Object.entries(patch)) {
          if (val === null) delete props[key];
          else props[key] = val;
        }
        if (k === 'appProperties') {
          if (Object.keys(props).length > 0) f.appProperties.set(opts.clientId, props);
          else f.appProperties.delete(opts.clientId);
        }
        modified = true;
      }
      if (m.starred !== undefined) {
        if (m.starred) f.starredBy.add(viewer);
        else f.starredBy.delete(viewer);
      }
      if (parents) this.setParents(f, parents);
      if (trashChange) {
        f.explicitlyTrashed = m.trashed!;
        f.trashedTime = m.trashed ? t : undefined;
        f.trashingUser = m.trashed ? viewer : undefined;
      }
      if (parents || trashChange) this.recomputeTrash(f);
      if (media) {
        this.setContent(f, media.data);
        if (m.mimeType === undefined && media.contentType) f.mimeType = media.contentType;
        modified = true;
      }
      f.version++;
      if (modified || m.modifiedTime !== undefined) {
        f.modifiedTime = m.modifiedTime ?? t;
        f.modifiedBy.set(viewer, t);
        f.lastModifyingUser = viewer;
      }
      return f;
    });
  }

  /** trashed = explicitlyTrashed or a trashed ancestor; recomputed for a subtree after a move or (un)trash. */
  private recomputeTrash(top: DriveFile): void {
    for (const d of this.subtree(top)) {
      const parentTrashed = d.parents.some((p) => this.files.get(p)?.trashed === true);
      d.trashed = d.explicitlyTrashed || parentTrashed;
    }
  }

  deleteFile(viewerEmail: string, id: string): void {
    const viewer = norm(viewerEmail);
    const access = this.access(viewer);
    const f = this.visible(viewer, id, access);
    if (f.owner !== viewer || f.isRoot) throw insufficient(id);
    this.deleteTree(f, viewer);
  }

  private deleteTree(f: DriveFile, viewer: string): void {
    const tree = this.subtree(f);
    const doomed = new Set(tree.filter((d) => d === f || d.owner === viewer).map((d) => d.id));
    const affected = tree;
    this.tracked(affected, () => {
      for (const d of tree) {
        if (doomed.has(d.id)) continue;
        const left = d.parents.filter((p) => !doomed.has(p));
        if (left.length !== d.parents.length) this.setParents(d, left.length ? left : [this.rootId(d.owner)]);
      }
      for (const d of tree) if (doomed.has(d.id)) this.remove(d);
      for (const d of tree) if (!doomed.has(d.id)) this.recomputeTrash(d);
    });
  }

  /** files.emptyTrash: permanently deletes all of the user's trashed files. */
  emptyTrash(viewerEmail: string): void {
    const viewer = norm(viewerEmail);
    for (const id of [...(this.byOwner.get(viewer) ?? [])]) {
      const f = this.files.get(id);
      if (f && f.explicitlyTrashed) this.deleteTree(f, viewer);
    }
  }

  // ---- search --------------------------------------------------------------------------------------------------

  /**
   * Sorted search results, cached until the next mutation: following `nextPageToken` through a large folder costs
   * one search and one sort, not one per page. Every mutation logs a change, so the change count is the revision.
   * `cacheKey` must name the viewer, the client (appProperties terms), `q` and the order.
   */
  listSorted(viewerEmail: string, clientId: string, q: Node | undefined, order: OrderKey[], cacheKey: string): DriveFile[] {
    const rev = this.changes.next;
    if (this.quirks.listLagMs) return this.sort(this.search(viewerEmail, clientId, q), order, viewerEmail);
    const hit = this.listCache.get(cacheKey);
    if (hit && hit.rev === rev) return hit.files;
    const files = this.sort(this.search(viewerEmail, clientId, q), order, viewerEmail);
    this.listCache.delete(cacheKey);
    this.listCache.set(cacheKey, { rev, files });
    if (this.listCache.size > 64) this.listCache.delete(this.listCache.keys().next().value!);
    return files;
  }

  /** Files `viewer` can find that match `q` (unsorted); `appProperties has` terms see `clientId`'s properties. */
  search(viewerEmail: string, clientId: string, q: Node | undefined): DriveFile[] {
    const viewer = norm(viewerEmail);
    const access = this.access(viewer, clientId);
    const ctx: EvalCtx = { viewer, access, others: new Map(), matchers: new Map() };
    const cands = this.candidates(q, viewer);
    const lag = this.quirks.listLagMs ?? 0;
    const now = lag > 0 ? this.now() : 0;
    const out: DriveFile[] = [];
    const consider = (f: DriveFile | undefined) => {
      if (!f || f.isRoot) return;
      if (lag > 0 && now - f.createdTime < lag) return;
      if (access.searchRole(f) === 0) return;
      if (q && !this.evaluate(q, f, ctx)) return;
      out.push(f);
    };
    if (cands) for (const id of cands) consider(this.files.get(id));
    else for (const f of this.files.values()) consider(f);
    return out;
  }

  /** An index-backed superset of the matches, when the query pins one down. */
  private candidates(n: Node | undefined, viewer: string): ReadonlySet<string> | undefined {
    if (!n) return undefined;
    switch (n.k) {
      case 'in':
        if (n.field === 'parents') return this.childrenOf(this.resolveId(n.value, viewer));
        if (n.field === 'owners') return this.byOwner.get(n.value === 'me' ? viewer : norm(n.value)) ?? EMPTY;
        return undefined;
      case 'str':
        return n.field === 'name' && n.op === '=' ? (this.byName.get(n.value) ?? EMPTY) : undefined;
      case 'and': {
        let best: ReadonlySet<string> | undefined;
        for (const c of n.a) {
          const s = this.candidates(c, viewer);
          if (s && (!best || s.size < best.size)) best = s;
        }
        return best;
      }
      case 'or': {
        const u = new Set<string>();
        for (const c of n.a) {
          const s = this.candidates(c, viewer);
          if (!s) return undefined;
          for (const id of s) u.add(id);
        }
        return u;
      }
      default:
        return undefined;
    }
  }

  private evaluate(n: Node, f: DriveFile, ctx: EvalCtx): boolean {
    switch (n.k) {
      case 'and':
        return n.a.every((c) => this.evaluate(c, f, ctx));
      case 'or':
        return n.a.some((c) => this.evaluate(c, f, ctx));
      case 'not':
        return !this.evaluate(n.a, f, ctx);
      case 'str': {
        let v: string;
        switch (n.field) {
          case 'name':
            if (n.op === 'contains') {
              let m = ctx.matchers.get(n);
              if (!m) ctx.matchers.set(n, (m = nameMatcher(n.value)));
              return m(f.nameTokens, f.name);
            }
            v = f.name;
            break;
          case 'fullText':
            return fullTextContains(this.textTokens(f), n.value);
          case 'mimeType':
            if (n.op === 'contains') return f.mimeType.toLowerCase().includes(n.value.toLowerCase());
            v = f.mimeType;
            break;
          case 'visibility':
            v = this.visibility(f);
            break;
          case 'shortcutDetails.targetId':
            return n.op === '!='; // the emulator has no shortcuts
        }
        return n.op === '=' ? v === n.value : v !== n.value;
      }
      case 'bool': {
        let v: boolean;
        if (n.field === 'trashed') v = f.trashed;
        else if (n.field === 'starred') v = f.starredBy.has(ctx.viewer);
        else v = f.owner !== ctx.viewer && directRole(f, ctx.viewer, false) > 0; // sharedWithMe: shared directly
        return n.op === '=' ? v === n.value : v !== n.value;
      }
      case 'time': {
        const v = n.field === 'modifiedTime' ? f.modifiedTime : n.field === 'createdTime' ? f.createdTime : undefined;
        if (v === undefined) return false; // viewedByMeTime is not tracked
        return compare(v, n.op, n.value);
      }
      case 'in': {
        if (n.field === 'parents') return f.parents.includes(this.resolveId(n.value, ctx.viewer));
        const email = n.value === 'me' ? ctx.viewer : norm(n.value);
        if (n.field === 'owners') return f.owner === email;
        let a = ctx.others.get(email);
        if (!a) ctx.others.set(email, (a = new Access(this, email)));
        // writers: writer role or higher (owners included); readers: any role (reader or higher).
        return a.searchRole(f) >= (n.field === 'writers' ? WRITER : READER);
      }
      case 'has': {
        const props = n.field === 'appProperties' ? f.appProperties.get(ctx.access.clientId) : f.properties;
        return props?.[n.key] === n.value;
      }
    }
  }

  private textTokens(f: DriveFile): string[] {
    if (!f.textTokens) {
      let text = f.name + ' ' + (f.description ?? '');
      const c = f.content;
      if (c && c.length <= 1 << 20 && /^(text\/|application\/(json|xml|yaml|x-yaml|javascript))/.test(f.mimeType)) text += ' ' + c.toString('utf8');
      f.textTokens = tokenize(text);
    }
    return f.textTokens;
  }

  private visibility(f: DriveFile): string {
    const anyone = f.permissions.find((p) => p.type === 'anyone');
    if (anyone) return anyone.allowFileDiscovery ? 'anyoneCanFind' : 'anyoneWithLink';
    const domain = f.permissions.find((p) => p.type === 'domain');
    if (domain) return domain.allowFileDiscovery ? 'domainCanFind' : 'domainWithLink';
    return 'limited';
  }

  sort(files: DriveFile[], order: OrderKey[], viewerEmail: string): DriveFile[] {
    const viewer = norm(viewerEmail);
    if (order.length === 0) return files.sort((a, b) => a.seq - b.seq);
    const val = (f: DriveFile, key: string): number | string => {
      switch (key) {
        case 'folder':
          return isFolder(f) ? 0 : 1;
        case 'name':
          // Drive sorts names alphabetically without regard to case; the exact name breaks ties.
          return f.name.toLowerCase() + '\u0000' + f.name;
        case 'name_natural':
          return f.name;
        case 'createdTime':
          return f.createdTime;
        case 'modifiedTime':
        case 'recency':
          return f.modifiedTime;
        case 'modifiedByMeTime':
          return f.modifiedBy.get(viewer) ?? 0;
        case 'quotaBytesUsed':
          return f.content?.length ?? 0;
        case 'starred':
          return f.starredBy.has(viewer) ? 1 : 0;
        default:
          return 0; // viewedByMeTime, sharedWithMeTime: not tracked
      }
    };
    // Sort keys are computed once per file, not once per comparison.
    const keyed = files.map((f) => ({ f, k: order.map((o) => val(f, o.key)) }));
    keyed.sort((a, b) => {
      for (let i = 0; i < order.length; i++) {
        const { key, desc } = order[i]!;
        const x = a.k[i]!;
        const y = b.k[i]!;
        let c: number;
        if (typeof x === 'string' && typeof y === 'string') c = key === 'name_natural' ? natural.compare(x, y) : x < y ? -1 : x > y ? 1 : 0;
        else c = (x as number) - (y as number);
        if (c !== 0) return desc ? -c : c;
      }
      return a.f.seq - b.f.seq;
    });
    return keyed.map((x) => x.f);
  }

  // ---- permissions ---------------------------------------------------------------------------------------------

  /** Direct permissions plus those inherited from ancestor folders (My Drive propagates folder sharing). */
  permissionsOf(f: DriveFile): (Permission & { inheritedFrom?: string })[] {
    const out = new Map<string, Permission & { inheritedFrom?: string }>();
    for (const p of f.permissions) out.set(p.id, { ...p });
    const seen = new Set<string>([f.id]);
    const stack = [...f.parents];
    while (stack.length) {
      const id = stack.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      const a = this.files.get(id);
      if (!a || a.isRoot) continue;
      for (const p of a.permissions) {
        const role: Role = rank(p.role) > WRITER ? 'writer' : p.role;
        const cur = out.get(p.id);
        if (!cur) out.set(p.id, { ...p, role, inheritedFrom: a.id });
        else if (rank(cur.role) < rank(role)) cur.role = role;
      }
      stack.push(...a.parents);
    }
    return [...out.values()];
  }

  createPermission(
    viewerEmail: string,
    fileId: string,
    body: unknown,
    opts: { sendNotificationEmail?: boolean; transferOwnership?: boolean; emailMessage?: string } = {},
  ): Permission {
    const viewer = norm(viewerEmail);
    const access = this.access(viewer);
    const f = this.visible(viewer, fileId, access);
    if (access.role(f) < WRITER) throw insufficient(fileId);
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new DriveError(400, 'Invalid JSON payload received.', 'parseError');
    const b = body as Record<string, unknown>;
    const type = b.type;
    const role = b.role;
    if (type === undefined || type === null) throw new DriveError(400, 'The permission type field is required.', 'required', 'permission.type', 'other');
    if (role === undefined || role === null) throw new DriveError(400, 'The permission role field is required.', 'required', 'permission.role', 'other');
    if (typeof type !== 'string' || !(PERMISSION_TYPES as readonly string[]).includes(type)) throw new DriveError(400, 'Invalid Value', 'invalid', 'permission.type', 'other');
    if (typeof role !== 'string' || !(role in ROLE_RANK)) throw new DriveError(400, 'Invalid Value', 'invalid', 'permission.role', 'other');
    let email: string | undefined;
    let domain: string | undefined;
    if (type === 'user' || type === 'group') {
      if (typeof b.emailAddress !== 'string' || !b.emailAddress.includes('@'))
        throw new DriveError(400, 'The permission emailAddress field is required.', 'required', 'permission.emailAddress', 'other');
      email = norm(b.emailAddress);
    } else if (type === 'domain') {
      if (typeof b.domain !== 'string' || !b.domain) throw new DriveError(400, 'The permission domain field is required.', 'required', 'permission.domain', 'other');
      domain = b.domain.toLowerCase();
    }
    if (role === 'organizer' || role === 'fileOrganizer')
      throw new DriveError(400, `The role ${role} is only valid for shared drive items.`, 'invalidSharingRequest');
    if (role === 'owner') {
      if (!opts.transferOwnership)
        throw new DriveError(403, "The transferOwnership parameter must be enabled when the permission role is 'owner'.", 'forbidden', 'transferOwnership', 'parameter');
      if (type !== 'user') throw new DriveError(400, 'Ownership can only be transferred to a user.', 'invalidSharingRequest');
      if (f.owner !== viewer) throw insufficient(fileId);
    }
    const notify = opts.sendNotificationEmail ?? true;
    if (email && !notify && ![...this.world.users.keys()].some((u) => norm(u) === email)) {
      throw new DriveError(
        400,
        `Bad Request. User message: "You are trying to invite ${email}. Since there is no Google account associated with this email address, you must check the "Notify people" box to invite this recipient."`,
        'invalidSharingRequest',
      );
    }
    const allowFileDiscovery = typeof b.allowFileDiscovery === 'boolean' ? b.allowFileDiscovery : undefined;
    return this.tracked(this.subtree(f), () => {
      let p: Permission | undefined;
      if (email && email === f.owner) p = f.permissions.find((x) => x.role === 'owner');
      else if (role === 'owner') {
        const old = f.owner;
        f.permissions = f.permissions.filter((x) => !(x.type === 'user' && (x.emailAddress === email || x.emailAddress === old)));
        this.setOwner(f, email!);
        p = { id: permissionIdFor(email!), type: 'user', role: 'owner', emailAddress: email, grantedBy: viewer };
        f.permissions.unshift(p);
        f.permissions.push({ id: permissionIdFor(old), type: 'user', role: 'writer', emailAddress: old, grantedBy: viewer });
      } else {
        p = f.permissions.find(
          (x) => x.type === type && (type === 'anyone' || (email !== undefined && x.emailAddress === email) || (domain !== undefined && x.domain === domain)),
        );
        if (p) {
          p.role = role as Role;
          if (allowFileDiscovery !== undefined) p.allowFileDiscovery = allowFileDiscovery;
        } else {
          p = {
            id: email ? permissionIdFor(email) : type === 'anyone' ? (allowFileDiscovery ? 'anyone' : 'anyoneWithLink') : permissionIdFor('domain:' + domain),
            type: type as PermissionType,
            role: role as Role,
            grantedBy: viewer,
          };
          if (email) p.emailAddress = email;
          if (domain) p.domain = domain;
          if (type === 'anyone' || type === 'domain') p.allowFileDiscovery = allowFileDiscovery ?? false;
          f.permissions.push(p);
        }
      }
      f.version++;
      if (email && notify && email !== viewer) this.notifications.push({ to: email, from: viewer, fileId: f.id, role: p!.role, message: opts.emailMessage });
      return p!;
    });
  }

  updatePermission(viewerEmail: string, fileId: string, permissionId: string, body: unknown): Permission {
    const viewer = norm(viewerEmail);
    const access = this.access(viewer);
    const f = this.visible(viewer, fileId, access);
    if (access.role(f) < WRITER) throw insufficient(fileId);
    const p = f.permissions.find((x) => x.id === permissionId);
    if (!p) throw new DriveError(404, `Permission not found: ${permissionId}.`, 'notFound', 'permissionId', 'parameter');
    const role = (body as Record<string, unknown> | null)?.role;
    if (typeof role !== 'string' || !(role in ROLE_RANK) || role === 'owner' || p.role === 'owner')
      throw new DriveError(400, 'Invalid Value', 'invalid', 'permission.role', 'other');
    return this.tracked(this.subtree(f), () => {
      p.role = role as Role;
      f.version++;
      return p;
    });
  }

  deletePermission(viewerEmail: string, fileId: string, permissionId: string): void {
    const viewer = norm(viewerEmail);
    const access = this.access(viewer);
    const f = this.visible(viewer, fileId, access);
    const p = f.permissions.find((x) => x.id === permissionId);
    // Anyone may remove their own access; otherwise writer is needed.
    const self = p?.type === 'user' && p.emailAddress === viewer;
    if (!self && access.role(f) < WRITER) throw insufficient(fileId);
    if (!p) throw new DriveError(404, `Permission not found: ${permissionId}.`, 'notFound', 'permissionId', 'parameter');
    if (p.role === 'owner') throw new DriveError(403, 'The owner of a file cannot be removed.', 'cannotRemoveOwner');
    this.tracked(this.subtree(f), () => {
      f.permissions = f.permissions.filter((x) => x !== p);
      f.version++;
    });
  }

  // ---- resources -----------------------------------------------------------------------------------------------

  userResource(email: string, viewer: string) {
    return {
      kind: 'drive#user',
      displayName: email.slice(0, email.indexOf('@') >= 0 ? email.indexOf('@') : email.length),
      me: email === viewer,
      permissionId: permissionIdFor(email),
      emailAddress: email,
      photoLink: 'https://lh3.googleusercontent.com/a/default-user=s64',
    };
  }

  permissionResource(p: Permission & { inheritedFrom?: string }) {
    const out: Record<string, unknown> = { kind: 'drive#permission', id: p.id, type: p.type, role: p.role };
    if (p.emailAddress) {
      out.emailAddress = p.emailAddress;
      out.displayName = p.emailAddress.slice(0, p.emailAddress.indexOf('@'));
    }
    if (p.domain) out.domain = p.domain;
    if (p.allowFileDiscovery !== undefined) out.allowFileDiscovery = p.allowFileDiscovery;
    out.deleted = false;
    out.pendingOwner = false;
    out.permissionDetails = [
      { permissionType: 'file', role: p.role, inherited: p.inheritedFrom !== undefined, ...(p.inheritedFrom ? { inheritedFrom: p.inheritedFrom } : {}) },
    ];
    return out;
  }

  /** The File resource as `access.email` sees it, computing only the selected fields. */
  fileResource(f: DriveFile, access: Access, sel: Sel | null): Record<string, unknown> {
    const keys = sel === null || sel.has('*') ? ALL_FILE_KEYS : sel.keys();
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      const v = this.fileField(f, k, access);
      if (v === undefined) continue;
      const sub = sel?.get(k);
      out[k] = sub ? project(v, sub) : v;
    }
    return out;
  }

  private fileField(f: DriveFile, key: string, access: Access): unknown {
    const viewer = access.email;
    const bin = hasBinary(f);
    switch (key) {
      case 'kind':
        return 'drive#file';
      case 'id':
        return f.id;
      case 'name':
        return f.name;
      case 'mimeType':
        return f.mimeType;
      case 'parents':
        return f.parents.length ? [...f.parents] : undefined;
      case 'owners':
        return [this.userResource(f.owner, viewer)];
      case 'appProperties': {
        const own = f.appProperties.get(access.clientId);
        return own && Object.keys(own).length ? { ...own } : undefined;
      }
      case 'properties':
        return Object.keys(f.properties).length ? { ...f.properties } : undefined;
      case 'description':
        return f.description;
      case 'starred':
        return f.starredBy.has(viewer);
      case 'trashed':
        return f.trashed;
      case 'explicitlyTrashed':
        return f.explicitlyTrashed;
      case 'trashedTime':
        return f.trashedTime !== undefined ? iso(f.trashedTime) : undefined;
      case 'trashingUser':
        return f.trashingUser ? this.userResource(f.trashingUser, viewer) : undefined;
      case 'createdTime':
        return iso(f.createdTime);
      case 'modifiedTime':
        return iso(f.modifiedTime);
      case 'modifiedByMeTime': {
        const t = f.modifiedBy.get(viewer);
        return t !== undefined ? iso(t) : undefined;
      }
      case 'modifiedByMe':
        return f.modifiedBy.has(viewer);
      case 'viewedByMe':
        return f.owner === viewer || f.modifiedBy.has(viewer);
      case 'sharedWithMeTime': {
        if (f.owner === viewer) return undefined;
        return directRole(f, viewer, false) > 0 ? iso(f.createdTime) : undefined;
      }
      case 'sharingUser': {
        if (f.owner === viewer) return undefined;
        const p = f.permissions.find((x) => x.emailAddress === viewer && x.grantedBy);
        return p?.grantedBy ? this.userResource(p.grantedBy, viewer) : undefined;
      }
      case 'lastModifyingUser':
        return this.userResource(f.lastModifyingUser, viewer);
      case 'size':
        return bin ? String(f.content!.length) : undefined;
      case 'quotaBytesUsed':
        return bin ? String(f.content!.length) : '0';
      case 'md5Checksum':
        return this.hashes(f)?.md5;
      case 'sha1Checksum':
        return this.hashes(f)?.sha1;
      case 'sha256Checksum':
        return this.hashes(f)?.sha256;
      case 'version':
        return String(f.version);
      case 'headRevisionId':
        return bin ? f.headRevisionId : undefined;
      case 'originalFilename':
        return bin ? f.originalFilename : undefined;
      case 'fullFileExtension': {
        if (!bin) return undefined;
        const i = f.name.indexOf('.', 1);
        return i > 0 ? f.name.slice(i + 1) : undefined;
      }
      case 'fileExtension': {
        if (!bin) return undefined;
        const i = f.name.lastIndexOf('.');
        return i > 0 ? f.name.slice(i + 1) : undefined;
      }
      case 'ownedByMe':
        return f.owner === viewer;
      case 'shared':
        return f.permissions.some((p) => p.role !== 'owner');
      case 'spaces':
        return ['drive'];
      case 'writersCanShare':
      case 'viewersCanCopyContent':
        return true;
      case 'copyRequiresWriterPermission':
      case 'hasThumbnail':
      case 'isAppAuthorized':
      case 'hasAugmentedPermissions':
      case 'inheritedPermissionsDisabled':
        return false;
      case 'thumbnailVersion':
        return '0';
      case 'permissions':
      case 'permissionIds': {
        // "This is only available if the requesting user can share the file."
        if (access.role(f) < WRITER) return undefined;
        const perms = this.permissionsOf(f);
        return key === 'permissions' ? perms.map((p) => this.permissionResource(p)) : perms.map((p) => p.id);
      }
      case 'capabilities':
        return this.capabilities(f, access);
      case 'webViewLink':
        return isFolder(f) ? `https://drive.google.com/drive/folders/${f.id}` : `https://drive.google.com/file/d/${f.id}/view?usp=drivesdk`;
      case 'webContentLink':
        return bin ? `https://drive.google.com/uc?id=${f.id}&export=download` : undefined;
      case 'iconLink':
        return `https://drive-thirdparty.googleusercontent.com/16/type/${f.mimeType}`;
      default:
        return undefined;
    }
  }

  private capabilities(f: DriveFile, access: Access): Record<string, boolean> {
    const role = access.role(f);
    const owner = role >= OWNER;
    const writer = role >= WRITER;
    const folder = isFolder(f);
    return {
      canAddChildren: folder && writer,
      canAddMyDriveParent: f.parents.length === 0 && writer,
      canChangeCopyRequiresWriterPermission: writer,
      canComment: role >= 2,
      canCopy: !folder,
      canDelete: owner,
      canDownload: true,
      canEdit: writer,
      canListChildren: folder,
      canModifyContent: writer && !folder,
      canMoveItemWithinDrive: writer,
      canReadRevisions: writer,
      canRemoveChildren: folder && writer,
      canRemoveMyDriveParent: writer,
      canRename: writer,
      canShare: writer,
      canTrash: owner,
      canUntrash: owner,
    };
  }
}

interface EvalCtx {
  viewer: string;
  access: Access;
  others: Map<string, Access>;
  matchers: Map<Node, (tokens: readonly string[], name: string) => boolean>;
}

const EMPTY: ReadonlySet<string> = new Set();

const ALL_FILE_KEYS = [
  'kind',
  'id',
  'name',
  'mimeType',
  'parents',
  'owners',
  'appProperties',
  'properties',
  'description',
  'starred',
  'trashed',
  'explicitlyTrashed',
  'trashedTime',
  'trashingUser',
  'createdTime',
  'modifiedTime',
  'modifiedByMeTime',
  'modifiedByMe',
  'viewedByMe',
  'sharedWithMeTime',
  'sharingUser',
  'lastModifyingUser',
  'size',
  'quotaBytesUsed',
  'md5Checksum',
  'sha1Checksum',
  'sha256Checksum',
  'version',
  'headRevisionId',
  'originalFilename',
  'fullFileExtension',
  'fileExtension',
  'ownedByMe',
  'shared',
  'spaces',
  'writersCanShare',
  'viewersCanCopyContent',
  'copyRequiresWriterPermission',
  'hasThumbnail',
  'isAppAuthorized',
  'hasAugmentedPermissions',
  'inheritedPermissionsDisabled',
  'thumbnailVersion',
  'permissions',
  'permissionIds',
  'capabilities',
  'webViewLink',
  'webContentLink',
  'iconLink',
];

function addTo(m: Map<string, Set<string>>, k: string, v: string): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(v);
}

function removeFrom(m: Map<string, Set<string>>, k: string, v: string): void {
  const s = m.get(k);
  if (!s) return;
  s.delete(v);
  if (s.size === 0) m.delete(k);
}

function strip(r: Record<string, string | null> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (r) for (const [k, v] of Object.entries(r)) if (v !== null) out[k] = v;
  return out;
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function compare(v: number, op: CmpOp, w: number): boolean {
  switch (op) {
    case '=':
      return v === w;
    case '!=':
      return v !== w;
    case '<':
      return v < w;
    case '<=':
      return v <= w;
    case '>':
      return v > w;
    case '>=':
      return v >= w;
  }
}

