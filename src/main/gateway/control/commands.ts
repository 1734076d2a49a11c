/**
 * The stream-control commands behind `/api/control` (HTTP and WebSocket alike): mute, unmute, stop,
 * skip, say, expression, persona, state. Each answers `{ ok: true, command, ... }` or a
 * ControlError (a stable `code`, an HTTP status, a message that names the fix).
 *
 *   mute / unmute   a `mic_mute` ClientEvent to every socket of the session: the studio page stops
 *                   (or may restart) its mic; `studios` says how many studio pages got it
 *   stop            the stop button's path: ControlEvent stop on fav:control
 *   skip            the inputs waiting behind the reply (the dialog engine's copy of them in
 *                   fav:dialog:active): one ControlEvent cancel per waiting turn; the reply in flight
 *                   goes on. An input that starts between the read and the cancel is cancelled too.
 *   say             a UserInput of source `say` straight on fav:dialog:inputs (no input-handler hop:
 *                   the text needs no normalising); it waits behind a reply like typed text
 *   expression      an `emotion` ClientEvent (no turn) to the session's sockets: the studio's avatar
 *                   and the OBS overlay show it through their emotion maps
 *   persona         the persona of that name from the settings on the bus (CONFIG_KEY) becomes the
 *                   one chat-ai speaks as from the next turn (ACTIVE_PERSONA_KEY + fav:persona)
 *   state           what a deck (and the studio page) shows: muted, persona, the choices, the hotkeys
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ACTIVE_PERSONA_KEY, CONFIG_KEY, Channels, DIALOG_ACTIVE_KEY, Queues, type PersonaNotice } from '../../../shared/bus.js';
import { ConfigSchema, personaList, type Config, type PersonaEntry } from '../../../shared/config.js';
import { EMOTIONS, Emotion, nowMs, type ClientEvent, type UserInput } from '../../../shared/voice.js';
import type { VoiceBus } from '../voice/bus-link.js';
import { controlEvent } from '../voice/messages.js';
import { SESSION_ID } from '../voice/options.js';

export const CONTROL_COMMANDS = ['mute', 'unmute', 'stop', 'skip', 'say', 'expression', 'persona', 'state'] as const;
export type ControlCommand = (typeof CONTROL_COMMANDS)[number];

export const ControlErrorCodes = {
  unauthorized: 'unauthorized',
  notLoopback: 'not_loopback',
  unknownCommand: 'unknown_command',
  badArguments: 'bad_arguments',
  textEmpty: 'text_empty',
  textTooLong: 'text_too_long',
  unknownExpression: 'unknown_expression',
  unknownPersona: 'unknown_persona',
  busUnavailable: 'bus_unavailable',
} as const;

export class ControlError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** What the commands need of the gateway. */
export interface ControlDeps {
  bus: Pick<VoiceBus, 'push' | 'publish' | 'get' | 'set' | 'hget'>;
  /** Sends a ClientEvent to every socket of its session, as if it came from the pipeline. */
  deliver(event: ClientEvent): void;
  /** Open studio (control) and overlay (view) sockets of a session. */
  socketCounts(sessionId: string): { control: number; view: number };
  defaultSession: string;
  maxTextChars: number;
}

export type ControlResult = { ok: true; command: ControlCommand; session: string } & Record<string, unknown>;

/** What a deck may want to show; pushed to control sockets when it changes. */
export interface ControlState {
  session: string;
  muted: boolean;
  persona: string;
}

const Args = z.object({
  session: z.string().regex(SESSION_ID, 'letters, digits, _ . : - (at most 128)').optional(),
  text: z.string().optional(),
  name: z.string().optional(),
});

const Kept = z.object({ waiting: z.array(z.object({ turn_id: z.string() })).default([]) });

export class ControlCenter {
  private readonly muted = new Map<string, boolean>();
  private readonly listeners = new Set<(s: ControlState) => void>();

  constructor(private readonly deps: ControlDeps) {}

  /** Calls `listener` with the session's state after every change (mute, persona). */
  onChange(listener: (s: ControlState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async run(command: string, raw: unknown): Promise<ControlResult> {
    if (!(CONTROL_COMMANDS as readonly string[]).includes(command)) {
      throw new ControlError(ControlErrorCodes.unknownCommand, 404, `unknown command '${command}': use one of ${CONTROL_COMMANDS.join(', ')}`);
    }
    const parsed = Args.safeParse(raw ?? {});
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
      throw new ControlError(ControlErrorCodes.badArguments, 400, `invalid arguments for '${command}' (${why}); send a JSON object, e.g. {"text":"hello"}`);
    }
    const args = parsed.data;
    const session = args.session ?? this.deps.defaultSession;
    const base = { ok: true as const, command: command as ControlCommand, session };
    try {
      switch (command as ControlCommand) {
        case 'mute':
        case 'unmute':
          return { ...base, ...this.mute(session, command === 'mute') };
        case 'stop':
          await this.deps.bus.publish(Channels.control, controlEvent('stop', session, 'control api: stop'));
          return base;
        case 'skip':
          return { ...base, skipped: await this.skip(session) };
        case 'say':
          return { ...base, turn_id: await this.say(session, args.text) };
        case 'expression':
          return { ...base, ...this.expression(session, args.name) };
        case 'persona':
          return { ...base, ...(await this.persona(session, args.name)) };
        case 'state': {
          const config = await this.config();
          return { ...base, ...(await this.state(session)), personas: personaList(config).map((p) => p.name), expressions: [...EMOTIONS], hotkeys: config.hotkeys };
        }
      }
    } catch (err) {
      if (err instanceof ControlError) throw err;
      throw new ControlError(ControlErrorCodes.busUnavailable, 503, `the pipeline is unreachable (bus: ${(err as Error).message}); try again when /health is ok`);
    }
  }

  async state(session: string): Promise<ControlState> {
    return { session, muted: this.muted.get(session) ?? false, persona: (await this.activePersona()).name };
  }

  private mute(session: string, muted: boolean): { muted: boolean; studios: number } {
    this.muted.set(session, muted);
    this.deps.deliver({ type: 'mic_mute', session_id: session, muted, reason: 'control api' });
    void this.changed(session);
    return { muted, studios: this.deps.socketCounts(session).control };
  }

  private async skip(session: string): Promise<number> {
    const raw = await this.deps.bus.hget(DIALOG_ACTIVE_KEY, session);
    if (!raw) return 0;
    let kept: z.infer<typeof Kept> | undefined;
    try {
      kept = Kept.parse(JSON.parse(raw));
    } catch {
      return 0; // a bare UserInput (an older engine's form): nothing waits
    }
    for (const w of kept.waiting) await this.deps.bus.publish(Channels.control, controlEvent('cancel', session, 'control api: skip', w.turn_id));
    return kept.waiting.length;
  }

  private async say(session: string, text: string | undefined): Promise<string> {
    const t = text?.trim() ?? '';
    if (!t) throw new ControlError(ControlErrorCodes.textEmpty, 400, 'nothing to say: send {"text":"what the avatar should say"}');
    if (t.length > this.deps.maxTextChars) throw new ControlError(ControlErrorCodes.textTooLong, 400, `text too long: ${t.length} characters, the limit is ${this.deps.maxTextChars} (settings input.maxTextChars)`);
    const id = randomUUID();
    const input: UserInput = { session_id: session, turn_id: id, task_id: id, event_id: randomUUID(), ts: Date.now(), marks: { input: nowMs() }, source: 'say', text: t };
    await this.deps.bus.push(Queues.dialogInputs, input);
    return id;
  }

  private expression(session: string, name: string | undefined): { expression: Emotion; sockets: number } {
    const e = Emotion.safeParse(name?.trim().toLowerCase());
    if (!e.success) throw new ControlError(ControlErrorCodes.unknownExpression, 400, `unknown expression '${name ?? ''}': use one of ${EMOTIONS.join(', ')} (each model maps them in the studio's model panel)`);
    this.deps.deliver({ type: 'emotion', session_id: session, turn_id: '-', emotion: e.data });
    const c = this.deps.socketCounts(session);
    return { expression: e.data, sockets: c.control + c.view };
  }

  private async persona(session: string, name: string | undefined): Promise<{ persona: string; personas: string[] }> {
    const list = await this.personas();
    const names = list.map((p) => p.name);
    const wanted = name?.trim() ?? '';
    const p = list.find((x) => x.name === wanted) ?? list.find((x) => x.name.toLowerCase() === wanted.toLowerCase());
    if (!p) throw new ControlError(ControlErrorCodes.unknownPersona, 404, `no persona named '${wanted}': use one of ${names.join(', ')} (add more under "personas" in the settings)`);
    const notice: PersonaNotice = { name: p.name, systemPrompt: p.systemPrompt, ts: Date.now() };
    await this.deps.bus.set(ACTIVE_PERSONA_KEY, JSON.stringify(notice));
    await this.deps.bus.publish(Channels.persona, notice);
    void this.changed(session);
    return { persona: p.name, personas: names };
  }

  /** The settings the workers run with (the core keeps them at CONFIG_KEY); the defaults without. */
  private async config(): Promise<Config> {
    const raw = await this.deps.bus.get(CONFIG_KEY);
    let parsed;
    try {
      parsed = raw ? ConfigSchema.safeParse(JSON.parse(raw)) : undefined;
    } catch {
      parsed = undefined;
    }
    return parsed?.success ? parsed.data : ConfigSchema.parse({ dataDir: '-' });
  }

  private async personas(): Promise<PersonaEntry[]> {
    return personaList(await this.config());
  }

  private async activePersona(): Promise<{ name: string }> {
    const raw = await this.deps.bus.get(ACTIVE_PERSONA_KEY);
    if (raw) {
      try {
        const p = JSON.parse(raw) as { name?: unknown };
        if (typeof p.name === 'string') return { name: p.name };
      } catch {
        // fall through to the configured persona
      }
    }
    return (await this.personas())[0]!;
  }

  private async changed(session: string): Promise<void> {
    if (this.listeners.size === 0) return;
    const s = await this.state(session).catch(() => undefined);
    if (s) for (const l of this.listeners) l(s);
  }
}
