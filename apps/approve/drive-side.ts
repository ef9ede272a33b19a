/**
 * The approve service's Drive side (issue 5, transports.syftbox: drive): a loop of **Drive cycles**, on its own
 * schedule next to the local approve engine.
 *
 * One Drive cycle:
 * 1. a full peer pass (requests → policy → approval, lib/peers) when change-driven work wants one: at start, when
 *    the previous cycle's change feed showed a request folder about our datasite or a `SYFT_peers.json` /
 *    `SYFT_version.json` change, after a failed pass;
 * 2. the compatible approved peers (`accepted` in our peers file, version verdict of §2.7) are read again in full
 *    when wanted: at start, after an approval, on a peers/version file change, after a failed version read;
 * 3. the cycle's one idle Drive call (lib/sync/safety.ts, one {@link SafetyRota} shared with the engine): normally
 *    the engine's `changes.list`; when a periodic safety check is due, one step of it instead — the periodic peer
 *    pass (`peerFallbackMs`, default 5 min: the request listing only, unless it changed), one step of the
 *    compatibility re-check (`compatFallbackMs`, default 30 min: the peers file's metadata, then one peer's version
 *    file metadata per step), or one inbox listing of the engine's rescan (its `fullRescanMs`, 15 min). Never two
 *    steps in a row: the skipped `changes.list` happens at the next cycle;
 * 4. `ownerSync.cycle(peers, {turn})`: pull proposals into the datasite (the engine's fs watchers wake it), publish
 *    local changes (states, logs, outputs) to the peers that may read them.
 *
 * An idle cycle is therefore exactly one Drive call whatever the number of peers and whichever checks are due.
 * Cycles run every `intervalMs` (sync.interval) and also `debounceMs` after {@link DriveSide.kick} (the engine or
 * the runner changed the datasite, so results reach the data scientist quickly). Cycles never overlap. Drive errors
 * are logged and the next cycle tries again; a refused token (see drive-auth.ts) ends the loop through `onFatal`.
 */
import type { DriveApi } from '../../lib/google/drive';
import type { VersionPolicy } from '../../lib/peers/compat';
import type { PeerPassResult } from '../../lib/peers/peer-pass';
import type { CycleResult } from '../../lib/sync/context';
import { SafetyRota } from '../../lib/sync/safety';
import { feedWants, PeerCompatReader, type PeerCompat } from './drive-peers';

/** The safety checks of the approve service's Drive side (ids in the shared {@link SafetyRota}). */
export const PEER_CHECK = 'peer-requests';
export const COMPAT_CHECK = 'peer-compat';

export interface DriveSideLogger {
  debug?(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface DriveSideDeps {
  /** Drive as the data owner (wrapped by watchAuth: `authFailure` is reported through it). */
  drive: DriveApi;
  me: string;
  peers: { run(opts?: { periodic?: boolean }): Promise<PeerPassResult> };
  sync: { cycle(peers: readonly string[], opts?: { turn?: string }): Promise<CycleResult>; readonly rota?: SafetyRota };
  /** The idle-call scheduler shared with the engine (default: the engine's, else a new one). */
  rota?: SafetyRota;
  policy: VersionPolicy;
  intervalMs: number;
  debounceMs?: number;
  peerFallbackMs?: number;
  compatFallbackMs?: number;
  logger: DriveSideLogger;
  signal: AbortSignal;
  now?: () => number;
  /** Called when a refused token ends the loop. */
  onFatal(e: unknown): void;
  /** After each cycle (status, tests). */
  onCycle?(info: DriveCycleInfo): void;
}

export interface DriveCycleInfo {
  ms: number;
  peerPass?: { reason: string; result: PeerPassResult };
  compat?: { reason: string; peers: PeerCompat[] };
  /** Whose turn the cycle's idle Drive call was (`poll`, or a safety check id). */
  turn?: string;
  /** The compatible approved peers synced in this cycle. */
  synced: string[];
  sync?: CycleResult;
  error?: string;
}

export class DriveSide {
  private readonly now: () => number;
  private readonly debounceMs: number;
  private readonly peerFallbackMs: number;
  private readonly compatFallbackMs: number;
  private wantPeerPass: string | undefined = 'start';
  private wantCompat: string | undefined = 'start';
  private rootId: string | undefined;
  readonly rota: SafetyRota;
  private readonly reader: PeerCompatReader;
  private compat: PeerCompat[] = [];
  private verdicts = new Map<string, string>();
  private kickTimer: NodeJS.Timeout | undefined;
  private kickPending = false;
  private wake: (() => void) | undefined;
  private fatal: unknown;
  private cycles = 0;

  constructor(private readonly d: DriveSideDeps) {
    this.now = d.now ?? Date.now;
    this.debounceMs = d.debounceMs ?? 200;
    this.peerFallbackMs = d.peerFallbackMs ?? 5 * 60_000;
    this.compatFallbackMs = d.compatFallbackMs ?? 30 * 60_000;
    this.rota = d.rota ?? d.sync.rota ?? new SafetyRota();
    this.rota.register(PEER_CHECK, this.peerFallbackMs, this.now());
    this.rota.register(COMPAT_CHECK, this.compatFallbackMs, this.now());
    this.reader = new PeerCompatReader(d.drive, d.me, d.policy);
  }

  /** The datasite changed (or peers may have): run a cycle `debounceMs` from now (bursts coalesce). */
  kick(): void {
    this.kickPending = true;
    if (this.kickTimer || this.d.signal.aborted) return;
    this.kickTimer = setTimeout(() => {
      this.kickTimer = undefined;
      this.wake?.();
    }, this.debounceMs);
  }

  /** A token failure seen by the auth watch: the loop ends after the current step. */
  authFailure(e: unknown): void {
    this.fatal ??= e;
  }

  /** The peers synced in the last cycle (compatible approved peers). */
  get syncedPeers(): string[] {
    return this.compat.filter((p) => p.proceed).map((p) => p.email);
  }

  get cycleCount(): number {
    return this.cycles;
  }

  /** Run cycles until the signal aborts (or a refused token). Never throws. */
  async run(): Promise<void> {
    const { signal } = this.d;
    try {
      while (!signal.aborted) {
        const t0 = this.now();
        this.kickPending = false;
        await this.cycle();
        if (this.fatal !== undefined) {
          this.d.onFatal(this.fatal);
          return;
        }
        if (signal.aborted) break;
        if (this.kickPending && !this.kickTimer) continue;
        const wait = Math.max(0, t0 + this.d.intervalMs - this.now());
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            signal.removeEventListener('abort', done);
            this.wake = undefined;
            resolve();
          };
          const timer = setTimeout(done, wait);
          signal.addEventListener('abort', done);
          this.wake = done;
        });
      }
    } finally {
      if (this.kickTimer) clearTimeout(this.kickTimer);
      this.kickTimer = undefined;
    }
  }

  /** One Drive cycle (exposed for tests). Never throws. */
  async cycle(): Promise<DriveCycleInfo> {
    const t0 = this.now();
    const info: DriveCycleInfo = { ms: 0, synced: [] };
    try {
      await this.runCycle(info);
    } catch (e) {
      info.error = (e as Error)?.message ?? String(e);
      this.d.logger.error({ err: e }, `Drive cycle failed: ${info.error}`);
    }
    this.cycles++;
    info.ms = this.now() - t0;
    this.d.onCycle?.(info);
    return info;
  }

  private async runCycle(info: DriveCycleInfo): Promise<void> {
    const { logger } = this.d;
    if (this.wantPeerPass !== undefined) {
      const reason = this.wantPeerPass;
      this.wantPeerPass = undefined;
      const result = await this.d.peers.run();
      this.rota.covered(PEER_CHECK, this.now());
      this.afterPeerPass(info, reason, result);
      if (this.fatal !== undefined) return;
    }

    if (this.wantCompat !== undefined) {
      const reason = this.wantCompat;
      try {
        this.rootId ??= (await this.d.drive.findSyftBoxRoot())?.id;
        const loaded = await this.reader.full(this.rootId);
        this.compat = loaded.peers;
        this.rota.covered(COMPAT_CHECK, this.now());
        this.wantCompat = loaded.failed.length > 0 ? 'a peer version could not be read' : undefined;
        for (const f of loaded.failed) logger.warn({ peer: f.email }, `could not read ${f.email}'s SYFT_version.json (trying again next cycle): ${f.error}`);
        info.compat = { reason, peers: loaded.peers };
        this.logVerdicts(loaded.peers);
      } catch (e) {
        if (this.fatal !== undefined) return;
        logger.error({ err: e }, `could not read the approved peers (SYFT_peers.json); syncing with the last known ones: ${(e as Error).message}`);
      }
    }

    // The one idle Drive call of this cycle.
    const turn = this.rota.turn(this.now());
    info.turn = turn;
    if (turn === PEER_CHECK) {
      const result = await this.d.peers.run({ periodic: true });
      this.rota.stepped(PEER_CHECK, true);
      this.afterPeerPass(info, 'periodic check', result);
      if (this.fatal !== undefined) return;
    } else if (turn === COMPAT_CHECK) {
      await this.compatStep(info);
      if (this.fatal !== undefined) return;
    }
    const peers = this.syncedPeers;
    info.synced = peers;
    const r = await this.d.sync.cycle(peers, { turn: turn === PEER_CHECK || turn === COMPAT_CHECK ? 'none' : turn });
    info.sync = r;
    if (this.fatal !== undefined) return;
    const wants = feedWants(r.feed, this.d.me);
    let soon = false;
    if (wants.peerPass !== undefined && this.wantPeerPass === undefined) {
      this.wantPeerPass = wants.peerPass;
      soon = true;
    }
    if (wants.compat !== undefined && this.wantCompat === undefined) {
      this.wantCompat = wants.compat;
      soon = true;
    }
    // Peers may have changed: look now rather than one interval later (our own writes show up once, then stop).
    if (soon) this.kick();
    const p = r.proposals;
    if (p.applied || p.quarantined || p.archivedWithoutChanges || r.published.events || r.published.resends) {
      logger.info(
        { peers: peers.length, proposals: p, published: r.published, uploads: r.uploads, pending: r.pending, errors: r.errors.length },
        `Drive sync: ${p.applied} proposal(s) applied, ${p.quarantined} quarantined, ${r.published.events} event(s) published to ${r.published.messages} message(s)`,
      );
    }
    if (!r.locked) logger.warn({}, 'Drive sync skipped: another process holds the SyftBox .sync.lock');
  }

  private afterPeerPass(info: DriveCycleInfo, reason: string, result: PeerPassResult): void {
    info.peerPass = { reason, result };
    if (this.fatal !== undefined) return;
    // PeerPass logs its own decisions and errors; a failed pass is tried again at the next cycle.
    if (result.error) this.wantPeerPass = 'previous peer pass failed';
    if (result.approved.length > 0) this.wantCompat = `approved ${result.approved.map((a) => a.email).join(', ')}`;
    this.d.logger.debug?.({ reason, folders: result.folders, requests: result.requests, approved: result.approved.length, idle: result.idle }, 'peer pass');
  }

  /** One step of the periodic compatibility re-check (one Drive call; a download when a file changed). */
  private async compatStep(info: DriveCycleInfo): Promise<void> {
    try {
      if (this.rootId === undefined) {
        // No SyftBox folder on Drive at the last look: looking again is this step.
        this.rootId = (await this.d.drive.findSyftBoxRoot())?.id;
        this.rota.stepped(COMPAT_CHECK, this.rootId === undefined);
        return;
      }
      const st = await this.reader.step(this.rootId);
      this.rota.stepped(COMPAT_CHECK, st.finished);
      if (st.failed) {
        this.d.logger.warn({ peer: st.failed.email }, `could not read ${st.failed.email}'s SYFT_version.json (trying again next cycle): ${st.failed.error}`);
        this.wantCompat ??= 'a peer version could not be read';
      }
      if (st.changed?.startsWith('SYFT_peers.json')) this.wantCompat ??= st.changed;
      else if (st.changed !== undefined || st.finished) {
        this.compat = this.reader.judge();
        this.logVerdicts(this.compat);
        info.compat = { reason: st.changed ?? 'periodic check', peers: this.compat };
      }
    } catch (e) {
      if (this.fatal !== undefined) return;
      this.d.logger.error({ err: e }, `periodic check of the approved peers failed (trying again): ${(e as Error).message}`);
    }
  }

  /** Log each peer's sync verdict when it is new or changed. */
  private logVerdicts(peers: readonly PeerCompat[]): void {
    const seen = new Set<string>();
    for (const p of peers) {
      seen.add(p.email);
      const sig = `${p.proceed}|${p.status}|${p.version}`;
      if (this.verdicts.get(p.email) === sig) continue;
      this.verdicts.set(p.email, sig);
      if (p.proceed) this.d.logger.info({ peer: p.email, version: p.version, compatibility: p.status }, `Syncing with ${p.email} (${p.reason})`);
      else this.d.logger.warn({ peer: p.email, version: p.version, compatibility: p.status }, `Not syncing with ${p.email}: ${p.reason}`);
    }
    for (const email of [...this.verdicts.keys()]) if (!seen.has(email)) this.verdicts.delete(email);
  }
}

/**
 * A logger that says the same warning or error at most once per `windowMs` (a network outage must not write one
 * identical line per cycle); the number of repeats held back is added to the next one that goes through.
 */
export function throttledLogger<L extends DriveSideLogger>(logger: L, windowMs = 60_000, now: () => number = Date.now): DriveSideLogger {
  const last = new Map<string, { at: number; held: number }>();
  const gate = (level: 'warn' | 'error') => (obj: object, msg: string) => {
    const t = now();
    const k = `${level}\u0000${msg}`;
    const prev = last.get(k);
    if (prev && t - prev.at < windowMs) {
      prev.held++;
      return;
    }
    if (last.size > 500) last.clear();
    last.set(k, { at: t, held: 0 });
    logger[level](prev?.held ? { ...obj, repeated: prev.held } : obj, msg);
  };
  return {
    debug: (o, m) => logger.debug?.(o, m),
    info: (o, m) => logger.info(o, m),
    warn: gate('warn'),
    error: gate('error'),
  };
}
