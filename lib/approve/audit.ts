import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Peer-request verdicts: `peer-approved` (reciprocal folders made, SYFT_peers.json says accepted),
 * `peer-not-approved` (stays pending: policy, version, incomplete request or a failed attempt; `reason` says
 * which), `peer-refused` (a request folder that cannot be genuine: wrong owner, incompatible version, …).
 */
export type PeerVerdict = 'peer-approved' | 'peer-not-approved' | 'peer-refused';

/** One line of `approve/decisions.jsonl`: every decision the approve service takes, append-only. */
export interface DecisionRecord {
  time: string;
  datasite: string;
  submitter: string;
  job: string;
  /**
   * `received` (state.yaml created as pending), `rejected` (wrong shape, syft-job's reason), `approved`
   * (auto-approval), `not-approved` (stays pending), `run-queued`, `ran` (done/failed), `not-run` (the runner
   * refused or could not start it; `code` says why), `interrupted` (left running by a dead runner: marked failed).
   */
  verdict: 'received' | 'rejected' | 'approved' | 'not-approved' | 'run-queued' | 'ran' | 'not-run' | 'interrupted' | PeerVerdict;
  /** `peer` for peer-request decisions (then `submitter` is the peer and `job` is ''); absent for job decisions. */
  kind?: 'job' | 'peer';
  object?: string;
  reason?: string;
  /** sha256 of every code file the decision was based on (relative path → `sha256:<hex>`). */
  hashes?: Record<string, string>;
  /** run.sh hash, return code, status, … */
  [k: string]: unknown;
}

/**
 * Append-only JSON-lines audit log. Each record is one `write` on an O_APPEND descriptor, so records from
 * concurrent writers never interleave within a line, and a crash leaves at worst a last partial line, which
 * `readDecisions` skips.
 */
export class AuditLog {
  private readonly listeners: Array<(r: DecisionRecord) => void> = [];
  /** Be told of every record appended (metrics). */
  onAppend(fn: (r: DecisionRecord) => void): void {
    this.listeners.push(fn);
  }

  private fd: number | undefined;
  constructor(readonly file: string) {}

  append(rec: Omit<DecisionRecord, 'time'> & { time?: string }): DecisionRecord {
    const full = { time: rec.time ?? new Date().toISOString(), ...rec } as DecisionRecord;
    if (this.fd === undefined) {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      this.fd = fs.openSync(this.file, 'a', 0o600);
    }
    fs.writeSync(this.fd, JSON.stringify(full) + '\n');
    for (const fn of this.listeners) {
      try {
        fn(full);
      } catch {
        // a listener (metrics) never breaks the audit trail
      }
    }
    return full;
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** The records of an audit log (a torn last line is skipped). */
export function readDecisions(file: string): DecisionRecord[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: DecisionRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as DecisionRecord);
    } catch {
      // a line cut by a crash
    }
  }
  return out;
}
