/**
 * Differential conformance: blocking list commands (BLPOP BRPOP BLMOVE), timeouts, FIFO wake-up
 * order, multi-key argument order, wake-ups from MULTI, disconnected waiters, timeout errors.
 *
 * Waiters are started one after another with a pause (GAP_MS) between them, so each server has
 * received the earlier BLPOP before the next one arrives; the order of wake-ups is then defined.
 * Replies are recorded in the order the commands were issued, so which waiter got which element is
 * what gets compared.
 */
import type { Reply } from '../lib/clients.js';
import { conformanceSuite, type Case, type Session } from '../lib/differential.js';

const GAP_MS = 40;

/** Records how long a blocking call took as a bucket (timing differs run to run, the bucket must not). */
async function timed(s: Session, label: string, lo: number, hi: number, p: Promise<Reply>): Promise<void> {
  const t0 = performance.now();
  await p;
  const ms = performance.now() - t0;
  s.record(label, ms >= lo && ms < hi ? `took between ${lo} and ${hi} ms` : `took ${Math.round(ms)} ms`);
}

const cases: Case[] = [
  {
    name: 'BLPOP / BRPOP / BLMOVE time out with nil after about the timeout',
    async run(s) {
      await timed(s, 'BLPOP 0.2', 150, 1500, s.call('BLPOP', 'q', '0.2'));
      await timed(s, 'BRPOP 0.1 on two keys', 70, 1500, s.call('BRPOP', 'q1', 'q2', '0.1'));
      await timed(s, 'BLMOVE 0.1', 70, 1500, s.call('BLMOVE', 'q', 'd', 'LEFT', 'RIGHT', '0.1'));
      await s.call('EXISTS', 'q', 'd');
    },
  },
  {
    name: 'data already there: no blocking, first non-empty key in argument order',
    async run(s) {
      await s.call('RPUSH', 'k2', 'a', 'b');
      await s.call('RPUSH', 'k3', 'c');
      await s.call('BRPOP', 'k1', 'k3', 'k2', '1');
      await s.call('BRPOP', 'k1', 'k2', 'k3', '1');
      await s.call('BLPOP', 'k1', 'k2', '1');
      await s.call('BLPOP', 'k2', 'k3', '0.05');
      await s.call('BLMOVE', 'k9', 'd', 'LEFT', 'LEFT', '0.05');
      await s.call('EXISTS', 'k1', 'k2', 'k3', 'd');
    },
  },
  {
    name: 'FIFO: one push of three elements wakes three waiters oldest first',
    async run(s) {
      const waiters = [await s.conn('w1'), await s.conn('w2'), await s.conn('w3')];
      const pops: Promise<Reply>[] = [];
      for (const w of waiters) {
        pops.push(w.call('BLPOP', 'q', '0'));
        await s.sleep(GAP_MS);
      }
      await s.call('RPUSH', 'q', 'a', 'b', 'c', 'd');
      await Promise.all(pops);
      await s.call('LRANGE', 'q', '0', '-1');
    },
  },
  {
    name: 'FIFO: separate pushes, mixed BLPOP and BRPOP waiters on one key',
    async run(s) {
      const waiters = [await s.conn('w1'), await s.conn('w2'), await s.conn('w3')];
      const pops = [waiters[0].call('BRPOP', 'q', '0')];
      await s.sleep(GAP_MS);
      pops.push(waiters[1].call('BLPOP', 'q', '0'));
      await s.sleep(GAP_MS);
      pops.push(waiters[2].call('BLPOP', 'other', 'q', '0'));
      await s.sleep(GAP_MS);
      await s.call('LPUSH', 'q', 'x', 'y');
      await s.sleep(GAP_MS);
      await s.call('RPUSH', 'q', 'z');
      await Promise.all(pops);
      await s.call('EXISTS', 'q');
    },
  },
  {
    name: 'timeout 0 blocks until a push; a push to another key of the waiter wakes it',
    async run(s) {
      const w = await s.conn('w');
      let done = false;
      const pop = w.call('BRPOP', 'a', 'b', '0').then((r) => ((done = true), r));
      await s.sleep(300);
      s.record('still blocked after 300 ms', !done);
      await s.call('SET', 'unrelated', 'x');
      await s.call('RPUSH', 'b', 'from-b');
      await pop;
      s.record('woken', done);
    },
  },
  {
    name: 'BLMOVE wake-up moves the element atomically',
    async run(s) {
      const w1 = await s.conn('w1');
      const w2 = await s.conn('w2');
      const m1 = w1.call('BLMOVE', 'src', 'dst', 'LEFT', 'RIGHT', '0');
      await s.sleep(GAP_MS);
      const m2 = w2.call('BLMOVE', 'src', 'dst', 'RIGHT', 'LEFT', '0');
      await s.sleep(GAP_MS);
      await s.call('RPUSH', 'src', 'one', 'two', 'three');
      await Promise.all([m1, m2]);
      await s.call('LRANGE', 'src', '0', '-1');
      await s.call('LRANGE', 'dst', '0', '-1');
    },
  },
  {
    name: 'pushes inside MULTI/EXEC wake waiters after EXEC, with the final list state',
    async run(s) {
      const w = await s.conn('w');
      const pop = w.call('BLPOP', 'q', '0');
      await s.sleep(GAP_MS);
      await s.call('MULTI');
      await s.call('RPUSH', 'q', 'a');
      await s.call('RPUSH', 'q', 'b');
      await s.call('LPOP', 'q');
      await s.call('EXEC');
      await pop;
      await s.call('LRANGE', 'q', '0', '-1');
    },
  },
  {
    name: 'a waiter that disconnects is forgotten; blocking inside MULTI does not block',
    async run(s) {
      const gone = await s.conn('gone');
      const w = await s.conn('w');
      void gone.call('BLPOP', 'q', '0');
      await s.sleep(GAP_MS);
      const pop = w.call('BLPOP', 'q', '0');
      await s.sleep(GAP_MS);
      await gone.close();
      await s.sleep(GAP_MS);
      await s.call('RPUSH', 'q', 'first', 'second');
      await pop;
      await s.call('LRANGE', 'q', '0', '-1');
      await s.call('MULTI');
      await s.call('BLPOP', 'empty', '0');
      await s.call('BRPOP', 'q', '0');
      await s.call('EXEC');
    },
  },
  {
    name: 'timeout argument errors',
    async run(s) {
      await s.call('BLPOP', 'q', '-1');
      await s.call('BRPOP', 'q', '-0.5');
      await s.call('BLPOP', 'q', 'abc');
      await s.call('BLMOVE', 'a', 'b', 'LEFT', 'RIGHT', '-1');
      await s.call('BLMOVE', 'a', 'b', 'NORTH', 'RIGHT', '1');
      await s.call('BLPOP', 'q');
      await s.call('SET', 'str', 'x');
      await s.call('BLMOVE', 'str', 'b', 'LEFT', 'RIGHT', '0.01');
    },
  },
];

conformanceSuite(cases);
