/**
 * `syft-bg` on a terminal: the live dashboard. The shell around the pure parts: every second it reads a snapshot
 * (sources.ts), builds the cards and the feed (model.ts), lays out the screen (screen.ts) and paints it (terminal.ts,
 * which sends only the changed cells). Keys go through `keyToAction` → `reduce`; their effects (start/stop/restart,
 * logs, explain) run here, one at a time, through lib/api like the commands (actions.ts).
 */
import { SERVICES, type ServiceName } from '../../lib/services';
import { buildCards, initialState, keyToAction, reconcileFeed, reduce, type Effect, type FeedRow, type Tone, type UiState } from './model';
import { bodyRows, renderScreen, type ScreenInput } from './screen';
import type { Snapshot, Sources } from './sources';
import type { Screen } from './terminal';

export const REFRESH_MS = 1000;
/** Lines the log view keeps. */
export const LOG_LINES = 500;

export interface DashboardDeps {
  screen: Screen;
  sources: Sources;
  control: (verb: 'start' | 'stop' | 'restart', service: ServiceName) => Promise<{ text: string; tone: Tone }>;
  explain: (row: FeedRow, syftboxRoot: string | null) => { title: string; lines: string[] };
  refreshMs?: number;
  now?: () => number;
}

const VERB_ING = { start: 'starting', stop: 'stopping', restart: 'restarting' } as const;

/** Run the dashboard until `q`; resolves with the exit code. */
export function runDashboard(deps: DashboardDeps): Promise<number> {
  const { screen, sources } = deps;
  const now = deps.now ?? Date.now;
  const refreshMs = deps.refreshMs ?? REFRESH_MS;
  let state: UiState = initialState();
  let snap: Snapshot | undefined;
  let feed: FeedRow[] = [];
  let feedStart = 0;
  let timer: NodeJS.Timeout | undefined;
  let refreshing = false;
  let stopped = false;
  let resolveExit: (code: number) => void = () => {};

  const draw = () => {
    // Nothing until the first snapshot (a few ms): cards saying "not started" for a moment would be wrong.
    if (stopped || !snap) return;
    const inp: ScreenInput = {
      email: snap.status.config.email,
      daemon: snap.status.pm2.daemon === 'running' ? `PM2 daemon running (pm2 ${snap.status.pm2.daemonVersion ?? '?'})` : 'no PM2 daemon',
      cards: buildCards(snap.status.services, snap.lastActivity, snap.now, snap.status.notify),
      feed,
      state,
      now: now(),
    };
    const r = renderScreen(inp, screen.width, screen.height, feedStart);
    feedStart = r.feedStart;
    screen.paint(r.lines);
  };

  const refreshLogPanel = () => {
    if (state.panel?.kind !== 'logs') return;
    const lines = sources.logTail(state.panel.service, LOG_LINES);
    if (lines !== state.panel.lines) state = { ...state, panel: { ...state.panel, lines } };
  };

  const refresh = async () => {
    if (refreshing || stopped) return;
    refreshing = true;
    try {
      snap = await sources.snapshot();
      feed = snap.feed;
      state = reconcileFeed(state, feed);
      refreshLogPanel();
    } catch (e) {
      state = { ...state, message: { text: `Refresh failed: ${(e as Error)?.message ?? e}`, tone: 'bad' } };
    } finally {
      refreshing = false;
    }
    draw();
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void refresh().then(schedule), refreshMs);
  };

  const quit = (code: number) => {
    if (stopped) return;
    stopped = true;
    if (timer) clearTimeout(timer);
    screen.close();
    resolveExit(code);
  };

  const run = async (effect: Effect) => {
    switch (effect.type) {
      case 'quit':
        quit(0);
        return;
      case 'logs':
        refreshLogPanel();
        draw();
        return;
      case 'explain': {
        const x = deps.explain(effect.row, snap?.status.config.syftboxRoot ?? null);
        state = { ...state, panel: { kind: 'explain', title: x.title, lines: x.lines, scroll: 0 } };
        draw();
        return;
      }
      case 'control': {
        state = { ...state, busy: `${VERB_ING[effect.verb]} ${effect.service}…`, message: null };
        draw();
        let result: { text: string; tone: Tone };
        try {
          result = await deps.control(effect.verb, effect.service);
        } catch (e) {
          result = { text: `${effect.verb} ${effect.service} failed: ${(e as Error)?.message ?? e}`, tone: 'bad' };
        }
        state = { ...state, busy: null, message: result };
        await refresh();
        return;
      }
    }
  };

  screen.onKey((name) => {
    if (stopped) return;
    const pageSize = bodyRows(screen.width, screen.height, state.panel !== null, SERVICES.length);
    const action = keyToAction(name, state.panel?.kind ?? null, pageSize);
    if (!action) return;
    const r = reduce(state, action, feed);
    state = r.state;
    draw();
    if (r.effect) void run(r.effect);
  });
  screen.onResize(() => draw());

  return new Promise<number>((resolve) => {
    resolveExit = resolve;
    void refresh().then(schedule);
  });
}

/** The bare `syft-bg` on a terminal: open the dashboard on the real terminal, exit when it closes. */
export async function run(): Promise<void> {
  const { openScreen } = require('./terminal') as typeof import('./terminal');
  const { createSources } = require('./sources') as typeof import('./sources');
  const { captureOutput, runControl, explainRow } = require('./actions') as typeof import('./actions');
  const screen = openScreen();
  // pm2's `[PM2] Starting …` lines and stderr warnings would scribble over the screen: drop them (the results
  // come back as the commands' reports).
  const restore = captureOutput(() => {});
  // A bug must not leave the terminal raw on the alternate screen with its stack trace swallowed.
  const crash = (e: unknown) => {
    screen.close();
    restore();
    process.stderr.write(`syft-bg: internal error (please report it): ${(e as Error)?.stack ?? e}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  let code: number;
  try {
    code = await runDashboard({ screen, sources: createSources(), control: runControl, explain: explainRow });
  } finally {
    screen.close();
    restore();
  }
  // pm2's client (loaded by a start/stop) can leave handles open: the dashboard is done, so is the process.
  process.exit(code);
}
