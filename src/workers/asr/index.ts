/**
 * asr — PLACEHOLDER handler (plumbing of issue 2). The real service will decode the uploaded or
 * streamed audio of a task and transcribe it (pocketsphinx / a streaming engine), publishing
 * partial and final transcripts. Here it only turns a task into a result, so the reliable queue,
 * the chain and the supervisor can be tested end to end: the "transcript" is `data.text` of the task.
 */
import { Channels, Queues, TaskMessage } from '../../shared/bus.js';
import { nextMessage, textOf } from '../common/plumbing.js';
import { queueInput, type ServiceDefinition } from '../runtime/index.js';

const service: ServiceDefinition = {
  name: 'asr',
  inputs: [
    queueInput({
    queue: Queues.asrTasks,
    schema: TaskMessage,
    async handle(task: TaskMessage, job) {
      const result = nextMessage(task, 'asr_result', { text: textOf(task, '[placeholder transcript]') });
      await job.redis.publish(Channels.asrResults, JSON.stringify(result));
      job.log.info({ task_id: task.task_id, turn_id: task.turn_id }, 'asr task done');
    },
  }),
  ],
};
export default service;
