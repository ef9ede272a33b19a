/**
 * The idle Drive-call budget (issue 5): an idle Drive cycle makes exactly one Drive call. Normally that call is
 * the engine's `changes.list`; when a periodic safety check is due (the peer-request listing, the compatibility
 * re-check of peers and versions, the full inbox rescan), the cycle spends its one call on one *step* of that check
 * instead, and the skipped `changes.list` happens at the next cycle (the page token is persisted, so nothing is
 * lost, only delayed by one interval).
 *
 * {@link SafetyRota} is the pure scheduler that decides, cycle by cycle, whose turn the idle call is:
 * - never two safety steps in a row (after a step the next cycle polls the change feed, so change-driven work waits
 *   at most one extra interval);
 * - a check whose round has begun goes on before another one starts;
 * - among the checks that are due (`now - lastStart >= periodMs`), the most overdue first.
 * When there is more safety work than half the cycles can carry (very many peers), the rounds simply take longer
 * than their period: the budget wins.
 *
 * Change-driven work (a change under an inbox, a new request folder, a peers or version file change, a lost page
 * token) is never budget-limited; when it covers a check (a full peer pass, a full re-read of the peers), the
 * caller says so with {@link SafetyRota.covered} and that check's period starts again.
 */

export const POLL = 'poll';

export interface SafetyCheckInfo {
  id: string;
  periodMs: number;
  /** When the last round started (ms; -Infinity: never). */
  lastStartMs: number;
  /** A round is under way (its next step comes before any other check). */
  inProgress: boolean;
  /** Rounds finished so far (status, tests). */
  rounds: number;
  /** Steps taken so far (status, tests). */
  steps: number;
}

export class SafetyRota {
  private readonly checks = new Map<string, SafetyCheckInfo>();
  private lastWasStep = false;

  /**
   * Add a check (or change its period). `lastStartMs`: when its last round started (default: now-ish, i.e. the
   * first round comes one period after registration; pass -Infinity for "due at once").
   */
  register(id: string, periodMs: number, lastStartMs: number): void {
    if (id === POLL) throw new Error(`'${POLL}' is not a check id`);
    if (!(periodMs > 0)) throw new Error(`safety check ${id}: period must be positive, got ${periodMs}`);
    const cur = this.checks.get(id);
    if (cur) cur.periodMs = periodMs;
    else this.checks.set(id, { id, periodMs, lastStartMs, inProgress: false, rounds: 0, steps: 0 });
  }

  has(id: string): boolean {
    return this.checks.has(id);
  }

  /** Set when the last round of `id` started (e.g. restored from disk). */
  restore(id: string, lastStartMs: number): void {
    const c = this.checks.get(id);
    if (c && !c.inProgress) c.lastStartMs = lastStartMs;
  }

  /**
   * Whose turn this cycle's idle call is: {@link POLL} or a check id. Calling it consumes the turn (a check
   * returned here has its round started when it was not under way).
   */
  turn(now: number): string {
    if (this.lastWasStep) {
      this.lastWasStep = false;
      return POLL;
    }
    let pick: SafetyCheckInfo | undefined;
    for (const c of this.checks.values()) {
      if (c.inProgress) {
        pick = c;
        break;
      }
    }
    if (!pick) {
      for (const c of this.checks.values()) {
        if (now - c.lastStartMs < c.periodMs) continue;
        if (!pick || c.lastStartMs + c.periodMs < pick.lastStartMs + pick.periodMs) pick = c;
      }
      if (pick) {
        pick.inProgress = true;
        pick.lastStartMs = now;
      }
    }
    if (!pick) return POLL;
    this.lastWasStep = true;
    pick.steps++;
    return pick.id;
  }

  /**
   * The turn given to `id` was not used for a Drive call after all (nothing to do, e.g. no peers): the cycle
   * polls instead, and this does not count as a step.
   */
  unused(id: string): void {
    const c = this.checks.get(id);
    if (c) c.steps = Math.max(0, c.steps - 1);
    this.lastWasStep = false;
  }

  /** A step of `id` ran; `finished`: its round is complete. */
  stepped(id: string, finished: boolean): void {
    const c = this.checks.get(id);
    if (!c || !finished) return;
    c.inProgress = false;
    c.rounds++;
  }

  /** Change-driven work did what a round of `id` does: its period starts again now; a round under way ends. */
  covered(id: string, now: number): void {
    const c = this.checks.get(id);
    if (!c) return;
    c.lastStartMs = now;
    c.inProgress = false;
  }

  inProgress(id: string): boolean {
    return this.checks.get(id)?.inProgress === true;
  }

  info(): SafetyCheckInfo[] {
    return [...this.checks.values()].map((c) => ({ ...c }));
  }
}

/** The engine's check: one inbox listing per step, every peer once per round. */
export const INBOX_RESCAN = 'inbox-rescan';
