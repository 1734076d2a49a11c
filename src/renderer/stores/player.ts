/**
 * The page's one audio player, as a store: plays the reply audio the session store receives while
 * this page's socket has the audio, reports playback_done through it, and exposes the mouth value
 * (for the meter now, the avatar later) and whether the browser blocks audio until a gesture.
 * Any click or key on the page lets a suspended audio context start.
 *
 * When the gateway moves the audio to another socket of the session, what is still scheduled here
 * stops at once (the other window plays from there on), no playback_done is sent from here, and
 * the mouth follows the `audio_timing` of each chunk instead (mouth-timeline.ts).
 */
import { readonly, ref, shallowRef } from 'vue';
import { mouthOpenFromLevel, type MouthShape } from '../avatar/mouth.js';
import { shapeMouth, VisemeTrack } from '../avatar/visemes.js';
import { MouthTimeline } from '../voice/mouth-timeline.js';
import { Player } from '../voice/player.js';
import { useSession, type SessionStore } from './session.js';

/** How often the mouth follows a timeline while the audio plays elsewhere (about one display frame). */
const MOUTH_UPDATE_MS = 16;
/** Entries kept in the debug traces. */
const MAX_DONE = 32;
const MAX_TRACE = 512;

function createPlayerStore(session: SessionStore) {
  /** Mouth-open value in [0, 1] from the playing audio's envelope. */
  const mouth = shallowRef(0);
  const audioBlocked = ref(false);
  /** For the page's debug view: what playback reported. */
  const debug = { mouthMax: 0, mouthFrames: 0, timingFrames: 0, playbackDone: [] as string[], mouthTrace: [] as [number, number][] };

  const player = new Player({
    onPlaybackDone(turnId) {
      debug.playbackDone.push(turnId);
      if (debug.playbackDone.length > MAX_DONE) debug.playbackDone.shift();
      if (session.audio.value) session.send({ type: 'playback_done', turn_id: turnId });
    },
    onMouth(value, at) {
      mouth.value = value;
      debug.mouthTrace.push([at, value]);
      if (debug.mouthTrace.length > MAX_TRACE) debug.mouthTrace.shift();
      if (value > 0) debug.mouthFrames++;
      if (value > debug.mouthMax) debug.mouthMax = value;
    },
    onBlocked(blocked) {
      audioBlocked.value = blocked;
    },
    onHeard(turnId, agoMs) {
      if (session.audio.value) session.send({ type: 'heard', turn_id: turnId, ago_ms: Math.min(60_000, Math.round(agoMs)) });
    },
  });

  // The audio plays in another window: the mouth follows its timing instead (mouth-timeline.ts).
  const timeline = new MouthTimeline();
  // Visemes on each clock: the player's context time, and this page's clock for the timeline.
  const heardVisemes = new VisemeTrack();
  const timedVisemes = new VisemeTrack();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const seconds = () => performance.now() / 1000;
  const tick = () => {
    timer = undefined;
    const value = timeline.valueAt(seconds());
    if (value !== mouth.value) {
      mouth.value = value;
      debug.timingFrames++;
    }
    if (timeline.busy) timer = setTimeout(tick, MOUTH_UPDATE_MS);
  };

  const unsubscribe = session.subscribe({
    onEvent(ev) {
      if (ev.type === 'audio_timing') {
        const span = timeline.add(ev, seconds());
        if (span) timedVisemes.add(ev.turn_id, ev.index, ev.chunk, span.start, span.end, ev.visemes);
        timer ??= setTimeout(tick, 0);
        return;
      }
      if (ev.type === 'stop') {
        player.stop(ev.turn_id);
        timeline.stop(ev.turn_id);
        heardVisemes.stop(ev.turn_id);
        timedVisemes.stop(ev.turn_id);
      } else if (ev.type === 'audio_end') player.audioEnd(ev.turn_id);
      else if (ev.type === 'turn_end') player.turnEnd(ev.turn_id);
      else if (ev.type === 'session_role') {
        if (ev.audio) timeline.stop();
        else player.stop();
        heardVisemes.stop();
        timedVisemes.stop();
      }
    },
    onAudio(meta, pcm) {
      const span = player.enqueue(meta, pcm);
      if (span) heardVisemes.add(meta.turn_id, meta.index, meta.chunk, span.start, span.end, meta.visemes);
    },
  });

  const onGesture = () => player.resume();
  document.addEventListener('pointerdown', onGesture, true);
  document.addEventListener('keydown', onGesture, true);

  /**
   * The mouth for the avatar, read once per rendered frame: the envelope of the audio being heard
   * now (or of the audio playing in another window, from its timing), as an opening, shaped by
   * the viseme at that moment where there is one.
   */
  function mouthShape(): MouthShape {
    const ctx = player.context;
    if (ctx) {
      const level = player.mouthNow();
      if (level > 0) {
        const t = player.playingTime(ctx);
        heardVisemes.prune(t);
        return shapeMouth(mouthOpenFromLevel(level), heardVisemes.visemeAt(t));
      }
    }
    if (timeline.busy) {
      const t = seconds();
      timedVisemes.prune(t);
      return shapeMouth(mouthOpenFromLevel(timeline.valueAt(t)), timedVisemes.visemeAt(t));
    }
    return { open: 0 };
  }

  return {
    player,
    mouthShape,
    mouth: readonly(mouth),
    audioBlocked: readonly(audioBlocked),
    debug,
    /** Call from a user gesture so a suspended audio context may start. */
    resume: onGesture,
    /** Silence now: one turn's audio, or all of it. */
    stop(turnId?: string): void {
      player.stop(turnId);
      timeline.stop(turnId);
      heardVisemes.stop(turnId);
      timedVisemes.stop(turnId);
    },
    dispose(): void {
      unsubscribe();
      clearTimeout(timer);
      timeline.stop();
      document.removeEventListener('pointerdown', onGesture, true);
      document.removeEventListener('keydown', onGesture, true);
      player.dispose();
    },
  };
}

export type PlayerStore = ReturnType<typeof createPlayerStore>;

let store: PlayerStore | undefined;

/** The page's player store, fed by the page's session store (created on first use). */
export function usePlayer(): PlayerStore {
  return (store ??= createPlayerStore(useSession()));
}

export function disposePlayer(): void {
  store?.dispose();
  store = undefined;
}
