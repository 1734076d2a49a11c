/**
 * chat-ai: streams the LLM's reply for each MemoryContext (the fav:chat:contexts queue) and hands it
 * on sentence by sentence (see turn.ts for what a turn publishes and how it ends).
 *
 * Scaling: a shared service. Each context is taken by one instance (a reliable queue), and an
 * instance runs up to MAX_TURNS turns at once. A context taken again after its instance died
 * (requeued by its restart or by the supervisor's reaper) is run only when its turn had not started;
 * a turn cut mid-reply is ended with an error instead of being spoken twice (chatTurnKey).
 *
 * Concurrency: turns of different sessions run side by side; a session has one turn at a time, and a
 * newer turn of the session cancels the older one. Cancellation (fav:control, handled as it arrives):
 * a cancel naming a turn aborts that turn; a cancel without turn_id, and every stop, aborts the
 * session's turn that started before the event, and drops contexts of the session that started
 * before it when they arrive later (the runtime's TurnLedger).
 *
 * Persona: the control API's switch (fav:persona) applies from the next turn, without a restart: the
 * persona in use is read from ACTIVE_PERSONA_KEY at start and kept in memory, replaced by every
 * notice on the channel (no bus read on a turn's path). None set: the configured persona.
 *
 * Moderation: every reply passes the output filter of settings.liveChat.moderation (turn.ts), plus
 * the names of viewers the studio bans live (fav:chat:command `ban`; `unban` lifts it), kept in
 * memory: a restarted chat-ai knows only the names in settings.
 */
import { chatTurnKey, type ControlEvent, type PersonaNotice } from '../../shared/bus.js';
import { Bus } from '../../shared/contract.js';
import type { ChatCommand } from '../../shared/live-chat.js';
import { ErrorCodes, type MemoryContext } from '../../shared/voice.js';
import { outputFilterFor, type OutputFilter } from '../common/output-filter.js';
import { readActivePersona } from '../common/persona.js';
import { TurnLedger, channelInput, queueInput, type JobContext, type ServiceDefinition, type WorkerContext } from '../runtime/index.js';
import { createLlm, probeLlm, type Llm } from './llm.js';
import { Turn } from './turn.js';

/** Turns one instance runs at once (each is mostly waiting on its LLM stream). */
const MAX_TURNS = 32;
/** How long a turn's started/ended mark is kept: far longer than any reply. */
const TURN_MARK_MS = 3_600_000;

export class ChatAi {
  private readonly active = new Map<string, Turn>();
  private readonly ledger = new TurnLedger();
  /** The switched-to persona's system prompt ({name} replaced), or undefined for the configured one. */
  private systemPrompt: string | undefined;
  private personaTs = 0;
  /** Viewers banned live: `<platform>:<user id>` -> name. */
  private readonly bans = new Map<string, string>();
  private output: OutputFilter;

  constructor(
    private readonly ctx: WorkerContext,
    private readonly llm: Llm,
  ) {
    this.output = outputFilterFor(ctx.settings.liveChat.moderation);
  }

  async onContext(msg: MemoryContext, job: JobContext): Promise<void> {
    if (!this.ledger.isLive(msg)) {
      this.ctx.log.debug({ turn: msg.turn_id, session: msg.session_id }, 'context of a cancelled turn dropped');
      return;
    }
    const prev = this.active.get(msg.session_id);
    if (prev?.turnId === msg.turn_id) return; // the same context twice
    const { redis, log } = this.ctx;
    const key = chatTurnKey(msg.turn_id);
    if ((await redis.set(key, 'running', 'PX', TURN_MARK_MS, 'NX')) === null) {
      // Taken before, by an instance that is gone: finished (drop it), or cut mid-reply (end it).
      if ((await redis.get(key)) === 'running') {
        new Turn(msg, { redis, log, llm: this.llm }).lost({
          code: ErrorCodes.workerLost,
          message: 'chat-ai restarted in the middle of this reply (it had stopped unexpectedly), so the reply was ended. Send it again; if it keeps happening, check chat-ai\'s log.',
        });
        await redis.set(key, 'ended', 'PX', TURN_MARK_MS);
      } else log.info({ turn: msg.turn_id, session: msg.session_id }, 'context of a finished turn taken again: dropped');
      return;
    }
    prev?.cancel('a newer turn of the session started');
    const turn = new Turn(msg, { redis, log, llm: this.llm, output: this.output, ...(this.systemPrompt !== undefined ? { systemPrompt: this.systemPrompt } : {}) });
    this.active.set(msg.session_id, turn);
    const onStop = () => turn.fail({ code: ErrorCodes.workerLost, message: 'chat-ai stopped in the middle of the reply' });
    job.signal.addEventListener('abort', onStop, { once: true });
    try {
      await turn.run();
    } finally {
      job.signal.removeEventListener('abort', onStop);
      if (this.active.get(msg.session_id) === turn) this.active.delete(msg.session_id);
      await redis.set(key, 'ended', 'PX', TURN_MARK_MS).catch((e: Error) => log.warn({ turn: msg.turn_id, err: e.message }, 'could not mark the turn ended'));
    }
  }

  /** A persona notice (the channel, or the key at start); an older one than the one in use is ignored. */
  onPersona(p: PersonaNotice): void {
    if (p.ts < this.personaTs) return;
    this.personaTs = p.ts;
    this.systemPrompt = p.systemPrompt.replaceAll('{name}', p.name);
    this.ctx.log.info({ persona: p.name }, 'persona in use');
  }

  /** The persona a previous switch left on the bus (kept across restarts of chat-ai). */
  async loadPersona(): Promise<void> {
    const p = await readActivePersona(this.ctx.redis, this.ctx.log);
    if (p) this.onPersona(p);
  }

  /** The studio's chat buttons: a banned viewer's name is never spoken from the next sentence on. */
  onChatCommand(c: ChatCommand): void {
    if (c.action === 'answer') return;
    const key = `${c.platform}:${c.user_id}`;
    if (c.action === 'ban') {
      if (!c.name.trim() || this.bans.get(key) === c.name) return;
      this.bans.set(key, c.name);
      this.output.addName(c.name);
    } else {
      if (!this.bans.delete(key)) return;
      // Names cannot be taken out of a matcher: build the filter again without this one.
      this.output = outputFilterFor(this.ctx.settings.liveChat.moderation, this.bans.values());
    }
    this.ctx.log.info({ action: c.action, platform: c.platform, user: c.user_id }, 'chat moderation command');
  }

  onControl(ev: ControlEvent): void {
    this.ledger.onControl(ev);
    const turn = this.active.get(ev.session_id);
    if (turn && !this.ledger.isLive(turn.ctx)) turn.cancel(ev.reason ?? ev.action);
  }
}

const definition: ServiceDefinition = {
  name: 'chat-ai',
  async create(ctx) {
    const llm = createLlm(ctx.settings, ctx.log);
    const service = new ChatAi(ctx, llm);
    await service.loadPersona();
    ctx.log.info({ baseUrl: llm.baseUrl, model: llm.model, preset: llm.preset }, 'llm endpoint');
    void probeLlm(llm, ctx.log);
    return {
      inputs: [
        queueInput({
          topic: Bus.chatContexts,
          // Each context starts its turn at once: a slow reply of one session must not hold up another.
          concurrency: MAX_TURNS,
          handle: (msg, job) => service.onContext(msg, job),
        }),
        channelInput({ topic: Bus.control, concurrent: true, handle: async (ev) => service.onControl(ev) }),
        channelInput({ topic: Bus.persona, concurrent: true, handle: async (p) => service.onPersona(p) }),
        channelInput({ topic: Bus.chatCommand, concurrent: true, handle: async (c) => service.onChatCommand(c) }),
      ],
    };
  },
};
export default definition;
