/**
 * long-term-memory — PLACEHOLDER handler (plumbing of issue 2). The real service will embed and
 * store conversation facts (sqlite + vectors) and answer recall queries. Here it consumes the
 * durable stream `Streams.longTermWrites` through its consumer group and only counts and logs the
 * writes, so delivery, acks and claims of the stream are exercised.
 */
import { Streams, TaskMessage, streamGroup } from '../../shared/bus.js';
import { streamInput, type ServiceDefinition } from '../runtime/index.js';

const service: ServiceDefinition = {
  name: 'long-term-memory',
  inputs: [
    streamInput({
    stream: Streams.longTermWrites,
    group: streamGroup('long-term-memory'),
    schema: TaskMessage,
    async handle(write: TaskMessage, job, entryId) {
      job.log.info({ entryId, session_id: write.session_id, turn_id: write.turn_id }, 'long-term write received (placeholder: not stored)');
    },
  }),
  ],
};
export default service;
