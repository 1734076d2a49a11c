/**
 * tts — PLACEHOLDER handler (plumbing of issue 2). The real service will synthesise each sentence
 * (flite / an online engine) and publish audio chunks with lip-sync data in order on
 * `task_response:{task_id}`. Here it publishes one result without audio on that channel.
 */
import { Channels, SERVICE_INPUTS, TaskMessage } from '../../shared/bus.js';
import { nextMessage, textOf } from '../common/plumbing.js';
import { queueInput, type ServiceDefinition } from '../runtime/index.js';

const service: ServiceDefinition = {
  name: 'tts',
  input: queueInput({
    queue: SERVICE_INPUTS.tts.name,
    schema: TaskMessage,
    async handle(req: TaskMessage, job) {
      const out = nextMessage(req, 'tts_result', { text: textOf(req, ''), audio: null, final: true });
      await job.redis.publish(Channels.taskResponse(req.task_id), JSON.stringify(out));
    },
  }),
};
export default service;
