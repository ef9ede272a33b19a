/** The data owner sync engine (issue 5, "SyftBox over Google Drive"): see owner-sync.ts. Codecs: ./codec. */
export { createOwnerSync, type OwnerSync, type OwnerSyncDeps, type CycleOptions } from './owner-sync';
export { DEFAULT_OPTIONS, type CycleResult, type OwnerSyncOptions, type SyncLog, type SyncHooks } from './context';
export { acquireFileLock, acquireSyncLock, withFileLock, LockTimeoutError, LockError, SYNC_LOCK_NAME, type FileLock } from './lock';
export { ownerPaths, type OwnerPaths } from './owner-state';
export { pollChanges, summarizeChanges, type PollOutcome, type ChangeSummary } from './change-poller';
export { judgeProposal, proposalsInOrder, QuarantineError } from './pull';
export { diffLocal } from './publish';
export { SafetyRota, POLL, INBOX_RESCAN, type SafetyCheckInfo } from './safety';
export { mergeCheckpoints, maybeCompactCheckpoints } from './checkpoint-compaction';
export { mergeOutboxMessages, compactOutbox } from './outbox-compaction';
