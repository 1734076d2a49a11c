/**
 * input-handler — PLACEHOLDER handler (plumbing of issue 2). The real service will receive audio
 * and text from the gateway, run VAD, create ASR tasks and forward finished transcripts as user
 * input. Here it forwards every ASR result on `asr_results` to `user_input_queue`.
 */
import { Channels, Queues, TaskMessage } from '../../shared/bus.js';
import { nextMessage, textOf } from '../common/plumbing.js';
import { channelInput, type ServiceDefinition } from '../runtime/index.js';

const service: ServiceDefinition = {
  name: 'input-handler',
  inputs: [
    channelInput({
    channels: [Channels.asrResults],
    schema: TaskMessage,
    async handle(result: TaskMessage, job) {
      const input = nextMessage(result, 'user_input', { text: textOf(result, ''), source: 'asr' });
      await job.redis.lpush(Queues.userInput, JSON.stringify(input));
    },
  }),
  ],
};
export default service;
