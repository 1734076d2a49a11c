/**
 * The OBS subtitles layer (`/overlay/subtitles`): the sentence the avatar is speaking (and, with
 * `question=1`, the viewer's question), on a transparent page of its own so the streamer places and
 * sizes it in OBS. Style from the query (subtitle-options.ts); which text shows when, in
 * subtitle-state.ts. A read-only view socket; it never takes the audio.
 */
import '../zod-jitless.js';
import { exposeDebug, showProblems, startView } from './page.js';
import { outlineShadow, parseSubtitleOptions, type SubtitleOptions } from './subtitle-options.js';
import { SubtitleState, type SubtitleView } from './subtitle-state.js';

const { options, problems } = parseSubtitleOptions(window.location.search);

function applyStyle(box: HTMLElement, o: SubtitleOptions): void {
  box.dataset.position = o.position;
  box.style.fontFamily = o.font;
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

const history: SubtitleView[] = [];
function render(view: SubtitleView): void {
  questionEl.textContent = view.question ?? '';
  sentenceEl.textContent = view.sentence ?? '';
  box.dataset.turn = view.turnId ?? '';
  history.push(view);
  if (history.length > 100) history.shift();
}

const state = new SubtitleState(
  { fadeMs: options.fadeMs, question: options.question },
  { now: () => performance.now() / 1000, setTimeout: (fn, ms) => window.setTimeout(fn, ms), clearTimeout: (h) => window.clearTimeout(h as number) },
  render,
);

const session = startView(false);
session.subscribe({ onEvent: (ev) => state.handle(ev) });

exposeDebug('__favSubtitles', {
  options,
  problems,
  stats: () => ({ connection: session.connection.value, view: state.view, history: history.slice() }),
});

showProblems(problems);
