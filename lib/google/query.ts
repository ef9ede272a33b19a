/**
 * Drive `q` strings and `fields` masks (pure: no I/O, no googleapis at run time).
 *
 * Drive's search grammar (https://developers.google.com/workspace/drive/api/guides/search-files,
 * "Query string terms and operators"): string values are enclosed in single quotes, and inside them a single quote
 * is written `\'` and a backslash `\\`. The Python reference interpolates names and e-mail addresses without
 * escaping (syftbox-protocol.md §7 #21), so a quote in a value breaks the query or changes its meaning. Every
 * value that reaches a query here goes through {@link quote}; callers cannot splice raw text, because
 * {@link DriveQuery} is a branded string that only this module produces.
 */
import type { drive_v3 } from '@googleapis/drive';

declare const queryBrand: unique symbol;
/** A Drive search expression produced by {@link q}. Plain strings are not accepted where a query is expected. */
export type DriveQuery = string & { readonly [queryBrand]: true };

export const FOLDER_MIME = 'application/vnd.google-apps.folder';

/** `value` as a Drive string literal: `'…'` with `\` → `\\` and `'` → `\'` (backslashes first). */
export function quote(value: string): string {
  if (typeof value !== 'string') throw new TypeError(`Drive query value must be a string, got ${typeof value}`);
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function brand(s: string): DriveQuery {
  return s as DriveQuery;
}

/** True when `term` has an `and`/`or` outside quotes, parentheses and braces. */
function hasTopLevelOperator(term: string): boolean {
  let depth = 0;
  let inQuote = false;
  for (let i = 0; i < term.length; i++) {
    const ch = term[i];
    if (inQuote) {
      if (ch === '\\') i++;
      else if (ch === "'") inQuote = false;
      continue;
    }
    if (ch === "'") inQuote = true;
    else if (ch === '(' || ch === '{') depth++;
    else if (ch === ')' || ch === '}') depth--;
    else if (depth === 0 && /^\s(and|or)\s/i.test(term.slice(i, i + 5))) return true;
  }
  return false;
}

/** Parenthesise a compound term so it can be combined safely. */
function group(term: DriveQuery): string {
  return hasTopLevelOperator(term) ? `(${term})` : term;
}

function rfc3339(d: Date | string): string {
  const date = typeof d === 'string' ? new Date(d) : d;
  if (Number.isNaN(date.getTime())) throw new TypeError(`invalid date for a Drive query: ${String(d)}`);
  return date.toISOString();
}

export const q = {
  /**
   * Terms joined with `and`; `undefined`/`false` terms are skipped (handy for optional filters). No parentheses are
   * needed: `or` terms are always parenthesised and `not` groups its operand.
   */
  and(...terms: Array<DriveQuery | undefined | false>): DriveQuery {
    const parts = terms.filter((t): t is DriveQuery => typeof t === 'string' && t !== '');
    if (parts.length === 0) throw new TypeError('q.and needs at least one term');
    return brand(parts.length === 1 ? parts[0]! : parts.join(' and '));
  },
  /** Terms joined with `or`, always parenthesised. */
  or(...terms: Array<DriveQuery | undefined | false>): DriveQuery {
    const parts = terms.filter((t): t is DriveQuery => typeof t === 'string' && t !== '');
    if (parts.length === 0) throw new TypeError('q.or needs at least one term');
    return brand(parts.length === 1 ? parts[0]! : `(${parts.map(group).join(' or ')})`);
  },
  not(term: DriveQuery): DriveQuery {
    return brand(`not ${group(term)}`);
  },
  nameEq(name: string): DriveQuery {
    return brand(`name = ${quote(name)}`);
  },
  /**
   * `name contains '…'`. On real Drive this matches word *prefixes*, not substrings (the reference re-filters
   * results by exact parse for that reason; so should every caller).
   */
  nameContains(s: string): DriveQuery {
    return brand(`name contains ${quote(s)}`);
  },
  mimeTypeEq(mimeType: string): DriveQuery {
    return brand(`mimeType = ${quote(mimeType)}`);
  },
  /** Folders only. */
  folder(): DriveQuery {
    return q.mimeTypeEq(FOLDER_MIME);
  },
  /** Anything but folders. */
  notFolder(): DriveQuery {
    return brand(`mimeType != ${quote(FOLDER_MIME)}`);
  },
  /** Direct children of `parentId`. */
  inParents(parentId: string): DriveQuery {
    return brand(`${quote(parentId)} in parents`);
  },
  /** Owned by `email` (`'me'` is Drive's alias for the caller; see also {@link q.ownedByMe}). */
  inOwners(email: string): DriveQuery {
    return brand(`${quote(email)} in owners`);
  },
  ownedByMe(): DriveQuery {
    return brand(`'me' in owners`);
  },
  notOwnedByMe(): DriveQuery {
    return brand(`not 'me' in owners`);
  },
  trashed(value: boolean): DriveQuery {
    return brand(`trashed = ${value ? 'true' : 'false'}`);
  },
  /** `appProperties has { key='k' and value='v' }`. */
  appPropertyEq(key: string, value: string): DriveQuery {
    return brand(`appProperties has { key=${quote(key)} and value=${quote(value)} }`);
  },
  modifiedAfter(d: Date | string): DriveQuery {
    return brand(`modifiedTime > ${quote(rfc3339(d))}`);
  },
} as const;

// ---------------------------------------------------------------------------------------------------------------
// fields masks (https://developers.google.com/workspace/drive/api/guides/fields-parameter)

/** A top-level field of a Drive file, optionally with a sub-selection: `owners(emailAddress)`. */
export type FileField = keyof drive_v3.Schema$File | `${keyof drive_v3.Schema$File}(${string})`;
export type PermissionField = keyof drive_v3.Schema$Permission;
export type ChangeField = Exclude<keyof drive_v3.Schema$Change, 'file'>;

function checkFields(list: readonly string[]): string {
  if (list.length === 0) throw new TypeError('a fields mask needs at least one field');
  for (const f of list) {
    if (!/^[A-Za-z][A-Za-z0-9]*(\([A-Za-z0-9,/() ]+\))?$/.test(f)) throw new TypeError(`invalid field in a fields mask: ${JSON.stringify(f)}`);
  }
  return list.join(',');
}

export const fields = {
  /** `id,name,parents` for `files.get` / `files.create` / `files.update`. */
  file(list: readonly FileField[]): string {
    return checkFields(list);
  },
  /** `nextPageToken,files(id,name)` for `files.list` (always with the page token, so paging cannot be forgotten). */
  fileList(list: readonly FileField[]): string {
    return `nextPageToken,files(${checkFields(list)})`;
  },
  /** `nextPageToken,permissions(id,type,role,emailAddress)` for `permissions.list`. */
  permissionList(list: readonly PermissionField[]): string {
    return `nextPageToken,permissions(${checkFields(list)})`;
  },
  /** `nextPageToken,newStartPageToken,changes(fileId,removed,time,file(id,name,parents))` for `changes.list`. */
  changeList(list: readonly ChangeField[], fileList: readonly FileField[]): string {
    const file = fileList.length > 0 ? `,file(${checkFields(fileList)})` : '';
    return `nextPageToken,newStartPageToken,changes(${checkFields(list)}${file})`;
  },
} as const;
