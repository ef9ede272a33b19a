/**
 * The approve service's Drive side (issue 5, transports.syftbox: drive): a loop of **Drive cycles**, on its own
 * schedule next to the local approve engine.
 *
 * One Drive cycle:
 * 1. a peer pass (requests → policy → approval, lib/peers) when one is wanted: at start, when the previous cycle's
 *    change feed showed a request folder about our datasite or a `SYFT_peers.json` / `SYFT_version.json` change,
 *    after a failed pass, and every `peerFallbackMs` (default 5 min) whatever the feed said;
 * 2. the compatible approved peers (`accepted` in our peers file, version verdict of §2.7) are computed again when
 *    wanted: at start, after an approval, on a peers/version file change, after a failed version read, and every
 *    `compatFallbackMs` (default 30 min);
 * 3. `ownerSync.cycle(peers)`: pull proposals into the datasite (the engine's fs watchers wake it), publish local
 *    changes (states, logs, outputs) to the peers that may read them.
 *
 * An idle cycle is therefore one Drive call (`changes.list`) whatever the number of peers. Cycles run every
 * `intervalMs` (sync.interval) and also `debounceMs` after {@link DriveSide.kick} (the engine or the runner changed
 * the datasite, so results reach the data scientist quickly). Cycles never overlap. Drive errors are logged and the
 * next cycle tries again; a refused token (see drive-auth.ts) ends the loop through `onFatal`.
 */
import type { DriveApi } from '../../lib/google/drive';
import type { VersionPolicy } from '../../lib/peers/compat';
import type { PeerPassResult } from '../../lib/peers/peer-pass';
import type { CycleResult } from '../../lib/sync/context';
import { feedWants, loadPeerCompat, type PeerCompat } from './drive-peers';

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
  peers: { run(): Promise<PeerPassResult> };
  sync: { cycle(peers: readonly string[]): Promise<CycleResult> };
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
  private lastPeerPass = -Infinity;
  private lastCompat = -Infinity;
  private rootId: string | undefined;
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
    if (this.now() - this.lastPeerPass >= this.peerFallbackMs) this.wantPeerPass ??= 'periodic check';
    if (this.wantPeerPass !== undefined) {
      const reason = this.wantPeerPass;
      this.wantPeerPass = undefined;
      const result = await this.d.peers.run();
      this.lastPeerPass = this.now();
      info.peerPass = { reason, result };
      if (this.fatal !== undefined) return;
      // PeerPass logs its own decisions and errors; a failed pass is tried again at the next cycle.
      if (result.error) this.wantPeerPass = 'previous peer pass failed';
      if (result.approved.length > 0) this.wantCompat = `approved ${result.approved.map((a) => a.email).join(', ')}`;
      logger.debug?.({ reason, folders: result.folders, requests: result.requests, approved: result.approved.length, idle: result.idle }, 'peer pass');
    }

    if (this.now() - this.lastCompat >= this.compatFallbackMs) this.wantCompat ??= 'periodic check';
    if (this.wantCompat !== undefined) {
      const reason = this.wantCompat;
      try {
        this.rootId ??= (await this.d.drive.findSyftBoxRoot())?.id;
        const loaded = await loadPeerCompat(this.d.drive, this.rootId, this.d.me, this.d.policy);
        this.compat = loaded.peers;
        this.lastCompat = this.now();
        this.wantCompat = loaded.failed.length > 0 ? 'a peer version could not be read' : undefined;
        for (const f of loaded.failed) logger.warn({ peer: f.email }, `could not read ${f.email}'s SYFT_version.json (trying again next cycle): ${f.error}`);
        info.compat = { reason, peers: loaded.peers };
        this.logVerdicts(loaded.peers);
      } catch (e) {
        if (this.fatal !== undefined) return;
        logger.error({ err: e }, `could not read the approved peers (SYFT_peers.json); syncing with the last known ones: ${(e as Error).message}`);
      }
    }

    const peers = this.syncedPeers;
    info.synced = peers;
    const r = await this.d.sync.cycle(peers);
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
