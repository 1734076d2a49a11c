/**
 * chat-ai: streams the LLM's reply for each MemoryContext (memory_updates) and hands it on sentence
 * by sentence (see turn.ts for what a turn publishes and how it ends).
 *
 * Concurrency: turns of different sessions run side by side; a session has one turn at a time, and a
 * newer turn of the session cancels the older one. Cancellation (fav:control, handled as it arrives):
 * a cancel naming a turn aborts that turn; a cancel without turn_id, and every stop, aborts the
 * session's turn that started before the event, and drops contexts of the session that started
 * before it when they arrive later (the runtime's TurnLedger).
 */
import type { ControlEvent } from '../../shared/bus.js';
import { Bus } from '../../shared/contract.js';
import { ErrorCodes, type MemoryContext } from '../../shared/voice.js';
import { TurnLedger, channelInput, type JobContext, type ServiceDefinition, type WorkerContext } from '../runtime/index.js';
import { createLlm, probeLlm, type Llm } from './llm.js';
import { Turn } from './turn.js';

export class ChatAi {
  private readonly active = new Map<string, Turn>();
  private readonly ledger = new TurnLedger();

  constructor(
    private readonly ctx: WorkerContext,
    private readonly llm: Llm,
  ) {}

  async onContext(msg: MemoryContext, job: JobContext): Promise<void> {
    if (!this.ledger.isLive(msg)) {
      this.ctx.log.debug({ turn: msg.turn_id, session: msg.session_id }, 'context of a cancelled turn dropped');
      return;
    }
    const prev = this.active.get(msg.session_id);
    if (prev?.turnId === msg.turn_id) return; // the same context twice
    prev?.cancel('a newer turn of the session started');
    const turn = new Turn(msg, { redis: this.ctx.redis, log: this.ctx.log, llm: this.llm });
    this.active.set(msg.session_id, turn);
    const onStop = () => turn.fail({ code: ErrorCodes.workerLost, message: 'chat-ai stopped in the middle of the reply' });
    job.signal.addEventListener('abort', onStop, { once: true });
    try {
      await turn.run();
    } finally {
      job.signal.removeEventListener('abort', onStop);
      if (this.active.get(msg.session_id) === turn) this.active.delete(msg.session_id);
    }
  }

  onControl(ev: ControlEvent): void {
    this.ledger.onControl(ev);
    const turn = this.active.get(ev.session_id);
    if (turn && !this.ledger.isLive(turn.ctx)) turn.cancel(ev.reason ?? ev.action);
  }
}

let service: ChatAi | undefined;

const definition: ServiceDefinition = {
  name: 'chat-ai',
  init(ctx) {
    const llm = createLlm(ctx.settings, ctx.log);
    service = new ChatAi(ctx, llm);
    ctx.log.info({ baseUrl: llm.baseUrl, model: llm.model, preset: llm.preset }, 'llm endpoint');
    void probeLlm(llm, ctx.log);
  },
  inputs: [
    channelInput({
      topic: Bus.memoryUpdates,
      // Each context starts its turn at once: a slow reply of one session must not hold up another.
      concurrent: true,
      handle: (msg, job) => service!.onContext(msg, job),
    }),
    channelInput({ topic: Bus.control, concurrent: true, handle: async (ev) => service!.onControl(ev) }),
  ],
};
export default definition;
