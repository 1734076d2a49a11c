/**
 * chat-ai — PLACEHOLDER handler (plumbing of issue 2). The real service will stream an LLM reply
 * for the memory context, split it into sentences and push one TTS request per sentence as soon as
 * it is complete, dropping work of cancelled turns. Here it answers every `memory_updates` message
 * with one echo reply on `ai_responses` and one request on `tts_requests`.
 */
import { Channels, Queues, TaskMessage } from '../../shared/bus.js';
import { nextMessage, textOf } from '../common/plumbing.js';
import { channelInput, type ServiceDefinition } from '../runtime/index.js';

const service: ServiceDefinition = {
  name: 'chat-ai',
  inputs: [
    channelInput({
    channels: [Channels.memoryUpdates],
    schema: TaskMessage,
    async handle(update: TaskMessage, job) {
      const reply = `echo: ${textOf(update, '')}`;
      await job.redis.publish(Channels.aiResponses, JSON.stringify(nextMessage(update, 'ai_response', { text: reply, final: true })));
      await job.redis.lpush(Queues.ttsRequests, JSON.stringify(nextMessage(update, 'tts_request', { text: reply, sentence: 0 })));
    },
  }),
  ],
};
export default service;
