/**
 * The OBS subtitles layer (`/overlay/subtitles`): the sentence the avatar is speaking (and, with
 * `question=1`, the viewer's question), on a transparent page of its own so the streamer places and
 * sizes it in OBS. Style from the query (subtitle-options.ts); which text shows when, in
 * subtitle-state.ts. A read-only view socket; it never takes the audio.
 */
import '../zod-jitless.js';
// Sets the page's language (?lang=, else the system's) before the options are read.
import '../i18n/index.js';
// Replies are often Chinese: the shipped Noto Sans SC draws them where the system has no CJK font.
import '@fontsource/noto-sans-sc/400.css';
import { exposeDebug, showProblems, startView } from './page.js';
import { outlineShadow, parseSubtitleOptions, type SubtitleOptions } from './subtitle-options.js';
import { SubtitleState, type SubtitleView } from './subtitle-state.js';

const { options, problems } = parseSubtitleOptions(window.location.search);

function applyStyle(box: HTMLElement, o: SubtitleOptions): void {
  box.dataset.position = o.position;
  box.style.fontFamily = `${o.font}, 'Noto Sans SC'`;
  box.style.fontSize = `${o.size}px`;
  box.style.color = o.color;
  box.style.textAlign = o.align;
  box.style.textShadow = outlineShadow(o.outlineWidth, o.outline);
  for (const line of box.querySelectorAll<HTMLElement>('.line')) line.style.webkitLineClamp = String(o.maxLines);
}

const box = document.getElementById('subtitles')!;
const questionEl = box.querySelector<HTMLElement>('.question')!;
const sentenceEl = box.querySelector<HTMLElement>('.sentence')!;
applyStyle(box, options);

/** What was shown when, and when the events that decide it arrived (page clock, ms), for the debug view. */
const history: { view: SubtitleView; at: number }[] = [];
const events: { type: string; turn?: string; at: number }[] = [];
const keep = <T>(list: T[], item: T) => {
  list.push(item);
  if (list.length > 200) list.shift();
};

function render(view: SubtitleView): void {
  questionEl.textContent = view.question ?? '';
  sentenceEl.textContent = view.sentence ?? '';
  box.dataset.turn = view.turnId ?? '';
  keep(history, { view, at: performance.now() });
}

const state = new SubtitleState(
  { fadeMs: options.fadeMs, question: options.question },
  { now: () => performance.now() / 1000, setTimeout: (fn, ms) => window.setTimeout(fn, ms), clearTimeout: (h) => window.clearTimeout(h as number) },
  render,
);

const session = startView(false);
session.subscribe({
  onEvent(ev) {
    if (ev.type !== 'reply_delta') keep(events, { type: ev.type, turn: 'turn_id' in ev ? ev.turn_id : undefined, at: performance.now() });
    state.handle(ev);
  },
});

exposeDebug('__favSubtitles', {
  options,
  problems,
  stats: () => ({ connection: session.connection.value, view: state.view, history: history.slice(), events: events.slice() }),
});

showProblems(problems);
