/**
 * The dashboard's screen layout (pure): the view model → exactly `height` lines of exactly `width` cells, each a
 * list of styled segments. The terminal layer only paints them, so the whole layout (cards side by side or stacked,
 * feed scrolling, panels, truncation at any size) is unit-tested as plain text.
 */
import type { FeedRow, ServiceCard, Tone, UiState } from './model';
import { fit, formatFeedTime, textWidth, truncate } from './text';

export type Style = 'plain' | 'title' | 'dim' | 'heading' | 'selected' | 'border' | 'borderSelected' | Tone;

export interface Segment {
  text: string;
  style: Style;
}
export type Line = Segment[];

export interface ScreenInput {
  email: string | null;
  /** `pm2 7.0.4`, `no PM2 daemon`, … */
  daemon: string;
  cards: ServiceCard[];
  feed: FeedRow[];
  state: UiState;
  now: number;
}

/** Width under which cards are stacked instead of side by side. */
export const SIDE_BY_SIDE_MIN = 64;
export const CARD_HEIGHT = 7;

const seg = (text: string, style: Style = 'plain'): Segment => ({ text, style });

/** A line made exactly `width` cells: segments cut where the width runs out, padded with spaces at the end. */
export function fitLine(line: Line, width: number, fill: Style = 'plain'): Line {
  const out: Line = [];
  let left = width;
  for (const s of line) {
    if (left <= 0) break;
    const w = textWidth(s.text);
    if (w <= left) {
      if (s.text) out.push(s);
      left -= w;
    } else {
      const t = truncate(s.text, left);
      out.push({ text: t, style: s.style });
      left -= textWidth(t);
    }
  }
  if (left > 0) out.push(seg(' '.repeat(left), fill));
  return out;
}

export function lineText(line: Line): string {
  return line.map((s) => s.text).join('');
}

const MARK: Record<Tone, string> = { good: '●', warn: '◐', bad: '✖', neutral: '○' };

function card(c: ServiceCard, width: number, selected: boolean): Line[] {
  const b: Style = selected ? 'borderSelected' : 'border';
  const [h, v, tl, tr, bl, br] = selected ? ['━', '┃', '┏', '┓', '┗', '┛'] : ['─', '│', '┌', '┐', '└', '┘'];
  const inner = Math.max(0, width - 4);
  const title = truncate(` ${c.name}${selected ? ' ◀' : ''} `, Math.max(0, width - 3));
  const top: Line = [seg(tl + h, b), seg(title, selected ? 'heading' : 'plain'), seg(h.repeat(Math.max(0, width - 3 - textWidth(title))) + tr, b)];
  const row = (content: Line): Line => [seg(v + ' ', b), ...fitLine(content, inner), seg(' ' + v, b)];
  const body: Line[] = [
    row([seg(`${MARK[c.tone]} ${c.state}`, c.tone)]),
    row([seg(`pid ${c.pid}`.padEnd(12)), seg(`up ${c.uptime}`)]),
    row([seg(`restarts ${c.restarts}`.padEnd(12)), seg(`mem ${c.memory}`.padEnd(13)), seg(`cpu ${c.cpu}`)]),
    row([seg(`last activity ${c.lastActivity}`)]),
    row(c.detail && c.tone !== 'good' ? [seg(c.detail, c.tone)] : c.note ? [seg(c.note.text, c.note.tone)] : [seg(c.description, 'dim')]),
  ];
  const bottom: Line = [seg(bl + h.repeat(Math.max(0, width - 2)) + br, b)];
  if (width < 4) return [top, ...body, bottom].map((l) => fitLine(l, width));
  return [top, ...body, bottom];
}

/** How the cards are laid out: side by side, stacked, or (short and narrow screens) only the selected one. */
export function cardLayout(width: number, height: number, cardCount: number): { mode: 'side' | 'stacked' | 'selected'; rows: number } {
  if (width >= SIDE_BY_SIDE_MIN && cardCount === 2) return { mode: 'side', rows: CARD_HEIGHT };
  const stacked = cardCount * CARD_HEIGHT;
  // Keep at least a few feed rows: title, heading and footer take 4.
  if (height - 4 - stacked >= 3 || cardCount <= 1) return { mode: 'stacked', rows: stacked };
  return { mode: 'selected', rows: CARD_HEIGHT };
}

function cardsBlock(cards: ServiceCard[], selected: number, width: number, height: number): Line[] {
  const { mode } = cardLayout(width, height, cards.length);
  if (mode === 'side') {
    const w0 = Math.floor(width / 2);
    const a = card(cards[0]!, w0, selected === 0);
    const b = card(cards[1]!, width - w0, selected === 1);
    return a.map((l, i) => [...l, ...(b[i] ?? [])]);
  }
  if (mode === 'selected') return cards[selected] ? card(cards[selected]!, width, true) : [];
  return cards.flatMap((c, i) => card(c, width, i === selected));
}

function feedLine(r: FeedRow, width: number, now: number, selected: boolean): Line {
  const time = formatFeedTime(r.time, now).padEnd(11);
  const src = r.source.padEnd(8);
  const label = r.label.padEnd(13);
  const rest = Math.max(0, width - 2 - textWidth(time) - textWidth(src) - textWidth(label));
  const subjW = Math.min(Math.max(12, Math.floor(rest * 0.45)), rest);
  const subject = fit(r.subject, subjW);
  const line: Line = [seg(selected ? '▶ ' : '  '), seg(time, 'dim'), seg(src), seg(label, r.tone), seg(subject), seg(' ' + r.detail, 'dim')];
  if (!selected) return fitLine(line, width);
  return fitLine(line.map((s) => ({ ...s, style: 'selected' as Style })), width, 'selected');
}

/** The first row of the window of `height` rows that keeps `index` visible (scrolling as little as needed). */
export function windowStart(index: number, count: number, height: number, previous = 0): number {
  if (height <= 0 || count <= height) return 0;
  let start = Math.min(Math.max(0, previous), count - height);
  if (index < start) start = index;
  if (index >= start + height) start = index - height + 1;
  return start;
}

const KEYS_MAIN = '←/→ service  ↑/↓ feed  s start  t stop  r restart  l logs  e explain  q quit';
const KEYS_LOGS = '←/→ service  ↑/↓ PgUp/PgDn scroll  s start  t stop  r restart  l/Esc close  q quit';
const KEYS_EXPLAIN = '↑/↓ PgUp/PgDn scroll  e/Esc close  q quit';

/** The rows the feed (or a panel) gets on a screen of this size. */
export function bodyRows(width: number, height: number, panelOpen: boolean, cardCount: number): number {
  const header = 1;
  const footer = 2;
  if (panelOpen) return Math.max(0, height - header - footer - 1);
  return Math.max(0, height - header - footer - cardLayout(width, height, cardCount).rows - 1);
}

export interface Rendered {
  lines: Line[];
  /** First feed row shown (pass it back next time so the feed scrolls smoothly). */
  feedStart: number;
}

export function renderScreen(inp: ScreenInput, width: number, height: number, previousFeedStart = 0): Rendered {
  width = Math.max(0, Math.floor(width));
  height = Math.max(0, Math.floor(height));
  const st = inp.state;
  const lines: Line[] = [];
  const clock = formatFeedTime(inp.now, inp.now);
  const head = ` syft-bg  ${inp.email ?? 'not configured'}  ·  ${inp.daemon}`;
  lines.push(fitLine([seg(fit(head, Math.max(0, width - clock.length - 1)), 'title'), seg(clock + ' ', 'title')], width, 'title'));

  const rows = bodyRows(width, height, st.panel !== null, inp.cards.length);
  let feedStart = 0;
  if (st.panel) {
    const p = st.panel;
    const title = p.kind === 'logs' ? ` Logs: ${p.service}` : ` ${p.title}`;
    const count = p.lines.length;
    let start: number;
    if (p.kind === 'logs') {
      const scroll = Math.min(p.scroll, Math.max(0, count - rows));
      start = Math.max(0, count - rows - scroll);
    } else start = Math.min(p.scroll, Math.max(0, count - rows));
    const pos = count > rows ? `  (${start + 1}-${Math.min(count, start + rows)} of ${count})` : '';
    lines.push(fitLine([seg(title, 'heading'), seg(pos, 'dim')], width));
    const shown = p.lines.slice(start, start + rows);
    if (count === 0) shown.push(p.kind === 'logs' ? `No log lines yet for ${p.service}.` : '(nothing)');
    for (const l of shown.slice(0, rows)) lines.push(fitLine([seg(' ' + l)], width));
  } else {
    lines.push(...cardsBlock(inp.cards, st.selectedService, width, height).map((l) => fitLine(l, width)));
    const heading = ` Activity: approve decisions and notify e-mails (${inp.feed.length})`;
    lines.push(fitLine([seg(heading, 'heading')], width));
    if (inp.feed.length === 0) {
      if (rows > 0) lines.push(fitLine([seg('  No decisions or e-mails yet.', 'dim')], width));
    } else {
      feedStart = windowStart(st.feedIndex, inp.feed.length, rows, previousFeedStart);
      inp.feed.slice(feedStart, feedStart + rows).forEach((r, i) => lines.push(feedLine(r, width, inp.now, feedStart + i === st.feedIndex)));
    }
  }

  // Footer: the last two rows, whatever the body left.
  const body = lines.slice(0, Math.max(0, height - 2));
  while (body.length < height - 2) body.push(fitLine([], width));
  const msg: Line = st.busy ? [seg(` … ${st.busy}`, 'warn')] : st.message ? [seg(' ' + st.message.text, st.message.tone)] : [];
  const keys = st.panel?.kind === 'logs' ? KEYS_LOGS : st.panel?.kind === 'explain' ? KEYS_EXPLAIN : KEYS_MAIN;
  const footer = [fitLine(msg, width), fitLine([seg(' ' + keys, 'dim')], width)];
  const all = height >= 2 ? [...body, ...footer] : [...body, ...footer].slice(-height);
  return { lines: all.slice(0, height), feedStart };
}
