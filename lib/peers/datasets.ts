/**
 * Dataset collection folders (protocol reference §3.1): `syft_datasetcollection_<tag>_<hash12>` in `/SyftBox`,
 * tagged "any" through `appProperties.syft_shared_with_any = "true"`. Pure naming helpers plus the selection of
 * the collections a newly approved peer gets read access to.
 */
import type { DriveFile } from '../google/drive';

export const DATASET_COLLECTION_PREFIX = 'syft_datasetcollection_';

/** The dataset name (`<tag>`) of a collection folder name, or undefined when it is not one. */
export function datasetTagOf(folderName: string): string | undefined {
  const m = /^syft_datasetcollection_(.+)_([0-9a-f]{12})$/.exec(folderName);
  return m ? m[1] : undefined;
}

export function isSharedWithAny(f: DriveFile): boolean {
  return f.appProperties?.syft_shared_with_any === 'true';
}

export interface DatasetSelection {
  /** Folders to share, with why. */
  share: Array<{ file: DriveFile; tag: string; why: 'any' | 'auto_share_datasets' }>;
  /** Names from `auto_share_datasets` with no collection folder. */
  missing: string[];
}

/**
 * `_post_approve_peer_do` shares every collection tagged "any"; syft-bg then shares each dataset named in
 * `approve.peers.auto_share_datasets` (`share_dataset(name, email)`).
 */
export function selectDatasetsToShare(collections: readonly DriveFile[], autoShare: readonly string[]): DatasetSelection {
  const share: DatasetSelection['share'] = [];
  const wanted = new Set(autoShare.filter((n) => typeof n === 'string' && n !== ''));
  const found = new Set<string>();
  for (const file of collections) {
    const tag = datasetTagOf(file.name);
    if (tag === undefined) continue;
    if (wanted.has(tag)) found.add(tag);
    if (isSharedWithAny(file)) share.push({ file, tag, why: 'any' });
    else if (wanted.has(tag)) share.push({ file, tag, why: 'auto_share_datasets' });
  }
  return { share, missing: [...wanted].filter((n) => !found.has(n)) };
}
