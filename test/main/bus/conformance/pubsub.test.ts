/**
 * Differential conformance: pub/sub through each client library's subscribe API (PUBLISH
 * SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE, PUBSUB CHANNELS/NUMSUB/NUMPAT): message order, pattern
 * messages, receiver counts. The exact push frames, PUNSUBSCRIBE replies and the subscribed-mode
 * command restriction are compared byte for byte in wire.test.ts (both libraries refuse other
 * commands on a subscribed connection on the client side, so the server's error is only visible raw).
 */
import type { PubSubMessage } from '../lib/clients.js';
import { conformanceSuite, type Case } from '../lib/differential.js';
import { sorted } from '../lib/normalise.js';

const cases: Case[] = [
  {
    name: 'messages arrive in publish order on every subscriber; PUBLISH counts receivers',
    async run(s) {
      const sub1 = await s.conn('sub1');
      const sub2 = await s.conn('sub2');
      await sub1.subscribe('ch1', 'ch2');
      await sub2.subscribe('ch2');
      for (let i = 0; i < 20; i++) await s.call('PUBLISH', i % 2 ? 'ch1' : 'ch2', `m${i} ünïcode\r\n`);
      await s.call('PUBLISH', 'nobody', 'x');
      await sub1.recordMessages(20);
      await sub2.recordMessages(10);
    },
  },
  {
    name: 'pattern subscriptions get pmessage; a channel match comes before a pattern match',
    async run(s) {
      const sub = await s.conn('sub');
      await sub.psubscribe('news.*');
      await sub.subscribe('news.tech');
      await s.call('PUBLISH', 'news.tech', 'both');
      await s.call('PUBLISH', 'news.art', 'pattern only');
      await s.call('PUBLISH', 'news', 'none');
      await sub.recordMessages(3);
      const multi = await s.conn('multi');
      await multi.psubscribe('n?ws.[ab]*', 'n*', '*[0-9]', 'esc\\*');
      await s.call('PUBLISH', 'news.alpha', 'x');
      await s.call('PUBLISH', 'item7', 'y');
      await s.call('PUBLISH', 'esc*', 'z');
      await s.call('PUBLISH', 'escX', 'no');
      // One message matching several patterns of one client: Redis walks its pattern dict in hash
      // order, so those deliveries are compared as a set.
      const deadline = Date.now() + 2000;
      while (multi.messages.length < 4 && Date.now() < deadline) await s.sleep(5);
      s.record('multi-pattern deliveries', sorted(multi.messages.splice(0).map((m: PubSubMessage) => m.join('|'))));
    },
  },
  {
    name: 'UNSUBSCRIBE stops delivery; PUBSUB CHANNELS / NUMSUB / NUMPAT',
    async run(s) {
      const a = await s.conn('a');
      const b = await s.conn('b');
      await a.subscribe('alpha', 'beta', 'gamma');
      await b.subscribe('beta');
      await b.psubscribe('al*');
      // PUBSUB CHANNELS lists the hash table's keys: compared as a set.
      await s.callAs(sorted, 'PUBSUB', 'CHANNELS');
      await s.callAs(sorted, 'PUBSUB', 'CHANNELS', '*a');
      await s.callAs(sorted, 'PUBSUB', 'CHANNELS', 'b*');
      await s.call('PUBSUB', 'NUMSUB', 'alpha', 'beta', 'none');
      await s.call('PUBSUB', 'NUMSUB');
      await s.call('PUBSUB', 'NUMPAT');
      await a.unsubscribe('alpha');
      await s.call('PUBLISH', 'alpha', 'after-unsub');
      await s.call('PUBLISH', 'beta', 'still');
      await a.recordMessages(1);
      await b.recordMessages(2);
      await s.call('PUBSUB', 'NUMSUB', 'alpha');
      await a.close();
      await s.sleep(50);
      await s.call('PUBSUB', 'NUMSUB', 'beta', 'gamma');
      await s.call('PUBSUB', 'NOSUCH');
      await s.call('PUBSUB');
      await s.call('PUBLISH', 'ch');
    },
  },
];

conformanceSuite(cases);
