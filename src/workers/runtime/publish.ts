/**
 * Writes to the bus typed by the contract table (src/shared/contract.ts): `publish` takes only a
 * channel-like topic and that topic's message, `push` a queue's, `xadd` a stream's; anything else
 * fails to compile. Each takes only the command it needs (a connection, or a fake in a test), or a
 * pipeline / MULTI, so that a turn's messages can go out in one round trip and in order.
 */
import type { ChainableCommander } from 'ioredis';
import type { Payload, Topic } from '../../shared/contract.js';

/** The one command each write needs (a Redis connection has them all). */
export interface Publisher {
  publish(channel: string, message: string): Promise<unknown>;
}
export interface Pusher {
  lpush(key: string, element: string): Promise<unknown>;
}
export interface Appender {
  xadd(key: string, id: '*', field: 'msg', value: string): Promise<unknown>;
}

export type PublishTopic = Topic<'channel' | 'pattern' | 'reply'>;
export type QueueTopic = Topic<'queue'>;
export type StreamTopic = Topic<'stream'>;

/** The channel a message of the topic goes to (a pattern or reply topic names it per message). */
export function channelFor<T extends PublishTopic>(topic: T, msg: Payload<T>): string {
  if (topic.kind === 'channel') return topic.name;
  if (!topic.channelOf) throw new Error(`bus topic ${topic.name} (${topic.kind}) has no channelOf: add it to the contract table`);
  return topic.channelOf(msg);
}

export function publish<T extends PublishTopic>(r: Publisher, topic: T, msg: Payload<T>): Promise<unknown>;
export function publish<T extends PublishTopic>(r: ChainableCommander, topic: T, msg: Payload<T>): ChainableCommander;
export function publish<T extends PublishTopic>(r: Publisher | ChainableCommander, topic: T, msg: Payload<T>): unknown {
  return r.publish(channelFor(topic, msg), JSON.stringify(msg));
}

export function push<T extends QueueTopic>(r: Pusher, topic: T, msg: Payload<T>): Promise<unknown>;
export function push<T extends QueueTopic>(r: ChainableCommander, topic: T, msg: Payload<T>): ChainableCommander;
export function push<T extends QueueTopic>(r: Pusher | ChainableCommander, topic: T, msg: Payload<T>): unknown {
  return r.lpush(topic.name, JSON.stringify(msg));
}

/** Appends one entry (field `msg`, the JSON message) to a durable stream. */
export function xadd<T extends StreamTopic>(r: Appender, topic: T, msg: Payload<T>): Promise<unknown>;
export function xadd<T extends StreamTopic>(r: ChainableCommander, topic: T, msg: Payload<T>): ChainableCommander;
export function xadd<T extends StreamTopic>(r: Appender | ChainableCommander, topic: T, msg: Payload<T>): unknown {
  return r.xadd(topic.name, '*', 'msg', JSON.stringify(msg));
}
