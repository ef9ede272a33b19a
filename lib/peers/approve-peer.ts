/**
 * `approve_peer_request` (protocol reference §2.5) for the data owner `me` and the requesting data scientist `ds`.
 * Every step is idempotent (find before create, share only when missing), so a retry after a crash or a fault
 * finishes the job without duplicates. The `SYFT_peers.json` entry — which makes the request "accepted" for
 * every client, and stops our pass from looking at it again — is written after the folders, shares, version file
 * and local permission files exist.
 *
 * Drive calls in order: (1) for inbox, outbox: find `syft_datasite#*#<ds>#<type>#<me>` owned by us, create
 * `syft_datasite#<SYFT_CLIENT_VERSION>#<ds>#<type>#<me>` in `/SyftBox` when absent, share it `writer`;
 * (2) our `SYFT_version.json`: created when missing, refreshed when stale, shared `reader`; (3) local
 * `syft.pub.yaml` for `app_data/job/{inbox,review}/<ds>/`; (4) `SYFT_peers.json`: `<ds>` → accepted, merged;
 * (5) dataset collections tagged "any" or named in `auto_share_datasets`, shared `reader` (best effort).
 */
import { setupPeerJobFolders } from '../datasite/permissions';
import type { Clock } from '../datasite/time';
import { p2pFolderName, type DriveApi, type P2pFolder, type P2pFolderType, type ShareRole } from '../google/drive';
import { GoogleApiError } from '../google/retry';
import { folderVersionCompatible } from './compat';
import { selectDatasetsToShare } from './datasets';
import { createOnce, ensureOwnVersionFile, setPeerStateRemote, type OwnVersionFile } from './remote';
import { SYFT_CLIENT_VERSION } from './version';

export interface ApprovePeerDeps {
  drive: DriveApi;
  /** Our (the data owner's) e-mail address. */
  me: string;
  /** Id of our `/SyftBox` folder on Drive. */
  rootId: string;
  /** The local SyftBox root (the datasite is `<root>/<me>`). */
  root: string;
  clock: Clock;
  /** `approve.peers.auto_share_datasets`. */
  autoShareDatasets?: readonly string[];
  /** Our version file as already ensured by this process (skips the stale check). */
  ownVersion?: OwnVersionFile;
}

export interface ApprovedFolder {
  id: string;
  name: string;
  created: boolean;
  /** True when the share with the peer was created now (false: it was there already). */
  shared: boolean;
}

export interface ApprovePeerResult {
  peer: string;
  inbox: ApprovedFolder;
  outbox: ApprovedFolder;
  versionFile: OwnVersionFile & { shared: boolean };
  /** `syft.pub.yaml` files written or confirmed. */
  permissionFiles: string[];
  peersFile: { fileId: string; writes: number; data: import('./peers-file').PeersData };
  datasets: { shared: string[]; missing: string[]; failed: Array<{ name: string; error: string }> };
}

export class ApprovePeerError extends Error {
  constructor(
    message: string,
    readonly step: string,
  ) {
    super(message);
    this.name = 'ApprovePeerError';
  }
}

async function ensureReciprocalFolder(d: ApprovePeerDeps, ds: string, type: P2pFolderType): Promise<ApprovedFolder> {
  const name = p2pFolderName({ version: SYFT_CLIENT_VERSION, datasite: ds, type, peer: d.me });
  const find = async (): Promise<P2pFolder['file'] | undefined> => {
    const found = (await d.drive.findP2pFolders({ datasite: ds, type, peer: d.me, owner: 'me' })).filter((f) => folderVersionCompatible(f.version));
    // Several compatible ones (another tool raced us): use the oldest, consistently.
    return found[0]?.file;
  };
  const r = await createOnce(find, () => d.drive.createFolder(name, d.rootId));
  const s = await d.drive.ensureShared(r.value.id, ds, 'writer', { sendNotificationEmail: true });
  return { id: r.value.id, name: r.value.name || name, created: r.created, shared: s.created };
}

async function shareVersionFile(d: ApprovePeerDeps, ds: string): Promise<OwnVersionFile & { shared: boolean }> {
  let v = d.ownVersion ?? (await ensureOwnVersionFile(d.drive, d.rootId, d.clock));
  const share = async () => (await d.drive.ensureShared(v.fileId, ds, 'reader' as ShareRole, { sendNotificationEmail: true })).created;
  try {
    return { ...v, shared: await share() };
  } catch (e) {
    // The remembered file was deleted meanwhile: make it again.
    if (!(d.ownVersion && e instanceof GoogleApiError && e.status === 404)) throw e;
    v = await ensureOwnVersionFile(d.drive, d.rootId, d.clock);
    return { ...v, shared: await share() };
  }
}

export async function approvePeer(d: ApprovePeerDeps, ds: string): Promise<ApprovePeerResult> {
  const step = async <T>(what: string, fn: () => Promise<T> | T): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      throw new ApprovePeerError(`approving peer ${ds}: ${what}: ${(e as Error).message}`, what);
    }
  };
  const inbox = await step('inbox folder', () => ensureReciprocalFolder(d, ds, 'inbox'));
  const outbox = await step('outbox folder', () => ensureReciprocalFolder(d, ds, 'outbox'));
  const versionFile = await step('SYFT_version.json', () => shareVersionFile(d, ds));
  const permissionFiles = await step('local syft.pub.yaml', () => {
    const r = setupPeerJobFolders(d.root, d.me, ds);
    if (!r.ok) throw new Error(r.problem.message);
    return r.edits.map((e) => (e.ok ? e.file : ''));
  });
  const pf = await step('SYFT_peers.json', () => setPeerStateRemote(d.drive, d.rootId, ds, 'accepted'));
  const datasets: ApprovePeerResult['datasets'] = { shared: [], missing: [], failed: [] };
  try {
    const sel = selectDatasetsToShare(await d.drive.listOwnDatasetCollections(d.rootId), d.autoShareDatasets ?? []);
    datasets.missing = sel.missing;
    for (const s of sel.share) {
      try {
        await d.drive.ensureShared(s.file.id, ds, 'reader', { sendNotificationEmail: true });
        datasets.shared.push(s.tag);
      } catch (e) {
        datasets.failed.push({ name: s.tag, error: (e as Error).message });
      }
    }
  } catch (e) {
    datasets.failed.push({ name: '*', error: `listing dataset collections: ${(e as Error).message}` });
  }
  return { peer: ds, inbox, outbox, versionFile, permissionFiles, peersFile: { fileId: pf.fileId, writes: pf.writes, data: pf.data }, datasets };
}
