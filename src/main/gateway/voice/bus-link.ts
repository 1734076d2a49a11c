/**
 * The gateway's two bus connections: one for commands (LPUSH to fav:input, PUBLISH on fav:mic,
 * fav:control and fav:events) and one subscriber on fav:deliver for the whole gateway. Commands on
 * one connection reach the bus in the order they were issued, so mic frames stay in order.
 */
import type { Redis } from 'ioredis';
import { connectCoreBus, createCoreBusClient } from '../../bus-client.js';
import { Channels } from '../../../shared/bus.js';
import type { VoiceLog } from './options.js';

export class VoiceBus {
  private closed = false;
  private lastErrorLog = 0;

  private constructor(
    private readonly cmd: Redis,
    private readonly sub: Redis,
  ) {}

  /** Connects both and subscribes to fav:deliver; every message goes to `onDeliver` as received. */
  static async open(url: string, onDeliver: (raw: string) => void, log: VoiceLog): Promise<VoiceBus> {
    const cmd = createCoreBusClient(url, { role: 'gateway' });
    const sub = createCoreBusClient(url, { role: 'gateway-deliver' });
    const bus = new VoiceBus(cmd, sub);
    const onError = (err: Error) => bus.noteError(err, log);
    cmd.on('error', onError);
    sub.on('error', onError);
    sub.on('message', (_channel: string, raw: string) => onDeliver(raw));
    try {
      await Promise.all([connectCoreBus(cmd), connectCoreBus(sub)]);
      await sub.subscribe(Channels.deliver);
    } catch (err) {
      cmd.disconnect();
      sub.disconnect();
      throw new Error(`the gateway cannot reach the bus: ${(err as Error).message}`, { cause: err });
    }
    return bus;
  }

  /** LPUSH one message to a queue (consumers take the oldest from the right). */
  async push(queue: string, message: unknown): Promise<void> {
    await this.cmd.lpush(queue, JSON.stringify(message));
  }

  /** PUBLISH; resolves to the number of subscribers that got it. */
  async publish(channel: string, message: unknown): Promise<number> {
    return this.cmd.publish(channel, JSON.stringify(message));
  }

  /** GET a key (the control API reads the settings and the persona in use). */
  async get(key: string): Promise<string | null> {
    return this.cmd.get(key);
  }

  async set(key: string, value: string): Promise<void> {
    await this.cmd.set(key, value);
  }

  async hget(key: string, field: string): Promise<string | null> {
    return this.cmd.hget(key, field);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.cmd.quit().catch(() => {}), this.sub.quit().catch(() => {})]);
    this.cmd.disconnect();
    this.sub.disconnect();
  }

  /** Connection errors repeat on every reconnect attempt: one log line per 10 s is enough. */
  private noteError(err: Error, log: VoiceLog): void {
    const now = Date.now();
    if (this.closed || now - this.lastErrorLog < 10_000) return;
    this.lastErrorLog = now;
    log('warn', 'gateway bus connection error', { error: err.message });
  }
}
