/**
 * The studio session WebSocket (`WS /api/session`): the roles a socket takes, the commands it
 * sends, and the role notices the gateway sends it. Re-exported by voice.ts (whose ClientEvent
 * union includes `SessionRoleEvent`). Imports nothing of the project on purpose: voice.ts imports
 * this file, so an import back would be a cycle.
 *
 * Roles, chosen at connect with `?role=` and `?audio=`:
 *   control  the studio: needs the token; sends commands (text, mic, stop) and mic PCM
 *   view     read-only (an OBS overlay): every event of the session (transcripts, reply text,
 *            emotion, turn state, errors) and, instead of each audio chunk, its `audio_timing`
 *            (loudness envelope, visemes, duration; no PCM). Without the token it is let in only
 *            for programs on the gateway's machine that are not web pages of other sites.
 *   audio    a flag on either role: THE socket of the session that gets the PCM and reports
 *            `playback_done`. One per session. The latest claim wins (`?audio=1` at connect, or a
 *            `claim_audio` command): the socket that had it gets a `session_role` notice with
 *            `audio: false`, and gets it back (with a notice) when the claimer closes.
 * `audio` defaults to 1 for control (the studio as it always worked: one window plays) and to 0
 * for view. A view socket may claim the audio (an overlay that plays the voice into OBS).
 */
import { z } from 'zod';

/** The session the studio page and the overlay join when the address names none (`?session=`). */
export const STUDIO_SESSION = 'studio';

export const SessionRole = z.enum(['control', 'view']);
export type SessionRole = z.infer<typeof SessionRole>;

/**
 * Client -> server JSON frames. Binary frames from a control socket are mic PCM (16 kHz s16le
 * mono) between mic_start and mic_stop. A view socket may send only claim_audio, and playback_done
 * and heard while it has the audio.
 */
export const SessionCommand = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: z.string().min(1), source: z.enum(['typed', 'chat']).default('typed'), author: z.string().optional() }),
  z.object({ type: z.literal('mic_start'), sample_rate: z.literal(16000).default(16000), language: z.string().optional() }),
  z.object({ type: z.literal('mic_stop') }),
  /** Stop the current turn now (the stop button). */
  z.object({ type: z.literal('stop') }),
  /** The audio socket finished playing a turn's audio. */
  z.object({ type: z.literal('playback_done'), turn_id: z.string() }),
  /** Make this socket the session's audio socket (answered with a `session_role` notice). */
  z.object({ type: z.literal('claim_audio') }),
  /**
   * The audio socket started playing a turn's first audio `ago_ms` ago (the manager's latency chart:
   * the gateway stamps it with its own clock, so the page's clock never has to agree with the core's).
   */
  z.object({ type: z.literal('heard'), turn_id: z.string().min(1), ago_ms: z.number().min(0).max(60_000).default(0) }),
]);
export type SessionCommand = z.infer<typeof SessionCommand>;

/** Server -> client: this socket's role now, sent when its audio changes (never on connect). */
export const SessionRoleEvent = z.object({
  type: z.literal('session_role'),
  session_id: z.string(),
  role: SessionRole,
  /** This socket is now (true) or no longer (false) the one that gets the PCM. */
  audio: z.boolean(),
  reason: z.string(),
});
export type SessionRoleEvent = z.infer<typeof SessionRoleEvent>;

/**
 * Server -> every socket of the session: the control API (or a hotkey) muted or unmuted the
 * studio's microphone. A muted studio stops capturing (sends mic_stop) and refuses to start the
 * mic until unmuted; unmuting restarts the mic only if it was on when the mute came.
 */
export const MicMuteEvent = z.object({
  type: z.literal('mic_mute'),
  session_id: z.string(),
  muted: z.boolean(),
  reason: z.string().optional(),
});
export type MicMuteEvent = z.infer<typeof MicMuteEvent>;

export interface SessionAccess {
  role: SessionRole;
  audio: boolean;
}

/**
 * The role asked for in a connect query (`role`, `audio`), or an error message naming the fix.
 * Missing values take the defaults above.
 */
export function parseSessionAccess(query: { role?: unknown; audio?: unknown }): SessionAccess | { error: string } {
  const roleRaw = query.role === undefined || query.role === '' ? 'control' : query.role;
  const role = SessionRole.safeParse(roleRaw);
  if (!role.success) return { error: 'invalid ?role=: control (the studio, with the token) or view (read-only, e.g. an overlay)' };
  const a = query.audio;
  if (a === undefined || a === '') return { role: role.data, audio: role.data === 'control' };
  if (a === '1' || a === 'true') return { role: role.data, audio: true };
  if (a === '0' || a === 'false') return { role: role.data, audio: false };
  return { error: 'invalid ?audio=: 1 (this socket plays the audio) or 0' };
}
