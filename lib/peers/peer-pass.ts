/**
 * One peer pass of the approve service (Python's `PeerApprovalHandler`, syft-bg-reference §6.3, made safe):
 * list the peer requests on Drive (all pages), refuse folders that cannot be genuine, decide each pending request
 * with the policy, check the peer's version (§2.7 table), approve as §2.5, audit every decision once (again only
 * when it changes), and record approvals in `approve/state.json` as Python does.
 *
 * All I/O is injected. Keep one {@link PeerPass} for the life of the service: it remembers the SyftBox folder id,
 * the last `SYFT_peers.json` it read (re-downloaded only when Drive's modifiedTime changes) and the decisions
 * already audited. An idle pass (no new or changed request) costs one `files.list` (two when a pending request
 * is waiting on the policy: the peers file's metadata is checked); a `periodic` pass whose listing and policy inputs
 * did not change always costs exactly one (the approve service's idle budget, lib/sync/safety.ts).
 *
 * Wiring (approve service):
 *
 *     const peers = new PeerPass({ drive, me: id.email, root: id.root, config: () => loaded.config.approve,
 *       objects: () => objects().objects, audit, state, logger });
 *     // every cycle:
 *     const r = await peers.run();   // never throws for Drive errors: see r.error / r.notApproved
 */
import type { DriveApi, DriveFile } from '../google/drive';
import { systemClock, formatPyTimestamp, type Clock } from '../datasite/time';
import { recordPeerApproval, type ApproveStateFile } from '../approve/state';
import type { DecisionRecord, PeerVerdict } from '../approve/audit';
import { peerVersionVerdict } from './compat';
import { approvePeer, type ApprovePeerResult } from './approve-peer';
import { peerStateOf, type PeersData } from './peers-file';
import { decidePeer, incompleteReason, isPending, objectPeerIndex, type ObjectsLike, type PeerPolicyConfig } from './policy';
import { readPeersFile, readPeerVersion, statPeersFile, refreshOwnVersionIfStale, createOnce, type OwnVersionFile } from './remote';
import { classifyPeerRequests, listingSignature, type RefusedFolder } from './requests';

/** The part of the resolved `approve` config a pass needs (`ApproveConfig` fits). */
export interface PeerPassConfig {
  peers: PeerPolicyConfig;
  skip_peer_on_patch_version_diff?: boolean | null;
  force_ignore_peer_version?: boolean;
}

export interface PeerPassLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface PeerPassDeps {
  drive: DriveApi;
  /** The data owner's e-mail address. */
  me: string;
  /** Local SyftBox root (the datasite is `<root>/<me>`). */
  root: string;
  /** The config, or a function returning the current one (re-read with config.yaml). */
  config: PeerPassConfig | (() => PeerPassConfig);
  /** Auto-approval objects (their `peers` are auto-approved as peers), or a function returning the current ones. */
  objects?: ObjectsLike | (() => ObjectsLike);
  audit: { append(rec: Omit<DecisionRecord, 'time'> & { time?: string }): unknown };
  state: { update(fn: (s: ApproveStateFile) => ApproveStateFile): void };
  /** Microseconds since the epoch (default: the system clock). */
  clock?: Clock;
  logger?: PeerPassLogger;
  /** Create `/SyftBox` on Drive when it is missing and a request is to be approved (default true). */
  createRoot?: boolean;
}

export interface PeerOutcome {
  email: string;
  verdict: PeerVerdict;
  reason: string;
  /** Audited in this pass (false: same decision as before, not repeated). */
  audited: boolean;
}

export interface PeerPassResult {
  /** Request folders seen (all, before classification). */
  folders: number;
  /** Distinct genuine requesters, pending or not. */
  requests: number;
  approved: Array<PeerOutcome & { detail: ApprovePeerResult }>;
  notApproved: PeerOutcome[];
  refused: PeerOutcome[];
  /** Errors that stopped the pass (listing failed, corrupt peers file…); per-peer failures are `notApproved`. */
  error?: string;
  /** Nothing changed since the last pass: only the listing was fetched. */
  idle: boolean;
}

export class PeerPass {
  private rootId: string | undefined;
  private ownVersion: OwnVersionFile | undefined;
  private peers: { stat: DriveFile | undefined; data: PeersData } | undefined;
  private lastListing: string | undefined;
  /** The policy inputs (config peers section, auto-approval objects' peers) of the last full pass. */
  private lastPolicy: string | undefined;
  private lastPending = 0;
  private versionChecked = false;
  /** email or folder key → signature of the last audited decision. */
  private readonly audited = new Map<string, string>();
  private readonly clock: Clock;

  constructor(private readonly d: PeerPassDeps) {
    this.clock = d.clock ?? systemClock;
  }

  private config(): PeerPassConfig {
    return typeof this.d.config === 'function' ? this.d.config() : this.d.config;
  }

  private objects(): ObjectsLike | undefined {
    return typeof this.d.objects === 'function' ? this.d.objects() : this.d.objects;
  }

  /** Audit unless the same decision was audited before for this key. */
  private record(key: string, rec: Omit<DecisionRecord, 'time' | 'datasite' | 'job' | 'kind'>): boolean {
    const sig = `${rec.verdict}\u0000${rec.reason ?? ''}`;
    if (this.audited.get(key) === sig) return false;
    this.audited.set(key, sig);
    this.d.audit.append({ kind: 'peer', datasite: this.d.me, job: '', ...rec, time: new Date(this.clock() / 1000).toISOString() });
    return true;
  }

  /**
   * Once per process: our remote `SYFT_version.json`, if it exists, is rewritten when it announces another
   * version than ours (protocol reference §7 #2: Python never refreshes it, and peers then judge us by a stale
   * version). A failure is logged and tried again on the next pass.
   */
  private async refreshOwnVersion(): Promise<void> {
    try {
      const rootId = await this.root(false);
      if (rootId) {
        const r = await refreshOwnVersionIfStale(this.d.drive, rootId, this.clock);
        if (r) {
          this.ownVersion = r;
          if (r.action === 'refreshed') this.d.logger?.info({ previous: r.previous ?? null }, `SYFT_version.json refreshed (it said ${r.previous ?? 'nothing readable'})`);
        }
      }
      this.versionChecked = true;
    } catch (e) {
      this.d.logger?.warn({ err: e }, `could not check our SYFT_version.json: ${(e as Error).message}`);
    }
  }

  private async root(create: boolean): Promise<string | undefined> {
    if (this.rootId) return this.rootId;
    const found = await this.d.drive.findSyftBoxRoot();
    if (found) return (this.rootId = found.id);
    if (!create || this.d.createRoot === false) return undefined;
    const r = await createOnce(async () => (await this.d.drive.findSyftBoxRoot())?.id, async () => (await this.d.drive.createFolder('SyftBox')).id);
    return (this.rootId = r.value);
  }

  /** Our peers file, re-downloaded only when its modifiedTime changed. */
  private async peersData(rootId: string): Promise<PeersData> {
    const stat = await statPeersFile(this.d.drive, rootId);
    if (this.peers && this.peers.stat?.id === stat?.id && this.peers.stat?.modifiedTime === stat?.modifiedTime) return this.peers.data;
    const r = await readPeersFile(this.d.drive, rootId, stat ?? null);
    this.peers = { stat, data: r.data };
    return r.data;
  }

  private policySignature(): string {
    return JSON.stringify([this.config().peers, [...objectPeerIndex(this.objects())].sort()]);
  }

  /**
   * One pass. `periodic` (the budgeted safety check of the approve service): when the request listing and the
   * policy inputs are the same as at the last pass, stop after the listing (one Drive call): nothing could be
   * decided differently (a peers or version file change comes through the change feed as a full pass).
   */
  async run(opts: { periodic?: boolean } = {}): Promise<PeerPassResult> {
    const d = this.d;
    const log = d.logger;
    const result: PeerPassResult = { folders: 0, requests: 0, approved: [], notApproved: [], refused: [], idle: false };
    const outcome = (email: string, verdict: PeerVerdict, reason: string, audited: boolean): PeerOutcome => ({ email, verdict, reason, audited });

    let folders;
    try {
      folders = await d.drive.listPeerRequests(d.me);
    } catch (e) {
      result.error = `listing peer requests: ${(e as Error).message}`;
      log?.error({ err: e }, result.error);
      return result;
    }
    result.folders = folders.length;
    const { requests, refused } = classifyPeerRequests(folders, d.me);
    result.requests = requests.length;

    // Refused folders: audited once per folder and reason, whatever the peers file says.
    const refusedBy = new Map<string, RefusedFolder[]>();
    for (const r of refused) {
      const k = `${r.email.toLowerCase()}\u0000${r.code}\u0000${r.owner}`;
      refusedBy.set(k, [...(refusedBy.get(k) ?? []), r]);
    }
    for (const group of refusedBy.values()) {
      const first = group[0]!;
      const reason = group.length === 1 ? first.reason : `${group.map((g) => g.reason).join('; ')}`;
      const audited = this.record(`refused:${group.map((g) => g.folder.file.id).sort().join(',')}`, {
        submitter: first.email,
        verdict: 'peer-refused',
        reason,
        code: first.code,
        owner: first.owner,
        folders: group.map((g) => g.folder.file.name),
      });
      if (audited) log?.warn({ peer: first.email, owner: first.owner, code: first.code }, `Refused peer request: ${reason}`);
      result.refused.push(outcome(first.email, 'peer-refused', reason, audited));
    }

    // Which genuine requests may still be pending? Without a peers file in memory, all of them.
    const cachedState = (email: string) => (this.peers ? peerStateOf(this.peers.data, email) : undefined);
    const maybePending = requests.filter((r) => isPending(cachedState(r.email)));
    const sig = listingSignature(folders);
    const policySig = this.policySignature();
    result.idle = sig === this.lastListing && maybePending.length === 0;
    if (opts.periodic && this.versionChecked && sig === this.lastListing && policySig === this.lastPolicy) {
      result.idle = true;
      return result;
    }
    if (!this.versionChecked) await this.refreshOwnVersion();
    if (maybePending.length === 0) {
      this.lastListing = sig;
      this.lastPolicy = policySig;
      this.lastPending = 0;
      return result;
    }

    let rootId: string | undefined;
    let data: PeersData = {};
    try {
      rootId = await this.root(false);
      if (rootId) data = await this.peersData(rootId);
      else this.peers = { stat: undefined, data: {} };
    } catch (e) {
      result.error = `reading SYFT_peers.json: ${(e as Error).message}`;
      log?.error({ err: e }, result.error);
      return result;
    }
    this.lastListing = sig;
    this.lastPolicy = policySig;

    const cfg = this.config();
    const index = objectPeerIndex(this.objects());
    const versionPolicy = { skipPeerOnPatchVersionDiff: cfg.skip_peer_on_patch_version_diff ?? null, forceIgnorePeerVersion: cfg.force_ignore_peer_version === true, hasDoRole: true };
    let pending = 0;

    for (const req of requests) {
      if (!isPending(peerStateOf(data, req.email))) continue;
      pending++;
      const key = `peer:${req.email.toLowerCase()}`;
      const notApproved = (reason: string, extra: Record<string, unknown> = {}) => {
        const audited = this.record(key, { submitter: req.email, verdict: 'peer-not-approved', reason, ...extra });
        if (audited) log?.info({ peer: req.email }, `Skipped peer: ${req.email} (${reason})`);
        result.notApproved.push(outcome(req.email, 'peer-not-approved', reason, audited));
      };
      const policy = decidePeer(req.email, cfg.peers, index);
      if (!policy.approve) {
        notApproved(policy.reason, { domain: policy.domain });
        continue;
      }
      const incomplete = incompleteReason(req);
      if (incomplete) {
        notApproved(incomplete, { domain: policy.domain });
        continue;
      }
      const via = { via: policy.via, domain: policy.domain, ...(policy.via === 'object' ? { objects: policy.objects } : {}) };
      let version;
      try {
        version = await readPeerVersion(d.drive, req.email);
      } catch (e) {
        notApproved(`could not read the peer's SYFT_version.json: ${(e as Error).message}`, via);
        continue;
      }
      const theirs = version.ok ? version.info.syft_client_version : undefined;
      const vv = peerVersionVerdict(theirs, versionPolicy);
      const versionInfo = { peer_version: theirs ?? null, compatibility: vv.status, ...(version.ok ? {} : { version_error: version.error }) };
      if (!vv.proceed) {
        if (vv.status === 'incompatible') {
          const reason = `peer ${req.email}: ${vv.reason}`;
          const audited = this.record(key, { submitter: req.email, verdict: 'peer-refused', reason, code: 'incompatible-version', ...via, ...versionInfo });
          if (audited) log?.warn({ peer: req.email }, `Refused peer request: ${reason}`);
          result.refused.push(outcome(req.email, 'peer-refused', reason, audited));
        } else {
          notApproved(vv.reason, { ...via, ...versionInfo });
        }
        continue;
      }
      try {
        rootId ??= await this.root(true);
        if (!rootId) throw new Error('no SyftBox folder on Drive');
        const detail = await approvePeer(
          { drive: d.drive, me: d.me, rootId, root: d.root, clock: this.clock, autoShareDatasets: cfg.peers.auto_share_datasets ?? [], ...(this.ownVersion ? { ownVersion: this.ownVersion } : {}) },
          req.email,
        );
        this.ownVersion = { fileId: detail.versionFile.fileId, action: 'kept' };
        // What we wrote (and read back); its modifiedTime is unknown, so a later pass with pending requests
        // downloads it once more.
        this.peers = { stat: undefined, data: detail.peersFile.data };
        data = detail.peersFile.data;
        const reason = policy.reason;
        const audited = this.record(key, {
          submitter: req.email,
          verdict: 'peer-approved',
          reason,
          ...via,
          ...versionInfo,
          folders: [detail.inbox.name, detail.outbox.name],
          created: [detail.inbox, detail.outbox].filter((f) => f.created).map((f) => f.name),
          datasets_shared: detail.datasets.shared,
          ...(detail.datasets.missing.length ? { datasets_missing: detail.datasets.missing } : {}),
          ...(detail.datasets.failed.length ? { datasets_failed: detail.datasets.failed } : {}),
        });
        const at = formatPyTimestamp(this.clock()).replace(/Z$/, '+00:00');
        d.state.update((s) => recordPeerApproval(s, req.email, policy.domain, at));
        log?.info({ peer: req.email, via: policy.via, datasets: detail.datasets.shared }, `Approved peer: ${req.email} (${reason})`);
        for (const f of detail.datasets.failed) log?.warn({ peer: req.email, dataset: f.name }, `Failed to share ${f.name}: ${f.error}`);
        result.approved.push({ ...outcome(req.email, 'peer-approved', reason, audited), detail });
        pending--;
      } catch (e) {
        const msg = `approval failed (will retry): ${(e as Error).message}`;
        log?.error({ peer: req.email, err: e }, `Failed to approve peer ${req.email}: ${(e as Error).message}`);
        notApproved(msg, via);
        // Try again next pass even if the listing does not change.
        this.lastListing = undefined;
      }
    }
    this.lastPending = pending;
    return result;
  }

  /** Pending requests left after the last pass (for status displays). */
  get pendingCount(): number {
    return this.lastPending;
  }
}

/** One pass with a fresh memory (tests, `--once`). A service should keep a {@link PeerPass} instead. */
export function runPeerPass(deps: PeerPassDeps): Promise<PeerPassResult> {
  return new PeerPass(deps).run();
}
