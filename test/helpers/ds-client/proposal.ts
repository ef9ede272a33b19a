/**
 * Test DS client, submitting side: push a job to a DO the way syft-client's `push_job_files` does — every file of
 * the job directory (config.yaml, run.sh, code/…) as one `msgv2` proposal into the DS-owned folder
 * `syft_datasite#<v>#<DO>#inbox#<DS>`, through `DriveApi.uploadFile` (which restores a dropped parent).
 */
import type { DriveApi, P2pFolder, P2pFolderType } from '../../../lib/google/drive';
import { SYFT_CLIENT_VERSION } from '../../../lib/peers/version';
import { checkDatasitePath } from '../../../lib/sync/codec/paths';
import { makeProposal, packProposal, proposalMessageFileName, type ProposedFileChangesMessage } from '../../../lib/sync/codec/proposal';

export interface JobSubmission {
  /** the job directory name (= `config.yaml:name`) */
  name: string;
  /** files relative to the job directory, e.g. `config.yaml`, `run.sh`, `code/main.py`; all of them are sent */
  files: Record<string, string | Buffer>;
  /** hashes the DS believes the DO has for some of these paths (relative to the job directory) */
  oldHashes?: Record<string, string>;
}

export interface SubmittedJob {
  fileId: string;
  fileName: string;
  folderId: string;
  message: ProposedFileChangesMessage;
}

const majorMinor = (v: string) => v.split('.').slice(0, 2).join('.');

/**
 * The one DS-owned p2p folder about `doEmail`'s datasite for `dsEmail`, among those with our major.minor version
 * (as syft-client picks them); throws when there is none or more than one.
 */
export async function findDsOwnedFolder(drive: DriveApi, dsEmail: string, doEmail: string, type: P2pFolderType): Promise<P2pFolder | undefined> {
  const all = await drive.findP2pFolders({ datasite: doEmail, type, peer: dsEmail, owner: dsEmail });
  const compatible = all.filter((f) => majorMinor(f.version) === majorMinor(SYFT_CLIENT_VERSION));
  if (compatible.length > 1) throw new Error(`found ${compatible.length} compatible ${type} folders for ${doEmail}/${dsEmail}`);
  return compatible[0];
}

/** Relative path of a job file inside the DO datasite. */
export function jobFilePath(dsEmail: string, job: string, rel: string): string {
  return `app_data/job/inbox/${dsEmail}/${job}/${rel}`;
}

export async function submitJob(drive: DriveApi, dsEmail: string, doEmail: string, job: JobSubmission): Promise<SubmittedJob> {
  const entries = Object.entries(job.files);
  if (entries.length === 0) throw new Error(`job ${job.name} has no files`);
  const files = entries.map(([rel, content]) => {
    const p = jobFilePath(dsEmail, job.name, rel);
    const check = checkDatasitePath(p);
    if (!check.ok) throw new Error(`job ${job.name}: ${rel}: ${check.reason}`);
    return { path: p, content, oldHash: job.oldHashes?.[rel] ?? null };
  });
  const folder = await findDsOwnedFolder(drive, dsEmail, doEmail, 'inbox');
  if (!folder) throw new Error(`no inbox folder syft_datasite#${SYFT_CLIENT_VERSION}#${doEmail}#inbox#${dsEmail} owned by ${dsEmail}`);
  const message = makeProposal({ senderEmail: dsEmail, datasiteEmail: doEmail, files });
  const fileName = proposalMessageFileName(message);
  const created = await drive.uploadFile({ name: fileName, parentId: folder.file.id, content: packProposal(message), mimeType: 'application/octet-stream' });
  return { fileId: created.id, fileName, folderId: folder.file.id, message };
}
