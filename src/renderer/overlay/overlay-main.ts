/**
 * The OBS browser source (`/overlay`): the avatar alone, on a page transparent everywhere but the
 * model (or filled with a key colour for OBS's chroma key), driven by the session's events through
 * a read-only view socket. Options come from the query (options.ts). With `audio=1` this page takes
 * the session's audio and plays the reply (OBS captures it with the source); otherwise the reply
 * plays in the studio and the mouth follows each chunk's timing (the player store does both).
 */
import '../zod-jitless.js';
// Sets the page's language (?lang=, else the system's) before the options are read.
import '../i18n/index.js';
import { usePlayer } from '../stores/player.js';
import { getToken } from '../voice/token.js';
import { mountAvatar, hasAvatarModule, type OverlayAvatar } from './avatar-mount.js';
import { chooseModel, fetchModelList } from './model-choice.js';
import { parseOverlayOptions } from './options.js';
import { exposeDebug, showProblems, startView } from './page.js';

const { options, problems } = parseOverlayOptions(window.location.search);

// The key colour fills the whole page, not only the canvas, so no edge of the source is left black.
const fill = options.background === 'transparent' ? 'transparent' : options.background;
document.documentElement.style.background = fill;
document.body.style.background = fill;

const session = startView(options.audio);
const player = usePlayer();
const log: string[] = [];
const emotions: { tag: string; applied: boolean }[] = [];
let avatar: OverlayAvatar | undefined;
let modelId: string | undefined;
let failed: string | undefined;

const say = (msg: string) => {
  log.push(msg);
  if (log.length > 100) log.shift();
  console.info(`[overlay] ${msg}`);
};

session.subscribe({
  onEvent(ev) {
    if (ev.type !== 'emotion') return;
    const applied = avatar?.emotion(ev.emotion) ?? false;
    emotions.push({ tag: ev.emotion, applied });
    if (emotions.length > 50) emotions.shift();
  },
});

exposeDebug('__favOverlay', {
  options,
  problems,
  stats: () => ({
    connection: session.connection.value,
    role: session.role.value,
    audio: session.audio.value,
    chunks: player.player.stats.chunks,
    timingFrames: player.debug.timingFrames,
    mouthMax: player.debug.mouthMax,
    mouth: player.mouth.value,
    avatarModule: hasAvatarModule,
    avatar: avatar !== undefined,
    model: modelId,
    failed,
    emotions: emotions.slice(),
    log: log.slice(),
  }),
});

/** Mounts the avatar and loads the model; resolves with problems found on the way. */
async function start(): Promise<string[]> {
  const host = document.getElementById('stage')!;
  const mounted = await mountAvatar(host, {
    fpsCap: options.fps,
    followPointer: options.follow,
    interactive: false,
    background: options.background,
    log: say,
  });
  if (!mounted) return [];
  avatar = mounted.avatar;
  // The store's mouthShape (the level at the play position, shaped by visemes) where it has one;
  // otherwise its mouth level, which follows the audio or the timing alike.
  const shape = (player as { mouthShape?: () => { open: number; form?: number } }).mouthShape;
  avatar.setMouthSource(shape ?? (() => ({ open: player.mouth.value })));
  const list = await fetchModelList(fetch, await getToken()).catch((err: Error) => {
    say(`${err.message}: showing the built-in model`);
    return undefined;
  });
  const choice = chooseModel(list, options, mounted.builtin);
  await avatar.load(choice.model);
  modelId = choice.model.id;
  return choice.problem ? [choice.problem] : [];
}

showProblems(problems);
start().then(
  (late) => {
    problems.push(...late);
    showProblems(late);
  },
  (err: Error) => {
    failed = err.message;
    showProblems([`the avatar could not be shown: ${err.message}`]);
  },
);
