/**
 * The DO's Drive folders (protocol §3.1), found the way the Python lookups find them (same major.minor version in
 * the name, exact-name re-filter, the oldest when there are several) and created when missing with our version.
 * Ids are cached in the engine state (`ids`), so a steady-state cycle makes no lookup calls; a 404 on a cached id
 * is answered by {@link DriveFolders.forget} and a fresh lookup on the next use.
 */
import type { DriveApi, DriveFile } from '../google/drive';
import { folderVersionCompatible } from '../peers/compat';
import { createOnce } from '../peers/remote';
import { SYFT_CLIENT_VERSION } from '../peers/version';

export type FolderKey = 'root' | 'personal' | 'checkpoints' | 'rolling' | `archive:${string}` | `inbox:${string}` | `outbox:${string}`;

export class AmbiguousFolderError extends Error {
  constructor(readonly what: string, readonly names: string[]) {
    super(`${what}: ${names.length} compatible folders (${names.join(', ')}); syft-client refuses to pick one, so do we`);
    this.name = 'AmbiguousFolderError';
  }
}

const byAge = (a: DriveFile, b: DriveFile) => (a.createdTime ?? '').localeCompare(b.createdTime ?? '') || a.id.localeCompare(b.id);

/** `<me>-<ver>-<suffix>` names: the version of a compatible one, or undefined. */
export function suffixedFolderVersion(name: string, me: string, suffix: 'checkpoints' | 'rolling-state'): string | undefined {
  const pre = `${me}-`;
  const post = `-${suffix}`;
  if (!name.startsWith(pre) || !name.endsWith(post)) return undefined;
  const v = name.slice(pre.length, name.length - post.length);
  return folderVersionCompatible(v) ? v : undefined;
}

export class DriveFolders {
  constructor(
    private readonly drive: DriveApi,
    private readonly me: string,
    /** Persisted cache of folder ids (mutated in place; the owner persists it). */
    readonly ids: Partial<Record<string, string>>,
  ) {}

  forget(key: FolderKey): void {
    delete this.ids[key];
  }

  private async cached(key: FolderKey, find: () => Promise<string | undefined>): Promise<string | undefined> {
    const hit = this.ids[key];
    if (hit) return hit;
    const id = await find();
    if (id) this.ids[key] = id;
    return id;
  }

  async root(): Promise<string> {
    const id = await this.cached('root', async () => {
      const { value } = await createOnce(
        async () => (await this.drive.findSyftBoxRoot())?.id,
        async () => (await this.drive.createFolder('SyftBox')).id,
      );
      return value;
    });
    return id!;
  }

  async personal(): Promise<string> {
    const root = await this.root();
    return (await this.cached('personal', async () => {
      const find = async () => (await this.drive.findPersonalFolders(this.me, root)).filter((f) => folderVersionCompatible(f.version)).map((f) => f.file).sort(byAge)[0]?.id;
      return (await createOnce(find, async () => (await this.drive.createFolder(`${SYFT_CLIENT_VERSION}#${this.me}`, root)).id)).value;
    }))!;
  }

  private async suffixed(key: 'checkpoints' | 'rolling', suffix: 'checkpoints' | 'rolling-state', create: boolean): Promise<string | undefined> {
    const root = await this.root();
    return this.cached(key, async () => {
      const find = async () => {
        const folders = await this.drive.searchFolders({ nameContains: [`${this.me}-`, `-${suffix}`], parentId: root, owner: 'me' });
        return folders.filter((f) => suffixedFolderVersion(f.name, this.me, suffix) !== undefined).sort(byAge)[0]?.id;
      };
      if (!create) return find();
      return (await createOnce(find, async () => (await this.drive.createFolder(`${this.me}-${SYFT_CLIENT_VERSION}-${suffix}`, root)).id)).value;
    });
  }

  checkpoints(create = true): Promise<string | undefined> {
    return this.suffixed('checkpoints', 'checkpoints', create);
  }

  rolling(create = true): Promise<string | undefined> {
    return this.suffixed('rolling', 'rolling-state', create);
  }

  /** `syft_<peer>_to_<me>_archive`, created in /SyftBox when missing. */
  async archive(peer: string): Promise<string> {
    const root = await this.root();
    return (await this.cached(`archive:${peer}`, async () => {
      const find = async () => (await this.drive.findArchiveFolder(peer, this.me))?.id;
      return (await createOnce(find, async () => (await this.drive.createFolder(`syft_${peer}_to_${this.me}_archive`, root)).id)).value;
    }))!;
  }

  /**
   * The peer-owned `syft_datasite#<v>#<me>#<type>#<peer>` folder (compatible version), or undefined when the peer has
   * none (yet). Several compatible ones: {@link AmbiguousFolderError} (the Python lookups raise too).
   */
  async peerFolder(type: 'inbox' | 'outbox', peer: string): Promise<string | undefined> {
    return this.cached(`${type}:${peer}`, async () => {
      const found = (await this.drive.findP2pFolders({ datasite: this.me, type, peer, owner: peer })).filter((f) => folderVersionCompatible(f.version));
      if (found.length > 1) throw new AmbiguousFolderError(`${type} of ${peer}`, found.map((f) => f.file.name));
      return found[0]?.file.id;
    });
  }
}
