/**
 * memory — PLACEHOLDER handler (plumbing of issue 2). The real service will keep the short-term
 * conversation window, fetch long-term context, and publish a prompt context per turn. Here it
 * takes user input from `user_input_queue`, publishes it on `memory_updates` with an empty context,
 * and appends a long-term write to the durable stream for long-term-memory.
 */
import { Channels, Queues, Streams, TaskMessage } from '../../shared/bus.js';
import { nextMessage, textOf } from '../common/plumbing.js';
import { queueInput, type ServiceDefinition } from '../runtime/index.js';

const service: ServiceDefinition = {
  name: 'memory',
  inputs: [
    queueInput({
    queue: Queues.userInput,
    schema: TaskMessage,
    async handle(input: TaskMessage, job) {
      const text = textOf(input, '');
      await job.redis.xadd(Streams.longTermWrites, '*', 'msg', JSON.stringify(nextMessage(input, 'ltm_write', { role: 'user', text })));
      await job.redis.publish(Channels.memoryUpdates, JSON.stringify(nextMessage(input, 'memory_update', { text, context: [] })));
    },
  }),
  ],
};
export default service;
