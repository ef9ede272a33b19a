/**
 * The dashboard's view model (pure): service cards from the status report, the activity feed from the approve
 * audit log and the notify journal, and what a key does. No I/O here: the shell (dashboard.ts) reads the files and
 * the PM2 daemon, calls these functions and paints the result.
 */
import type { NotifyHealth, ServiceStatus } from '../../lib/status';
import type { ServiceState } from '../../lib/pm2/state';
import type { DecisionRecord } from '../../lib/approve/audit';
import { DESCRIPTIONS, SERVICES, type ServiceName } from '../../lib/services';
import { formatBytes, formatUptime } from '../../lib/pm2/state';
import { formatAgo, safeText } from './text';

// ---------------------------------------------------------------------------------------------------- cards

export type Tone = 'good' | 'warn' | 'bad' | 'neutral';

export interface ServiceCard {
  name: ServiceName;
  description: string;
  state: ServiceState;
  tone: Tone;
  pid: string;
  uptime: string;
  restarts: string;
  memory: string;
  cpu: string;
  lastActivity: string;
  /** Why it is errored or stopped, when known. */
  detail: string | null;
  /** What the service itself reports (notify: its outbox), when worth showing. */
  note: { text: string; tone: Tone } | null;
}

/** The notify outbox in a few words: pending and failing mails, a Gmail pause; null when all is quiet. */
export function outboxNote(n: NotifyHealth | null | undefined): { text: string; tone: Tone } | null {
  if (!n) return null;
  const parts: string[] = [];
  if (n.pending > 0) parts.push(`${n.pending} pending`);
  if (n.failing.length > 0) parts.push(`${n.failing.length} failing`);
  if (n.pausedUntil) parts.push(`paused until ${n.pausedUntil}`);
  if (parts.length === 0) return null;
  return { text: safeText(`outbox: ${parts.join(', ')}`), tone: n.failing.length > 0 ? 'bad' : 'warn' };
}

export function stateTone(s: ServiceState): Tone {
  if (s === 'online') return 'good';
  if (s === 'errored') return 'bad';
  if (s === 'stopped' || s === 'not started') return 'neutral';
  return 'warn';
}

/**
 * One card per service, in registry order. `lastActivity` is when each service last wrote to its log (epoch ms;
 * null when it never did); `notify` is the notify service's outbox report (status.json).
 */
export function buildCards(services: readonly ServiceStatus[], lastActivity: Partial<Record<ServiceName, number | null>>, now: number, notify?: NotifyHealth | null): ServiceCard[] {
  return SERVICES.map((name) => {
    const s = services.find((x) => x.name === name);
    const state: ServiceState = s?.state ?? 'not started';
    const act = lastActivity[name];
    return {
      name,
      description: DESCRIPTIONS[name],
      state,
      tone: stateTone(state),
      pid: s?.pid ? String(s.pid) : '-',
      uptime: s?.uptimeMs !== null && s?.uptimeMs !== undefined ? formatUptime(s.uptimeMs) : '-',
      restarts: String(s?.restarts ?? 0),
      memory: s?.memoryBytes !== null && s?.memoryBytes !== undefined ? formatBytes(s.memoryBytes) : '-',
      cpu: s?.cpuPercent !== null && s?.cpuPercent !== undefined ? `${s.cpuPercent}%` : '-',
      lastActivity: act === null || act === undefined ? 'never' : formatAgo(Math.max(0, now - act)),
      detail: s?.detail ? safeText(s.detail) : null,
      note: s?.otherHome
        ? { text: safeText(`serves another syft-bg home: ${s.home ?? '?'}`), tone: 'bad' as const }
        : name === 'notify'
          ? outboxNote(notify)
          : null,
    };
  });
}

// ---------------------------------------------------------------------------------------------------- feed

export interface JobRef {
  datasite: string;
  submitter: string;
  name: string;
}

export interface FeedRow {
  /** Stable identity (keeps the selection on the same row when newer rows arrive). */
  key: string;
  /** Epoch ms. */
  time: number;
  source: 'approve' | 'notify';
  /** `approved`, `not-approved`, `mail sent`, … */
  label: string;
  tone: Tone;
  /** `submitter/job`, or the peer for peer rows (display-safe). */
  subject: string;
  /** Reason, object, recipient (display-safe). */
  detail: string;
  /** The job the row is about (what `e` explains); absent for peer rows. */
  job?: JobRef;
}

const DECISION_TONE: Record<string, Tone> = {
  approved: 'good',
  ran: 'good',
  'peer-approved': 'good',
  rejected: 'bad',
  'not-run': 'bad',
  interrupted: 'bad',
  'peer-refused': 'bad',
  'not-approved': 'warn',
  'peer-not-approved': 'warn',
};

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** A feed row for one audit record; undefined for records without a usable time or verdict. */
export function decisionRow(rec: DecisionRecord, index: number): FeedRow | undefined {
  if (!rec || typeof rec !== 'object') return undefined;
  const time = Date.parse(str(rec.time) ?? '');
  const verdict = str(rec.verdict);
  if (!Number.isFinite(time) || !verdict) return undefined;
  const submitter = str(rec.submitter) ?? '';
  const name = str(rec.job) ?? '';
  const datasite = str(rec.datasite) ?? '';
  const isPeer = rec.kind === 'peer' || verdict.startsWith('peer-');
  let tone = DECISION_TONE[verdict] ?? 'neutral';
  const parts: string[] = [];
  if (verdict === 'approved' && str(rec.object)) parts.push(`by ${str(rec.object)}`);
  if (verdict === 'ran') {
    const status = str(rec.status);
    if (status) parts.push(status);
    if (typeof rec.return_code === 'number') parts.push(`exit ${rec.return_code}`);
    if (status === 'failed' || (typeof rec.return_code === 'number' && rec.return_code !== 0)) tone = 'bad';
  }
  const reason = str(rec.reason);
  if (reason && reason !== 'ok') parts.push(reason);
  const row: FeedRow = {
    key: `d:${index}:${str(rec.time)}`,
    time,
    source: 'approve',
    label: verdict,
    tone,
    subject: safeText(isPeer ? `peer ${submitter}` : `${submitter}/${name}`),
    detail: safeText(parts.join(': ')),
  };
  if (!isPeer && submitter && name) row.job = { datasite, submitter, name };
  return row;
}

const MAIL_KIND: Record<string, string> = {
  new: 'new job (to you)',
  approved_do: 'job approved (to you)',
  completed_do: 'job completed (to you)',
  failed: 'job failed (to you)',
  rejected: 'job rejected (to you)',
  submitted: 'job submitted (to DS)',
  approved: 'job approved (to DS)',
  executed: 'job completed (to DS)',
  rejected_ds: 'job not approved (to DS)',
  new_peer_request: 'new peer request (to you)',
  peer_request_sent: 'peer request sent (to peer)',
  peer_granted: 'peer request granted (to peer)',
};

/**
 * Feed rows for the mails of the notify journal (`<home>/notify/journal.jsonl`: JSON lines, the last record of a
 * key wins; keys are JSON arrays `["job", datasite, submitter, job, kind]` or `["peer", datasite, peer, kind]`).
 * Shows what was sent, what failed and what is being sent; `seen` records (never mailed by us) are left out.
 * Tolerates torn lines, unknown records and keys it cannot parse.
 */
export function emailRows(journalText: string): FeedRow[] {
  const last = new Map<string, Record<string, unknown>>();
  for (const line of journalText.split('\n')) {
    if (!line.trim()) continue;
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch {
      continue;
    }
    if (!r || typeof r !== 'object' || typeof (r as { k?: unknown }).k !== 'string') continue;
    const rec = r as Record<string, unknown>;
    last.delete(rec.k as string); // re-insert: the map's order is the order of the last records
    last.set(rec.k as string, rec);
  }
  const out: FeedRow[] = [];
  for (const [k, rec] of last) {
    const s = str(rec.s);
    if (s !== 'sent' && s !== 'failed' && s !== 'intent') continue;
    const time = Date.parse(str(rec.t) ?? '');
    if (!Number.isFinite(time)) continue;
    let key: unknown;
    try {
      key = JSON.parse(k);
    } catch {
      continue;
    }
    if (!Array.isArray(key) || !key.every((x) => typeof x === 'string')) continue;
    const a = key as string[];
    let subject: string;
    let kind: string;
    let job: JobRef | undefined;
    if (a[0] === 'job' && a.length === 5) {
      job = { datasite: a[1]!, submitter: a[2]!, name: a[3]! };
      subject = `${a[2]}/${a[3]}`;
      kind = a[4]!;
    } else if (a[0] === 'peer' && a.length === 4) {
      subject = `peer ${a[2]}`;
      kind = a[3]!;
    } else continue;
    const what = MAIL_KIND[kind] ?? kind;
    const detail = s === 'failed' ? `${what}: ${str(rec.err) ?? 'failed'}${typeof rec.n === 'number' ? ` (attempt ${rec.n})` : ''}` : what;
    const row: FeedRow = {
      key: `m:${k}:${s}`,
      time,
      source: 'notify',
      label: s === 'sent' ? 'mail sent' : s === 'failed' ? 'mail failed' : 'sending',
      tone: s === 'sent' ? 'good' : s === 'failed' ? 'bad' : 'warn',
      subject: safeText(subject),
      detail: safeText(detail),
    };
    if (job) row.job = job;
    out.push(row);
  }
  return out;
}

/** Decisions and mails, newest first, at most `limit` rows (equal times: mails after decisions, file order kept). */
export function buildFeed(decisions: readonly FeedRow[], emails: readonly FeedRow[], limit: number): FeedRow[] {
  const all = [...decisions.map((r, i) => ({ r, i })), ...emails.map((r, i) => ({ r, i: i + decisions.length }))];
  all.sort((x, y) => y.r.time - x.r.time || y.i - x.i);
  return all.slice(0, Math.max(0, limit)).map((x) => x.r);
}

// ---------------------------------------------------------------------------------------------------- keys

export type Panel =
  | { kind: 'logs'; service: ServiceName; lines: string[]; /** lines scrolled up from the end */ scroll: number }
  | { kind: 'explain'; title: string; lines: string[]; scroll: number };

export interface UiState {
  selectedService: number;
  /** The selected feed row (by key, so new rows above it do not move the selection). */
  feedKey: string | null;
  feedIndex: number;
  panel: Panel | null;
  message: { text: string; tone: Tone } | null;
  /** An action in flight (`starting notify…`): keys that act are refused meanwhile. */
  busy: string | null;
}

export const initialState = (): UiState => ({ selectedService: 0, feedKey: null, feedIndex: 0, panel: null, message: null, busy: null });

export type Action =
  | { type: 'quit' }
  | { type: 'service'; delta: number }
  | { type: 'feed'; delta: number }
  | { type: 'feed-edge'; end: boolean }
  | { type: 'control'; verb: 'start' | 'stop' | 'restart' }
  | { type: 'logs' }
  | { type: 'explain' }
  | { type: 'close' }
  | { type: 'scroll'; delta: number };

/** What a key does (terminal-kit key names: `UP`, `PAGE_DOWN`, `ESCAPE`, `CTRL_C`, or the character). */
export function keyToAction(key: string, panel: Panel['kind'] | null, pageSize: number): Action | undefined {
  const page = Math.max(1, pageSize - 1);
  switch (key) {
    case 'q':
    case 'Q':
    case 'CTRL_C':
      return { type: 'quit' };
    case 'LEFT':
      return { type: 'service', delta: -1 };
    case 'RIGHT':
    case 'TAB':
      return { type: 'service', delta: 1 };
    case 's':
      return { type: 'control', verb: 'start' };
    case 't':
      return { type: 'control', verb: 'stop' };
    case 'r':
      return { type: 'control', verb: 'restart' };
    case 'ESCAPE':
      return panel ? { type: 'close' } : undefined;
    case 'l':
      return panel === 'logs' ? { type: 'close' } : { type: 'logs' };
    case 'e':
      return panel === 'explain' ? { type: 'close' } : panel ? undefined : { type: 'explain' };
  }
  const moves: Record<string, number> = { UP: -1, DOWN: 1, k: -1, j: 1, PAGE_UP: -page, PAGE_DOWN: page };
  if (key in moves) {
    const d = moves[key] as number;
    // Panels count lines up from the end (a log view follows new lines until scrolled up).
    if (panel === 'logs') return { type: 'scroll', delta: -d };
    if (panel === 'explain') return { type: 'scroll', delta: d };
    return { type: 'feed', delta: d };
  }
  if (key === 'HOME' || key === 'END') {
    if (panel === 'logs') return { type: 'scroll', delta: key === 'HOME' ? Number.MAX_SAFE_INTEGER : -Number.MAX_SAFE_INTEGER };
    if (panel === 'explain') return { type: 'scroll', delta: key === 'HOME' ? -Number.MAX_SAFE_INTEGER : Number.MAX_SAFE_INTEGER };
    return { type: 'feed-edge', end: key === 'END' };
  }
  return undefined;
}

/** What the shell must do after an action (the state change itself is done by `reduce`). */
export type Effect =
  | { type: 'quit' }
  | { type: 'control'; verb: 'start' | 'stop' | 'restart'; service: ServiceName }
  | { type: 'logs'; service: ServiceName }
  | { type: 'explain'; row: FeedRow };

const clamp = (n: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, n));

/** Keep the feed selection on the same row (by key) after the feed changed; clamp it when the row is gone. */
export function reconcileFeed(state: UiState, feed: readonly FeedRow[]): UiState {
  if (feed.length === 0) return { ...state, feedKey: null, feedIndex: 0 };
  let idx = state.feedKey === null ? -1 : feed.findIndex((r) => r.key === state.feedKey);
  if (idx < 0) idx = clamp(state.feedIndex, 0, feed.length - 1);
  return { ...state, feedIndex: idx, feedKey: feed[idx]!.key };
}

export function reduce(state: UiState, action: Action, feed: readonly FeedRow[]): { state: UiState; effect?: Effect } {
  const service = SERVICES[state.selectedService] as ServiceName;
  switch (action.type) {
    case 'quit':
      return { state, effect: { type: 'quit' } };
    case 'service': {
      const n = SERVICES.length;
      const selectedService = (((state.selectedService + action.delta) % n) + n) % n;
      const next = { ...state, selectedService };
      // The log view follows the selected service.
      if (state.panel?.kind === 'logs') {
        const s = SERVICES[selectedService] as ServiceName;
        return { state: { ...next, panel: { kind: 'logs', service: s, lines: [], scroll: 0 } }, effect: { type: 'logs', service: s } };
      }
      return { state: next };
    }
    case 'feed':
    case 'feed-edge': {
      if (feed.length === 0) return { state };
      const i = action.type === 'feed' ? clamp(state.feedIndex + action.delta, 0, feed.length - 1) : action.end ? feed.length - 1 : 0;
      return { state: { ...state, feedIndex: i, feedKey: feed[i]!.key } };
    }
    case 'control':
      if (state.busy) return { state: { ...state, message: { text: `Wait: ${state.busy}`, tone: 'warn' } } };
      {
        const target = state.panel?.kind === 'logs' ? state.panel.service : service;
        return { state, effect: { type: 'control', verb: action.verb, service: target } };
      }
    case 'logs':
      return { state: { ...state, panel: { kind: 'logs', service, lines: [], scroll: 0 } }, effect: { type: 'logs', service } };
    case 'explain': {
      const row = feed[state.feedIndex];
      if (!row) return { state: { ...state, message: { text: 'No job selected: the activity feed is empty.', tone: 'warn' } } };
      if (!row.job) return { state: { ...state, message: { text: `Nothing to explain: ${row.subject} is not a job.`, tone: 'warn' } } };
      return { state, effect: { type: 'explain', row } };
    }
    case 'close':
      return { state: { ...state, panel: null } };
    case 'scroll': {
      if (!state.panel) return { state };
      const max = Math.max(0, state.panel.lines.length - 1);
      return { state: { ...state, panel: { ...state.panel, scroll: clamp(state.panel.scroll + action.delta, 0, max) } } };
    }
  }
}
