/**
 * Proposals (DS -> DO, protocol §3.5): list a peer's inbox, take the `msgv2_*` files in timestamp order, and for
 * each one decide:
 * - unreadable (bad gzip/tar/JSON, wrong types), too large, a path that could leave the datasite, a stale or
 *   missing `old_hash` (conflict), a `new_hash` that is not the content's hash: **quarantine** the whole message,
 *   moved out of the inbox into `syft_<peer>_to_<me>_quarantine` with the reason logged (the reference raises and
 *   blocks every later sync, §7 #8);
 * - changes to other datasites, non-syncable paths, or paths the sender may not write under `syft.pub.yaml`
 *   (§1.9): dropped from the message (logged);
 * - the rest: journaled (files, events message, hash updates) and then applied, archived and echoed to the
 *   sender's outbox and the personal event log by deliver.ts.
 *
 * The sender is the owner of the inbox folder (the peer we list), never the message's own `sender_email`.
 */
import type { DriveFile } from '../google/drive';
import { GoogleApiError } from '../google/retry';
import { loadRuleFiles } from './codec/access-fs';
import { canAccess, type RuleSet } from './codec/access';
import { contentHash } from './codec/content';
import { MessageFormatError } from './codec/errors';
import { eventFromProposedChange, eventsMessageFileName, makeEventsMessage, packEvents } from './codec/events';
import { parseProposalFileName } from './codec/names';
import { checkDatasitePath, isNormalSyncable } from './codec/paths';
import { unpackProposal, type ProposedFileChange } from './codec/proposal';
import type { Ctx } from './context';
import { ts } from './context';
import { advance, safeTarget, UnsafePathError } from './deliver';
import type { JournalWrite } from './journal';

export class QuarantineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QuarantineError';
  }
}

export interface InboxItem {
  file: DriveFile;
  submittedTimestamp: number;
}

/** Pure: the proposals of a listing in processing order (timestamp, then name), without the ones to skip. */
export function proposalsInOrder(files: readonly DriveFile[], skip: (id: string) => boolean): InboxItem[] {
  const out: InboxItem[] = [];
  for (const f of files) {
    if (f.mimeType === 'application/vnd.google-apps.folder' || skip(f.id)) continue;
    const n = parseProposalFileName(f.name);
    if (n) out.push({ file: f, submittedTimestamp: n.submittedTimestamp });
  }
  return out.sort((a, b) => a.submittedTimestamp - b.submittedTimestamp || (a.file.name < b.file.name ? -1 : a.file.name > b.file.name ? 1 : 0));
}

export interface Verdict {
  accepted: ProposedFileChange[];
  dropped: Array<{ path: string; reason: string }>;
}

/**
 * Pure: which changes of a decoded proposal from `sender` are accepted, given the DO's rule files and current
 * hashes. Throws {@link QuarantineError} when the whole message must be refused.
 */
export function judgeProposal(
  changes: readonly ProposedFileChange[],
  a: { me: string; sender: string; rules: ReadonlyMap<string, RuleSet>; hashes: ReadonlyMap<string, string | null> },
): Verdict {
  const v: Verdict = { accepted: [], dropped: [] };
  changes.forEach((c, i) => {
    const where = `proposed_file_changes[${i}]`;
    const p = checkDatasitePath(c.path_in_datasite);
    if (!p.ok) throw new QuarantineError(`${where}: path ${JSON.stringify(c.path_in_datasite)}: ${p.reason}`);
    if (c.datasite_email !== a.me) {
      v.dropped.push({ path: c.path_in_datasite, reason: `targets the datasite of ${JSON.stringify(c.datasite_email)}, not ${a.me}` });
      return;
    }
    if (!isNormalSyncable(c.path_in_datasite)) {
      v.dropped.push({ path: c.path_in_datasite, reason: 'not a synced path (private/, datasets, or an excluded folder)' });
      return;
    }
    if (!canAccess(a.rules, c.path_in_datasite, a.sender, a.me, 'write')) {
      v.dropped.push({ path: c.path_in_datasite, reason: `${a.sender} has no write access there (syft.pub.yaml)` });
      return;
    }
    v.accepted.push(c);
  });
  // Conflicts are judged against the hashes before this message (as the reference does), for every accepted change.
  v.accepted.forEach((c) => {
    const cur = a.hashes.get(c.path_in_datasite) ?? null;
    if (cur === null && c.old_hash !== null) throw new QuarantineError(`conflict on ${c.path_in_datasite}: old_hash ${c.old_hash} but the file is not known here`);
    if (cur !== null && c.old_hash !== cur) {
      throw new QuarantineError(`conflict on ${c.path_in_datasite}: old_hash ${c.old_hash ?? 'null'} but the current hash is ${cur}`);
    }
    if (c.is_deleted) {
      if (cur === null) throw new QuarantineError(`deletion of ${c.path_in_datasite}, which does not exist here`);
      return;
    }
    if (c.content === null) throw new QuarantineError(`${c.path_in_datasite}: no content and not a deletion`);
    const h = contentHash(c.content);
    if (c.new_hash !== h) throw new QuarantineError(`${c.path_in_datasite}: new_hash ${c.new_hash ?? 'null'} is not the hash of the content (${h})`);
  });
  return v;
}

async function quarantine(ctx: Ctx, peer: string, f: DriveFile, reason: string): Promise<void> {
  ctx.result.proposals.quarantined++;
  ctx.log.warn({ peer, file: f.name, fileId: f.id, reason }, `quarantined proposal ${f.name} from ${peer}: ${reason}`);
  ctx.store.appendQuarantine({ at: new Date(ctx.now()).toISOString(), peer, file: f.name, fileId: f.id, reason });
  try {
    const root = await ctx.folders.root();
    const key = `quarantine:${peer}` as const;
    let folder = ctx.folders.ids[key];
    if (!folder) {
      const name = `syft_${peer}_to_${ctx.me}_quarantine`;
      folder = (await ctx.drive.findFoldersByExactName(name, { owner: 'me', parentId: root }))[0]?.id ?? (await ctx.drive.createFolder(name, root)).id;
      ctx.folders.ids[key] = folder;
    }
    await ctx.drive.archiveFile(f.id, folder);
  } catch (e) {
    // Could not move it: never look at it again anyway.
    ctx.state.skip[f.id] = reason;
    ctx.log.warn({ peer, file: f.name, err: e }, `could not move ${f.name} out of the inbox (${(e as Error).message}); it will be ignored`);
  }
  ctx.store.saveEngine(ctx.state);
}

async function archiveOnly(ctx: Ctx, peer: string, f: DriveFile): Promise<void> {
  try {
    await ctx.drive.archiveFile(f.id, await ctx.folders.archive(peer));
  } catch (e) {
    if (!(e instanceof GoogleApiError && e.status === 404)) throw e;
  }
  ctx.result.proposals.archivedWithoutChanges++;
}

/** Handle one proposal file. Transient Drive failures throw (the caller stops this peer for this cycle). */
export async function processProposal(ctx: Ctx, peer: string, f: DriveFile, rules: ReadonlyMap<string, RuleSet>): Promise<void> {
  if (f.size !== undefined && f.size > ctx.opts.maxMessageBytes) {
    return quarantine(ctx, peer, f, `${f.size} bytes, over the ${ctx.opts.maxMessageBytes}-byte limit`);
  }
  let buf: Buffer;
  try {
    buf = await ctx.drive.download(f.id);
  } catch (e) {
    if (e instanceof GoogleApiError && e.status === 404) return; // gone meanwhile
    throw e;
  }
  let verdict: Verdict;
  try {
    const msg = unpackProposal(buf, { maxBytes: ctx.opts.maxMessageBytes });
    verdict = judgeProposal(msg.proposed_file_changes, { me: ctx.me, sender: peer, rules, hashes: ctx.effective });
    for (const c of verdict.accepted) safeTarget(ctx.store.paths.datasite, c.path_in_datasite);
  } catch (e) {
    if (e instanceof MessageFormatError || e instanceof QuarantineError || e instanceof UnsafePathError) return quarantine(ctx, peer, f, e.message);
    throw e;
  }
  for (const d of verdict.dropped) ctx.log.info({ peer, file: f.name, path: d.path }, `dropped ${d.path} from ${f.name}: ${d.reason}`);
  ctx.result.proposals.droppedChanges += verdict.dropped.length;
  if (verdict.accepted.length === 0) return archiveOnly(ctx, peer, f);

  const events = verdict.accepted.map((c) => eventFromProposedChange(c, ts(ctx)));
  const message = makeEventsMessage(events, { timestamp: ts(ctx) });
  const name = eventsMessageFileName(message);
  const blobs: Buffer[] = [packEvents(message, { mtime: ctx.now() / 1000 })];
  const writes: JournalWrite[] = [];
  const hashes: Record<string, string | null> = {};
  for (const c of verdict.accepted) {
    if (c.is_deleted) {
      writes.push({ path: c.path_in_datasite, blob: null, hash: null });
      hashes[c.path_in_datasite] = null;
    } else {
      blobs.push(typeof c.content === 'string' ? Buffer.from(c.content, 'utf8') : c.content!);
      writes.push({ path: c.path_in_datasite, blob: blobs.length - 1, hash: c.new_hash });
      hashes[c.path_in_datasite] = c.new_hash;
    }
  }
  const entry = ctx.journal.create(
    {
      kind: 'proposal',
      createdAt: ctx.now(),
      proposal: { peer, fileId: f.id, name: f.name },
      writes,
      uploads: [
        { target: { kind: 'log' }, name, blob: 0 },
        { target: { kind: 'outbox', peer }, name, blob: 0 },
      ],
      hashes,
      rollingEvents: 0,
    },
    blobs,
  );
  ctx.pending.push(entry);
  for (const [p, h] of Object.entries(hashes)) ctx.effective.set(p, h);
  ctx.result.proposals.applied++;
  ctx.log.info({ peer, file: f.name, paths: verdict.accepted.map((c) => c.path_in_datasite) }, `accepted ${verdict.accepted.length} file(s) from ${peer} (${f.name})`);
  await advance(ctx, entry);
}

/**
 * Pull every pending proposal of one peer. Returns false when the peer has no inbox folder for us. Throws on a
 * transient failure (the peer stays dirty; other peers go on).
 */
export async function pullPeer(ctx: Ctx, peer: string): Promise<boolean> {
  let inbox = await ctx.folders.peerFolder('inbox', peer);
  if (inbox === undefined) return false;
  let files: DriveFile[];
  try {
    files = await ctx.drive.listFolder(inbox, { kind: 'files' });
  } catch (e) {
    if (e instanceof GoogleApiError && e.status === 404) {
      ctx.folders.forget(`inbox:${peer}`);
      inbox = await ctx.folders.peerFolder('inbox', peer);
      if (inbox === undefined) return false;
      files = await ctx.drive.listFolder(inbox, { kind: 'files' });
    } else throw e;
  }
  ctx.result.inboxesListed++;
  const inJournal = new Set(ctx.pending.map((e) => e.proposal?.fileId).filter((x): x is string => !!x));
  const items = proposalsInOrder(files, (id) => id in ctx.state.skip || inJournal.has(id));
  if (items.length === 0) return true;
  // Rules are read once per peer batch; a proposal cannot change them (syft.pub.yaml needs admin).
  const rules = loadRuleFiles(ctx.store.paths.datasite).rules;
  for (const it of items) await processProposal(ctx, peer, it.file, rules);
  return true;
}
