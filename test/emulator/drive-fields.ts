/**
 * The `fields` system parameter (partial responses) for the Drive emulator.
 * Syntax per https://developers.google.com/workspace/drive/api/guides/fields-parameter :
 * a comma-separated list of field paths; `a/b` selects `b` inside `a`; `a(b,c)` selects `b` and `c` inside `a`
 * (also inside arrays of objects); `*` selects everything at its level. Unknown field names are a 400
 * `invalidParameter` "Invalid field selection <name>" (location `fields`), which is what Drive answers.
 */

/** A selection: field name → sub-selection, or null for "the whole value". */
export type Sel = Map<string, Sel | null>;

export class FieldsError extends Error {
  constructor(readonly field: string) {
    super(`Invalid field selection ${field}`);
  }
}

export function parseFields(s: string): Sel {
  let i = 0;
  const skip = () => {
    while (i < s.length && /\s/.test(s[i]!)) i++;
  };
  const name = (): string => {
    skip();
    const at = i;
    if (s[i] === '*') {
      i++;
      return '*';
    }
    while (i < s.length && /[A-Za-z0-9_.\-]/.test(s[i]!)) i++;
    if (i === at) throw new FieldsError(s.slice(at) || s);
    return s.slice(at, i);
  };
  const list = (): Sel => {
    const out: Sel = new Map();
    for (;;) {
      const path = [name()];
      skip();
      while (s[i] === '/') {
        i++;
        path.push(name());
        skip();
      }
      let sub: Sel | null = null;
      if (s[i] === '(') {
        i++;
        sub = list();
        skip();
        if (s[i] !== ')') throw new FieldsError(s);
        i++;
        skip();
      }
      // a/b/c(sub) → {a: {b: {c: sub}}}
      let leaf: Sel | null = sub;
      for (let k = path.length - 1; k >= 1; k--) leaf = new Map([[path[k]!, leaf]]);
      merge(out, path[0]!, leaf);
      if (s[i] === ',') {
        i++;
        continue;
      }
      return out;
    }
  };
  const sel = list();
  skip();
  if (i !== s.length) throw new FieldsError(s.slice(i));
  return sel;
}

function merge(into: Sel, key: string, value: Sel | null): void {
  if (!into.has(key)) {
    into.set(key, value);
    return;
  }
  const cur = into.get(key)!;
  if (cur === null || value === null) {
    into.set(key, null);
    return;
  }
  for (const [k, v] of value) merge(cur, k, v);
}

/** Schema for validation: known field names, with nested schemas; 'any' accepts any sub-selection. */
export type Schema = { [field: string]: Schema | true } | 'any';

export function validateFields(sel: Sel, schema: Schema, prefix = ''): void {
  if (schema === 'any') return;
  for (const [k, sub] of sel) {
    if (k === '*') continue;
    const s = schema[k];
    if (s === undefined) throw new FieldsError(prefix + k);
    if (sub !== null) {
      if (s === true) throw new FieldsError(prefix + k);
      validateFields(sub, s, prefix + k + '/');
    }
  }
}

/** Apply a selection to a plain value. */
export function project(value: unknown, sel: Sel | null): unknown {
  if (sel === null || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => project(v, sel));
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  if (sel.has('*')) {
    for (const [k, v] of Object.entries(obj)) if (!sel.has(k)) out[k] = v;
  }
  for (const [k, sub] of sel) {
    if (k === '*') continue;
    const v = obj[k];
    if (v !== undefined) out[k] = project(v, sub);
  }
  return out;
}

const USER: Schema = { kind: true, displayName: true, photoLink: true, me: true, permissionId: true, emailAddress: true };

export const PERMISSION: Schema = {
  kind: true,
  id: true,
  type: true,
  emailAddress: true,
  domain: true,
  role: true,
  view: true,
  allowFileDiscovery: true,
  displayName: true,
  photoLink: true,
  expirationTime: true,
  teamDrivePermissionDetails: 'any',
  permissionDetails: 'any',
  deleted: true,
  pendingOwner: true,
  inheritedPermissionsDisabled: true,
};

/** Every field of the v3 File resource (https://developers.google.com/workspace/drive/api/reference/rest/v3/files). */
export const FILE: Schema = {
  kind: true,
  driveId: true,
  fileExtension: true,
  copyRequiresWriterPermission: true,
  md5Checksum: true,
  contentHints: 'any',
  writersCanShare: true,
  viewedByMe: true,
  mimeType: true,
  exportLinks: 'any',
  parents: true,
  thumbnailLink: true,
  iconLink: true,
  shared: true,
  lastModifyingUser: USER,
  owners: USER,
  headRevisionId: true,
  sharingUser: USER,
  webViewLink: true,
  webContentLink: true,
  size: true,
  viewersCanCopyContent: true,
  permissions: PERMISSION,
  hasThumbnail: true,
  spaces: true,
  folderColorRgb: true,
  id: true,
  name: true,
  description: true,
  starred: true,
  trashed: true,
  explicitlyTrashed: true,
  createdTime: true,
  modifiedTime: true,
  modifiedByMeTime: true,
  viewedByMeTime: true,
  sharedWithMeTime: true,
  quotaBytesUsed: true,
  version: true,
  originalFilename: true,
  ownedByMe: true,
  fullFileExtension: true,
  properties: 'any',
  appProperties: 'any',
  isAppAuthorized: true,
  teamDriveId: true,
  capabilities: 'any',
  hasAugmentedPermissions: true,
  trashingUser: USER,
  thumbnailVersion: true,
  trashedTime: true,
  modifiedByMe: true,
  permissionIds: true,
  imageMediaMetadata: 'any',
  videoMediaMetadata: 'any',
  shortcutDetails: 'any',
  contentRestrictions: 'any',
  resourceKey: true,
  linkShareMetadata: 'any',
  labelInfo: 'any',
  sha1Checksum: true,
  sha256Checksum: true,
  inheritedPermissionsDisabled: true,
  downloadRestrictions: 'any',
};

export const FILE_LIST: Schema = { kind: true, nextPageToken: true, incompleteSearch: true, files: FILE };

export const CHANGE: Schema = {
  kind: true,
  removed: true,
  file: FILE,
  fileId: true,
  time: true,
  driveId: true,
  teamDriveId: true,
  teamDrive: 'any',
  drive: 'any',
  changeType: true,
  type: true,
};
export const CHANGE_LIST: Schema = { kind: true, nextPageToken: true, newStartPageToken: true, changes: CHANGE };
export const START_PAGE_TOKEN: Schema = { kind: true, startPageToken: true };
export const PERMISSION_LIST: Schema = { kind: true, nextPageToken: true, permissions: PERMISSION };
export const GENERATED_IDS: Schema = { kind: true, space: true, ids: true };
export const ABOUT: Schema = {
  kind: true,
  user: USER,
  storageQuota: 'any',
  importFormats: 'any',
  exportFormats: 'any',
  maxImportSizes: 'any',
  maxUploadSize: true,
  appInstalled: true,
  folderColorPalette: true,
  driveThemes: 'any',
  canCreateDrives: true,
  canCreateTeamDrives: true,
  teamDriveThemes: 'any',
};
