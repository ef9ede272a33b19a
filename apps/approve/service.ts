import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ServiceDefinition } from '../../lib/service/runtime';
import { requireIdentity, requireSupportedTransports } from '../../lib/service/requirements';
import { UserError, EXIT } from '../../lib/errors';

/**
 * The approve service on the local datasite: receives new submissions, auto-approves the jobs an auto-approval
 * object matches (exactly as `JobInfo.approve(approval_method="auto")` writes it), runs approved jobs from the
 * validated bytes, and records every decision in approve/decisions.jsonl. File events trigger a pass within
 * ~50 ms; a full (incremental) pass also runs every `approve.interval` seconds as a fallback.
 * With `transports.syftbox: drive` it also approves peer requests and keeps the datasite in sync with Google Drive
 * (drive.ts, drive-side.ts): proposals pulled from Drive land in the datasite and wake the engine through its
 * watchers; what the engine and the runner write is published to the data scientists soon after.
 */
export const approveService: ServiceDefinition = {
  name: 'approve',
  async create({ home, loaded, logger, signal }) {
    const id = requireIdentity(loaded);
    requireSupportedTransports(loaded);
    const a = loaded.config.approve;
    const { AuditLog } = await import('../../lib/approve/audit');
    const { ApproveStateStore } = await import('../../lib/approve/state');
    const { ApproveEngine, sweepSlicesFor } = await import('../../lib/approve/engine');
    const { approvalExpectedRunSh } = await import('../../lib/approve/expected-runsh');
    const { loadApprovalObjects } = await import('../../lib/approval');
    const { JobQueue, runDirFor, recoverJob, cleanRunsDir } = await import('../../lib/runner');

    const dir = home.serviceDir('approve');
    const audit = new AuditLog(path.join(dir, 'decisions.jsonl'));
    const { MetricRegistry } = await import('../../lib/metrics/registry');
    const metrics = new MetricRegistry(APPROVE_METRICS);
    audit.onAppend((r) => {
      const counter = VERDICT_METRIC[r.verdict];
      if (counter) metrics.inc(counter);
    });
    const state = new ApproveStateStore(a.approve_state_path, id.email);
    const runsDir = path.join(dir, 'runs');

    // Objects are re-read whenever config.yaml changes (the CLI edits it while the service runs).
    let objectsSig = '';
    let objectsView = { enabled: a.auto_approvals.enabled, objects: new Map() as never, version: 'initial' };
    const objects = () => {
      let sig: string;
      try {
        const st = fs.statSync(home.config);
        sig = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
      } catch {
        sig = '-';
      }
      if (sig !== objectsSig) {
        try {
          const l = loadApprovalObjects(home);
          objectsView = { enabled: l.enabled, objects: l.objects as never, version: sig };
          objectsSig = sig;
          logger.info({ objects: [...l.objects.keys()], enabled: l.enabled }, 'auto-approval objects loaded');
        } catch (e) {
          // Keep the last good objects: a half-saved or broken config must not approve or un-approve anything.
          logger.error({ err: e }, `config.yaml not reloaded (keeping the previous objects): ${(e as Error).message}`);
          objectsSig = sig;
        }
      }
      return objectsView;
    };

    // Before any job runs: what a dead runner left in the runs directory goes. Jobs it left `running` are marked
    // failed by the first pass (recoverRunning), which reads every job anyway.
    cleanRunsDir(runsDir);
    const recoverRunning = (job: import('../../lib/datasite').Job) => {
      const j = recoverJob(id.root, job);
      if (j.recovered) {
        audit.append({ datasite: id.email, submitter: j.submitter, job: j.job, verdict: 'interrupted', reason: j.reason ?? 'syft-bg stopped while the job was running; marked failed' });
        logger.warn({ job: `${j.submitter}/${j.job}` }, `job ${j.submitter}/${j.job} was left running: marked failed`);
      } else {
        logger.warn({ job: `${j.submitter}/${j.job}`, reason: j.reason }, `job ${j.submitter}/${j.job} was left running and could not be recovered: ${j.reason}`);
      }
    };

    // transports.syftbox: drive — the Drive side (peer requests, the datasite's sync with Drive) runs its own loop;
    // the engine and the runner kick it when they change the datasite, so results reach the data scientist quickly.
    let driveSide: import('./drive').DriveSetup | undefined;
    const kickDrive = () => driveSide?.side.kick();

    const queue = new JobQueue(a.max_concurrent_jobs);
    let passes = 0;
    const engine = new ApproveEngine({
      root: id.root,
      doEmail: id.email,
      objects,
      expectedRunSh: approvalExpectedRunSh(),
      audit,
      state,
      runApprovedJobs: a.run_approved_jobs,
      logger,
      recoverRunning,
      sweepSlices: sweepSlicesFor(a.interval),
      runner: {
        has: (job) => queue.has({ root: id.root, datasite: id.email, submitter: job.id.submitter, job: job.id.name }),
        enqueue: (job, snapshot, stateText) => {
          const who = { datasite: id.email, submitter: job.id.submitter, job: job.id.name };
          audit.append({ ...who, verdict: 'run-queued' });
          void queue
            .enqueue({
              root: id.root,
              datasite: id.email,
              submitter: job.id.submitter,
              job: job.id.name,
              snapshot,
              stateText,
              runDir: runDirFor(runsDir, job.id.submitter, job.id.name),
              timeoutMs: a.job_timeout * 1000,
              env: jobEnv(process.env),
              signal,
            })
            .then(
              (r) => {
                if (r.status === 'not-run') {
                  // Audited too, so every run-queued record has an outcome (once per state: it is not retried until state.yaml changes).
                  audit.append({ ...who, verdict: 'not-run', reason: r.reason, code: r.code });
                  logger.info({ job: job.key, code: r.code }, `not run: ${job.key} (${r.reason})`);
                  return;
                }
                kickDrive();
                audit.append({ ...who, verdict: 'ran', status: r.status, return_code: r.returnCode, ...(r.reason ? { reason: r.reason } : {}) });
                logger.info({ job: job.key, status: r.status, return_code: r.returnCode }, `Ran: ${job.key} → ${r.status} (rc ${r.returnCode})`);
              },
              (e) => {
                kickDrive();
                logger.error({ job: job.key, err: e }, `run of ${job.key} failed: ${(e as Error).message}`);
              },
            );
        },
      },
    });

    if (loaded.config.transports.syftbox === 'drive') {
      const { setupDrive } = await import('./drive');
      driveSide = await setupDrive({
        onDriveCall: () => metrics.inc('drive calls'),
        loaded,
        me: id.email,
        root: id.root,
        homeDir: home.dir,
        logger,
        signal,
        audit,
        state,
        objects: () => objects().objects as never,
        onFatal: (message) => {
          // A refused token: stop the service through the runtime's fatal path (clear message, back-off, and PM2
          // marks it errored after repeated failures, since the start-up check then fails too).
          setImmediate(() => {
            throw new UserError(message, EXIT.config);
          });
        },
      });
    }

    return {
      startInfo: {
        ...(driveSide?.startInfo ?? {}),
        do_email: id.email,
        watching: id.jobInbox,
        syftbox_transport: loaded.config.transports.syftbox,
        auto_approvals: a.auto_approvals.enabled ? `${Object.keys(a.auto_approvals.objects ?? {}).length} object(s)` : 'disabled',
        run_approved_jobs: a.run_approved_jobs,
        job_timeout_s: a.job_timeout,
        max_concurrent_jobs: a.max_concurrent_jobs,
      },
      intervalMs: a.interval * 1000,
      watch: () => [...engine.watchPaths(), home.dir],
      async cycle() {
        // A full pass (pending jobs re-walked even when their folders look unchanged) about once a minute.
        const full = passes++ % Math.max(1, Math.round(60 / a.interval)) === 0;
        const s = engine.pass({ full });
        metrics.set('jobs seen', s.jobs);
        if (s.received || s.rejected || s.approved || s.notApproved || s.queued) logger.debug?.({ pass: s }, 'approve pass');
        // New or changed state.yaml files: publish them soon.
        if (s.received || s.rejected || s.approved || s.queued) kickDrive();
      },
      async close() {
        await Promise.all([queue.stop(), driveSide?.close()]);
        audit.close();
      },
      metrics,
    };
  },
};

/** The approve service's PM2 metrics (`pm2 show syft-bg-approve`, `pm2 monit`, `syft-bg status --json`). */
export const APPROVE_METRICS = [
  { name: 'jobs seen', kind: 'gauge' },
  { name: 'jobs approved', kind: 'counter' },
  { name: 'jobs refused', kind: 'counter' },
  { name: 'jobs run', kind: 'counter' },
  { name: 'peers approved', kind: 'counter' },
  { name: 'drive calls', kind: 'counter' },
  { name: 'last cycle', kind: 'gauge', unit: 'ms' },
] as const satisfies ReadonlyArray<import('../../lib/metrics/registry').MetricDef>;

/** Which counter an audit verdict bumps (since the service started). */
export const VERDICT_METRIC: Partial<Record<string, (typeof APPROVE_METRICS)[number]['name']>> = {
  approved: 'jobs approved',
  'not-approved': 'jobs refused',
  rejected: 'jobs refused',
  ran: 'jobs run',
  'peer-approved': 'peers approved',
};

/** The environment a job gets: the user's basics, not syft-bg's or PM2's own variables. */
export function jobEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'SSL_CERT_FILE'];
  const out: NodeJS.ProcessEnv = {};
  for (const k of keep) if (env[k] !== undefined) out[k] = env[k];
  return out;
}
