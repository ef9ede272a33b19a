/**
 * The data owner sync engine: one cycle of `SyftboxManager.sync()` for the DO role (protocol §3.7), in Node, under
 * `<root>/.sync.lock` so it takes turns with the Python clients on the same SyftBox folder:
 *
 * 0. resume the journal (work a previous cycle or process decided on but did not finish);
 * 1. the cycle's one idle Drive call (safety.ts): normally poll Drive's change feed (one `changes.list`) to learn
 *    which peers' inboxes changed; when the periodic inbox rescan is due (every `fullRescanMs`), one step of it
 *    instead (one peer's inbox marked for listing); or nothing, when the caller spent the call on its own check;
 * 2. publish local changes (new `state.yaml`, logs, outputs) as events to the peers that may read them;
 * 3. for each compatible approved peer whose inbox changed (or is new, or on token loss, or in a rescan step),
 *    pull its proposals in timestamp order; a bad one is quarantined and the next one goes on;
 * 4. finish uploads and commit (owner_file_hashes.json, rolling state) in journal order;
 * 5. compact every peer outbox holding 20 of our messages (outbox-compaction.ts);
 * 6. upload the rolling state; an incremental checkpoint at 50 events; a full checkpoint after 4 incrementals
 *    (checkpoint-compaction.ts).
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
import { INBOX_RESCAN, POLL, SafetyRota } from './safety';
import { loadRollingState, maybeCheckpoint, uploadRollingState } from './state-log';
import { maybeCompactCheckpoints } from './checkpoint-compaction';
import { compactOutboxesIfNeeded } from './outbox-compaction';

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
  /**
   * The idle-call scheduler shared with the caller's own safety checks (the approve service's peer and version
   * checks); the engine registers its inbox rescan in it. Default: a private one.
   */
  rota?: SafetyRota;
}

export interface CycleOptions {
  /**
   * Whose turn this cycle's idle Drive call is, as {@link SafetyRota.turn} said: `poll` (the change feed),
   * `inbox-rescan` (one step of the periodic rescan), or anything else (the caller spent the call: no feed poll).
   * Default: the engine asks its rota itself.
   */
  turn?: string;
}

export interface OwnerSync {
  readonly paths: OwnerPaths;
  /** One cycle with these compatible approved peers. Cycles never overlap (a second call waits for the first). */
  cycle(peers: readonly string[], opts?: CycleOptions): Promise<CycleResult>;
  /** The idle-call scheduler (shared, or the engine's own). */
  readonly rota: SafetyRota;
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
  const rota = deps.rota ?? new SafetyRota();
  // The first round comes one period after the last one recorded in engine.json (restored at the first cycle).
  rota.register(INBOX_RESCAN, opts.fullRescanMs, now());
  let restored = false;
  /** Peers still to list in the rescan round under way. */
  let rescanTodo: string[] | undefined;

  const run = async (peers: readonly string[], cycleOpts: CycleOptions): Promise<CycleResult> => {
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
      await runLocked(peers, result, cycleOpts);
    } catch (e) {
      // Nothing half-done is lost (the journal and the engine state are on disk); the next cycle goes on.
      result.errors.push({ stage: 'cycle', message: (e as Error).message });
      deps.log.error({ err: e }, `sync cycle failed: ${(e as Error).message}`);
    } finally {
      await lock.release();
    }
    return result;
  };

  const runLocked = async (peersIn: readonly string[], result: CycleResult, cycleOpts: CycleOptions) => {
    const peers = [...new Set(peersIn.filter((p) => p !== deps.me))];
    const state = store.loadEngine();
    if (!restored) {
      restored = true;
      if (state.lastFullScanMs !== undefined) rota.restore(INBOX_RESCAN, state.lastFullScanMs);
    }
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
    // New peers (a fresh approval) are listed at once: change-driven, not budget-limited.
    for (const p of peers) if (!state.peers[p]) state.peers[p] = { dirty: true };
    let turn = cycleOpts.turn ?? rota.turn(now());
    if (turn === INBOX_RESCAN) {
      if (rescanTodo === undefined || !rota.inProgress(INBOX_RESCAN)) {
        rescanTodo = [...peers];
        state.lastFullScanMs = now();
      }
      const next = rescanTodo.filter((p) => peers.includes(p)).shift();
      rescanTodo = rescanTodo.filter((p) => p !== next && peers.includes(p));
      if (rescanTodo.length === 0) {
        rota.stepped(INBOX_RESCAN, true);
        rescanTodo = undefined;
      }
      if (next === undefined) {
        // Nothing to list (no peers): the call goes to the change feed after all.
        rota.unused(INBOX_RESCAN);
        turn = POLL;
      } else {
        state.peers[next] = { ...state.peers[next], dirty: true };
        result.idleCall = 'inbox-rescan';
        store.saveEngine(state);
      }
    }
    if (turn === POLL) {
      result.idleCall = 'poll';
      await step('poll changes', () => markDirtyPeers(ctx));
      if (result.reset !== undefined) {
        // Every inbox is listed this cycle: that is a full rescan.
        rota.covered(INBOX_RESCAN, now());
        rescanTodo = undefined;
      }
    }
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
    await step('outbox compaction', () => compactOutboxesIfNeeded(ctx));
    await step('rolling state', () => uploadRollingState(ctx));
    await step('checkpoint', async () => {
      const cp = await maybeCheckpoint(ctx);
      if (cp) result.checkpoint = cp;
      await commitReady(ctx);
    });
    await step('checkpoint compaction', async () => {
      const full = await maybeCompactCheckpoints(ctx);
      if (full) result.fullCheckpoint = full;
    });
    result.pending = ctx.pending.length;
    store.saveEngine(state);
    store.saveStatCache(ctx.statCache);
  };

  return {
    paths,
    rota,
    cycle(peers, cycleOpts = {}) {
      if (closed) return Promise.reject(new Error('owner sync is closed'));
      const p = chain.then(() => run(peers, cycleOpts));
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
 * this point still lists them): changes under a known inbox, a peer folder about us created or changed, or a lost
 * token (every inbox). The periodic rescan is not here: it is spread over idle cycles (see `cycle`).
 */
async function markDirtyPeers(ctx: Ctx): Promise<void> {
  const { state, peers } = ctx;
  const poll = await pollChanges(ctx.drive, state.pageToken);
  ctx.result.feed = poll.kind === 'reset' ? { reset: true, names: [] } : { reset: false, names: [...poll.summary.names] };
  const dirty = (p: string) => {
    state.peers[p] = { ...state.peers[p], dirty: true };
  };
  if (poll.kind === 'reset') {
    ctx.result.reset = poll.reason;
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
  state.pageToken = poll.token;
  ctx.store.saveEngine(state);
}
