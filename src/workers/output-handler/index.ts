/**
 * output-handler — PLACEHOLDER handler (plumbing of issue 2). The real service will relay replies
 * and audio of each task to the gateway's output sockets and the overlay, in order, and end them.
 * Here it subscribes to `ai_responses` and only logs what it would deliver.
 */
import { Channels, TaskMessage } from '../../shared/bus.js';
import { channelInput, type ServiceDefinition } from '../runtime/index.js';

const service: ServiceDefinition = {
  name: 'output-handler',
  inputs: [
    channelInput({
    channels: [Channels.aiResponses],
    schema: TaskMessage,
    async handle(resp: TaskMessage, job) {
      job.log.debug({ task_id: resp.task_id, turn_id: resp.turn_id }, 'ai response (placeholder: not delivered)');
    },
  }),
  ],
};
export default service;
