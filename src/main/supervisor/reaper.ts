/**
 * Requeues tasks of queue consumers that died for good. Every queue consumer registers its
 * instance id in `consumersKey(queue)` and keeps `heartbeatKey(id)` alive (SET PX). An instance
 * whose heartbeat key has expired and that no local slot is bringing back (a remote `fav worker`
 * that died, a slot marked failed, ids of an earlier run) has its processing list moved back to
 * the queue and is forgotten. A slow instance whose key expired by mistake may see its task
 * handled twice: the queues are at-least-once.
 */
import type { Redis } from 'ioredis';
import { consumersKey, heartbeatKey, processingList } from '../../shared/bus.js';

export interface ReapResult {
  queue: string;
  instanceId: string;
  requeued: number;
}

export class Reaper {
  constructor(
    private readonly redis: Redis,
    private readonly queues: string[],
    /** True when a local slot owns this id and will recover its list itself. */
    private readonly isLocalAlive: (instanceId: string) => boolean,
  ) {}

  async runOnce(): Promise<ReapResult[]> {
    const out: ReapResult[] = [];
    for (const queue of this.queues) {
      const ids = await this.redis.smembers(consumersKey(queue));
      for (const id of ids) {
        if (this.isLocalAlive(id)) continue;
        if ((await this.redis.exists(heartbeatKey(id))) === 1) continue;
        const plist = processingList(queue, id);
        let requeued = 0;
        // LEFT -> RIGHT: the newest first, so the oldest ends up at the consuming end.
        while ((await this.redis.lmove(plist, queue, 'LEFT', 'RIGHT')) !== null) requeued++;
        // Forget the id only if it stayed silent meanwhile (no new incarnation registered a heartbeat).
        if ((await this.redis.exists(heartbeatKey(id))) === 0 && (await this.redis.llen(plist)) === 0) {
          await this.redis.srem(consumersKey(queue), id);
        }
        out.push({ queue, instanceId: id, requeued });
      }
    }
    return out;
  }
}
