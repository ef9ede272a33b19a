/**
 * The data owner sync engine: one cycle of `SyftboxManager.sync()` for the DO role (protocol §3.7), in Node, under
 * `<root>/.sync.lock` so it takes turns with the Python clients on the same SyftBox folder:
 *
 * 0. resume the journal (work a previous cycle or process decided on but did not finish);
 * 1. poll Drive's change feed (one `changes.list`) to learn which peers' inboxes changed;
 * 2. publish local changes (new `state.yaml`, logs, outputs) as events to the peers that may read them;
 * 3. for each compatible approved peer whose inbox changed (or on startup / token loss / every `fullRescanMs`),
 *    pull its proposals in timestamp order; a bad one is quarantined and the next one goes on;
 * 4. finish uploads and commit (owner_file_hashes.json, rolling state) in journal order;
 * 5. upload the rolling state; an incremental checkpoint at 50 events.
 *
 * The list of compatible approved peers is an input (the approve service knows the peers and their versions).
 */
import { datasiteDir } from '../datasite/paths';
import type { DriveApi } from '../google/drive';
import { TimestampClock } from './codec/names';
import { parseP2pFolderName } from '../google/drive';
import { pollChanges } from './change-poller';
import { DEFAULT_OPTIONS, emptyResult, type Ctx, type CycleResult, type OwnerSyncOptions, type SyncHooks, type SyncLog } from './context';
import { commitReady, drain, recomputeEffective } from './deliver';
import { DriveFolders } from './folders';
import { Journal } from './journal';
import { acquireSyncLock, LockTimeoutError } from './lock';
import { OwnerStore, ownerPaths, type OwnerPaths } from './owner-state';
import { publishLocalChanges } from './publish';
import { pullPeer } from './pull';
import { loadRollingState, maybeCheckpoint, uploadRollingState } from './state-log';

export interface OwnerSyncDeps {
  drive: DriveApi;
  /** The data owner's e-mail (the datasite `<root>/<me>/`). */
  me: string;
  /** The SyftBox folder (`~/SyftBox_<me>`). */
  root: string;
  /** The syft-bg home (`~/.syft-bg`): the engine keeps its state in `<homeDir>/sync/owner-<me>/`. */
  homeDir: string;
  log: SyncLog;
  /** ms clock (default Date.now). */
  now?: () => number;
  options?: Partial<OwnerSyncOptions>;
  /** Test seams (simulated crashes). */
  hooks?: SyncHooks;
}

export interface OwnerSync {
  readonly paths: OwnerPaths;
  /** One cycle with these compatible approved peers. Cycles never overlap (a second call waits for the first). */
  cycle(peers: readonly string[]): Promise<CycleResult>;
  /** Wait for a running cycle; later `cycle` calls are refused. */
  close(): Promise<void>;
}

export function createOwnerSync(deps: OwnerSyncDeps): OwnerSync {
  datasiteDir(deps.root, deps.me); // validates the e-mail as a folder name
  const paths = ownerPaths(deps.root, deps.me, deps.homeDir);
  const now = deps.now ?? Date.now;
  const opts: OwnerSyncOptions = { ...DEFAULT_OPTIONS, ...(deps.options ?? {}) };
  const clock = new TimestampClock();
  const store = new OwnerStore(paths, (msg) => deps.log.warn({}, msg));
  let chain: Promise<unknown> = Promise.resolve();
  let closed = false;

  const run = async (peers: readonly string[]): Promise<CycleResult> => {
    const result = emptyResult();
    let lock;
    try {
      lock = await acquireSyncLock(deps.root, { timeoutMs: opts.lockTimeoutMs });
    } catch (e) {
      if (!(e instanceof LockTimeoutError)) throw e;
      deps.log.warn({ lock: e.file }, `sync skipped: ${e.message}`);
      result.locked = false;
      return result;
    }
    try {
      await runLocked(peers, result);
    } catch (e) {
      // Nothing half-done is lost (the journal and the engine state are on disk); the next cycle goes on.
      result.errors.push({ stage: 'cycle', message: (e as Error).message });
      deps.log.error({ err: e }, `sync cycle failed: ${(e as Error).message}`);
    } finally {
      await lock.release();
    }
    return result;
  };

  const runLocked = async (peersIn: readonly string[], result: CycleResult) => {
    const peers = [...new Set(peersIn.filter((p) => p !== deps.me))];
    const state = store.loadEngine();
    const journal = new Journal(paths.journalDir);
    const pending = journal.load((file, err) => deps.log.error({ file }, `journal entry ${file} is unreadable (${err.message}); set aside as .corrupt`));
    const published = await store.readHashes();
    const ctx: Ctx = {
      drive: deps.drive,
      me: deps.me,
      log: deps.log,
      now,
      clock,
      opts,
      hooks: deps.hooks ?? {},
      store,
      journal,
      folders: new DriveFolders(deps.drive, deps.me, state.folderIds),
      state,
      statCache: store.loadStatCache(),
      published,
      effective: new Map(),
      pending,
      rolling: undefined as never,
      peers,
      result,
    };
    recomputeEffective(ctx);
    const step = async (stage: string, fn: () => Promise<unknown>, peer?: string) => {
      try {
        await fn();
      } catch (e) {
        result.errors.push({ stage, message: (e as Error).message, ...(peer ? { peer } : {}) });
        deps.log.error({ stage, peer, err: e }, `${stage}${peer ? ` (${peer})` : ''} failed: ${(e as Error).message}`);
      }
    };

    ctx.rolling = await loadRollingState(ctx);
    if (pending.length > 0) await step('resume journal', () => drain(ctx));
    await step('poll changes', () => markDirtyPeers(ctx));
    await step('publish local changes', () => publishLocalChanges(ctx));
    for (const peer of peers) {
      const track = (state.peers[peer] ??= { dirty: true });
      if (!track.dirty) continue;
      await step(
        'pull proposals',
        async () => {
          const found = await pullPeer(ctx, peer);
          if (found) delete track.missingSince;
          else {
            track.missingSince = now();
            deps.log.warn({ peer }, `${peer} has no inbox folder for ${deps.me}; looking again at the next full rescan`);
          }
          track.dirty = false;
        },
        peer,
      );
      store.saveEngine(state);
    }
    await step('deliver', () => drain(ctx));
    await step('rolling state', () => uploadRollingState(ctx));
    await step('checkpoint', async () => {
      const cp = await maybeCheckpoint(ctx);
      if (cp) result.checkpoint = cp;
      await commitReady(ctx);
    });
    result.pending = ctx.pending.length;
    store.saveEngine(state);
    store.saveStatCache(ctx.statCache);
  };

  return {
    paths,
    cycle(peers) {
      if (closed) return Promise.reject(new Error('owner sync is closed'));
      const p = chain.then(() => run(peers));
      chain = p.catch(() => undefined);
      return p;
    },
    async close() {
      closed = true;
      await chain;
    },
  };
}

/**
 * Decide which peers' inboxes to list this cycle (persisted together with the new page token, so a crash after
 * this point still lists them): changes under a known inbox, a peer folder about us created or changed, a new peer,
 * a lost token, or the periodic full rescan.
 */
async function markDirtyPeers(ctx: Ctx): Promise<void> {
  const { state, peers } = ctx;
  const poll = await pollChanges(ctx.drive, state.pageToken);
  ctx.result.feed = poll.kind === 'reset' ? { reset: true, names: [] } : { reset: false, names: [...poll.summary.names] };
  const dirty = (p: string) => {
    state.peers[p] = { ...state.peers[p], dirty: true };
  };
  const periodic = state.lastFullScanMs === undefined || ctx.now() - state.lastFullScanMs >= ctx.opts.fullRescanMs;
  if (poll.kind === 'reset' || periodic) {
    if (poll.kind === 'reset') ctx.result.reset = poll.reason;
    for (const p of peers) dirty(p);
    state.lastFullScanMs = ctx.now();
  } else {
    const byFolder = new Map<string, string>();
    for (const [key, id] of Object.entries(state.folderIds)) if (id) byFolder.set(id, key);
    for (const parent of poll.summary.touchedParents) {
      const key = byFolder.get(parent);
      if (key?.startsWith('inbox:')) dirty(key.slice('inbox:'.length));
    }
    for (const id of poll.summary.gone) {
      const key = byFolder.get(id);
      if (!key) continue;
      delete state.folderIds[key];
      if (key.startsWith('inbox:')) dirty(key.slice('inbox:'.length));
    }
    for (const f of poll.summary.folders) {
      const n = parseP2pFolderName(f.name);
      if (!n || n.datasite !== ctx.me || !peers.includes(n.peer)) continue;
      // A peer (re)created or renamed one of its folders for us: look it up again.
      delete state.folderIds[`${n.type}:${n.peer}`];
      if (n.type === 'inbox') dirty(n.peer);
    }
  }
  for (const p of peers) if (!state.peers[p]) dirty(p);
  state.pageToken = poll.token;
  ctx.store.saveEngine(state);
}
