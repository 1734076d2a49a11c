/**
 * The live-chat core's I/O on the bus: each commit is one MULTI (feed events, the waiting list, a
 * pick's answered ids and its push go together or not at all), statuses SET with a time to live,
 * and what a previous process kept read back at start.
 */
import { DIALOG_ACTIVE_KEY } from '../../shared/bus.js';
import { CHAT_ANSWERED_KEY, CHAT_STATUS_KEY, CHAT_WAITING_KEY, LiveChatMessage } from '../../shared/live-chat.js';
import { Bus } from '../../shared/contract.js';
import { publish, push, type WorkerContext } from '../runtime/index.js';
import type { LiveChatIo } from './service.js';

/** A waiting list nobody restored or changed for this long is stale chat: let it go. */
const WAITING_TTL_MS = 24 * 3_600_000;

export function createBusIo(ctx: Pick<WorkerContext, 'redis' | 'log' | 'notify'>): LiveChatIo {
  const { redis, log } = ctx;
  return {
    log,
    notify: (text) => ctx.notify(text),
    async commit(c) {
      const m = redis.multi();
      if (c.answered && c.answered.ids.length > 0) {
        m.hset(CHAT_ANSWERED_KEY, ...c.answered.ids.flatMap((id) => [id, String(c.answered!.at)]));
        if (c.answered.forget.length > 0) m.hdel(CHAT_ANSWERED_KEY, ...c.answered.forget);
      }
      if (c.push) push(m, Bus.dialogInputs, c.push);
      const entries = (list: LiveChatMessage[]) => list.flatMap((x) => [x.id, JSON.stringify(x)]);
      if (c.rewrite) m.del(CHAT_WAITING_KEY);
      if (c.rewrite?.length) m.hset(CHAT_WAITING_KEY, ...entries(c.rewrite));
      if (c.keep?.length) m.hset(CHAT_WAITING_KEY, ...entries(c.keep));
      if (c.unkeep?.length) m.hdel(CHAT_WAITING_KEY, ...c.unkeep);
      if (c.rewrite?.length || c.keep?.length) m.pexpire(CHAT_WAITING_KEY, WAITING_TTL_MS);
      for (const ev of c.feed) publish(m, Bus.chatFeed, ev);
      const res = await m.exec();
      if (res === null) throw new Error('the MULTI was discarded');
      const failed = res.find(([err]) => err);
      if (failed) throw failed[0]!;
    },
    async saveStatus(statuses, ttlMs) {
      await redis.set(CHAT_STATUS_KEY, JSON.stringify(statuses), 'PX', ttlMs);
    },
    async loadAnswered(sinceMs) {
      const all = Object.entries(await redis.hgetall(CHAT_ANSWERED_KEY)).map(([id, at]): [string, number] => [id, Number(at)]);
      const old = all.filter(([, at]) => !(at >= sinceMs)).map(([id]) => id);
      if (old.length > 0) await redis.hdel(CHAT_ANSWERED_KEY, ...old);
      return all.filter(([, at]) => at >= sinceMs).sort((a, b) => a[1] - b[1]);
    },
    async loadActiveTurn(session) {
      const raw = await redis.hget(DIALOG_ACTIVE_KEY, session);
      if (raw === null) return undefined;
      try {
        const active = (JSON.parse(raw) as { active?: { turn_id?: unknown } }).active;
        return typeof active?.turn_id === 'string' ? active.turn_id : undefined;
      } catch {
        return undefined;
      }
    },
    async loadWaiting() {
      let raw: Record<string, string>;
      try {
        raw = await redis.hgetall(CHAT_WAITING_KEY);
      } catch (e) {
        // Not a hash (written by another version): nothing to restore from it.
        log.warn({ key: CHAT_WAITING_KEY, err: (e as Error).message }, 'the kept chat waiting list is unreadable: dropped');
        await redis.del(CHAT_WAITING_KEY);
        return [];
      }
      const values = Object.values(raw);
      // One bad entry costs that entry, not the others.
      const good = values.flatMap((json) => {
        try {
          const p = LiveChatMessage.safeParse(JSON.parse(json));
          return p.success ? [p.data] : [];
        } catch {
          return [];
        }
      });
      if (good.length < values.length) log.warn({ dropped: values.length - good.length }, 'unreadable kept chat messages dropped');
      return good.sort((a, b) => a.received_at - b.received_at);
    },
  };
}
