/**
 * tts — PLACEHOLDER handler (plumbing of issue 2). The real service will synthesise each sentence
 * (flite / an online engine) and publish audio chunks with lip-sync data in order on
 * `task_response:{task_id}`. Here it publishes one result without audio on that channel.
 */
import { Channels, Queues, TaskMessage } from '../../shared/bus.js';
import { nextMessage, textOf } from '../common/plumbing.js';
import { queueInput, type ServiceDefinition } from '../runtime/index.js';

const service: ServiceDefinition = {
  name: 'tts',
  inputs: [
    queueInput({
    queue: Queues.ttsRequests,
    schema: TaskMessage,
    async handle(req: TaskMessage, job) {
      const out = nextMessage(req, 'tts_result', { text: textOf(req, ''), audio: null, final: true });
      await job.redis.publish(Channels.taskResponse(req.task_id), JSON.stringify(out));
    },
  }),
  ],
};
export default service;
