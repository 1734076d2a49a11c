export { runWorker, ExitCode } from './runtime.js';
export { parseWorkerArgs, maskUrl, ConfigError, type WorkerConfig } from './config.js';
export { createWorkerLogger, type Logger } from './logger.js';
export { parseJson, sleep, withTimeout, type Parsed } from './messages.js';
export { watchParent, type StopReason } from './parent-link.js';
export { QueueConsumer, requeueAll } from './queue-consumer.js';
export { StreamConsumer } from './stream-consumer.js';
export { ChannelConsumer } from './channel-consumer.js';
export { publish, push, xadd, channelFor } from './publish.js';
export { TurnLedger, startOf, type TurnRef, type TurnLedgerOptions } from './turn-ledger.js';
export {
  checkInputs,
  queueInput,
  channelInput,
  streamInput,
  type ServiceDefinition,
  type WorkerContext,
  type JobContext,
  type Consumer,
} from './types.js';
export { createOpenAiClient, openAiFailure, causeCode, KEYLESS_API_KEY, type OpenAiClientOptions, type OpenAiFailure, type OpenAiFailureKind } from './openai.js';
export { createBusClient, connectBus, type BusClientOptions } from './bus-client.js';
export { Requester, serveRequests, replyChannel, type RequestOutcome, type RequesterOptions, type ServeOptions } from './request-reply.js';
