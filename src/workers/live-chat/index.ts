/**
 * live-chat (singleton): reads the chat of the configured Twitch / YouTube / Bilibili connections,
 * filters it, picks what the avatar answers and when, and pushes each pick as one chat UserInput on
 * fav:dialog:inputs (the rules are in service.ts, the bus writes in bus-io.ts).
 * Inputs (the contract table's consumers):
 *   channel `fav:events` (TurnEvent)        concurrent: the session's turns and the mic pace the answers
 *   channel `ai_responses` (AiResponse)     a chat turn's finished reply, posted back (postReplies)
 *   channel `fav:chat:command` (ChatCommand) the studio's answer / ban / unban buttons
 * With no connection configured it starts, says ready and does nothing.
 */
import { Bus } from '../../shared/contract.js';
import { channelInput, type ServiceDefinition } from '../runtime/index.js';
import { ChatArbiter, createOpenAiPicker } from './arbiter.js';
import { createBusIo } from './bus-io.js';
import { InboundFilter } from './moderation.js';
import { CHAT_SOURCES } from './platforms/index.js';
import { LiveChatService } from './service.js';

const service: ServiceDefinition = {
  name: 'live-chat',
  async create(ctx) {
    const settings = ctx.settings.liveChat;
    const personaName = ctx.settings.persona.name;
    const arbiter = new ChatArbiter({
      settings: settings.arbiter,
      personaName,
      log: ctx.log,
      ...(settings.arbiter.llmPick.enabled ? { picker: createOpenAiPicker(ctx.settings.llm, ctx.log) } : {}),
    });
    const core = new LiveChatService({
      settings,
      arbiter,
      filter: new InboundFilter(settings.moderation, personaName),
      registry: CHAT_SOURCES,
      io: createBusIo(ctx),
      statusEveryMs: ctx.config.heartbeatMs,
    });
    await core.start();
    return {
      inputs: [
        channelInput({ topic: Bus.events, concurrent: true, handle: async (ev) => core.onTurnEvent(ev) }),
        channelInput({ topic: Bus.aiResponses, concurrent: true, handle: (r) => core.onAiResponse(r) }),
        channelInput({ topic: Bus.chatCommand, handle: (c) => core.onCommand(c) }),
      ],
      dispose: () => core.stop(),
    };
  },
};
export default service;
