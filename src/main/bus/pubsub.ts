/**
 * Channel and pattern subscriptions. A published message is encoded once per protocol and appended
 * to each subscriber's output; the subscribers' sockets are written once per event-loop turn.
 * RESP2 frames are arrays (`*`), RESP3 frames are pushes (`>`): the same bytes but the first one.
 */
import type { Client } from './client.js';
import { globMatch } from './glob.js';
import { pushHeader } from './reply.js';
import type { Arg } from './resp-parser.js';

/** The RESP3 form of a RESP2 frame that starts with `*`. */
const asPush = (frame: string): string => `>${frame.slice(1)}`;

export class PubSub {
  readonly channels = new Map<string, Set<Client>>();
  readonly patterns = new Map<string, Set<Client>>();

  subscribe(c: Client, ch: string): void {
    if (!c.channels.has(ch)) {
      c.channels.add(ch);
      let set = this.channels.get(ch);
      if (set === undefined) this.channels.set(ch, (set = new Set()));
      set.add(c);
    }
    c.send(`${pushHeader(c, 3)}$9\r\nsubscribe\r\n$${ch.length}\r\n${ch}\r\n:${c.channels.size + c.patterns.size}\r\n`);
  }

  unsubscribe(c: Client, ch: string, notify: boolean): void {
    if (c.channels.delete(ch)) {
      const set = this.channels.get(ch);
      if (set !== undefined) {
        set.delete(c);
        if (set.size === 0) this.channels.delete(ch);
      }
    }
    if (notify) c.send(`${pushHeader(c, 3)}$11\r\nunsubscribe\r\n$${ch.length}\r\n${ch}\r\n:${c.channels.size + c.patterns.size}\r\n`);
  }

  psubscribe(c: Client, pat: string): void {
    if (!c.patterns.has(pat)) {
      c.patterns.add(pat);
      let set = this.patterns.get(pat);
      if (set === undefined) this.patterns.set(pat, (set = new Set()));
      set.add(c);
    }
    c.send(`${pushHeader(c, 3)}$10\r\npsubscribe\r\n$${pat.length}\r\n${pat}\r\n:${c.channels.size + c.patterns.size}\r\n`);
  }

  punsubscribe(c: Client, pat: string, notify: boolean): void {
    if (c.patterns.delete(pat)) {
      const set = this.patterns.get(pat);
      if (set !== undefined) {
        set.delete(c);
        if (set.size === 0) this.patterns.delete(pat);
      }
    }
    if (notify) c.send(`${pushHeader(c, 3)}$12\r\npunsubscribe\r\n$${pat.length}\r\n${pat}\r\n:${c.channels.size + c.patterns.size}\r\n`);
  }

  /** UNSUBSCRIBE with no arguments: every channel, or one reply with a nil channel when none. */
  unsubscribeAllReply(c: Client): void {
    if (c.channels.size === 0) {
      c.send(`${pushHeader(c, 3)}$11\r\nunsubscribe\r\n${c.nil}:${c.patterns.size}\r\n`);
      return;
    }
    for (const ch of [...c.channels]) this.unsubscribe(c, ch, true);
  }

  punsubscribeAllReply(c: Client): void {
    if (c.patterns.size === 0) {
      c.send(`${pushHeader(c, 3)}$12\r\npunsubscribe\r\n${c.nil}:${c.channels.size}\r\n`);
      return;
    }
    for (const p of [...c.patterns]) this.punsubscribe(c, p, true);
  }

  /** Silent cleanup on disconnect / RESET. */
  unsubscribeAll(c: Client): void {
    for (const ch of [...c.channels]) this.unsubscribe(c, ch, false);
    for (const p of [...c.patterns]) this.punsubscribe(c, p, false);
  }

  /** Delivers to channel and pattern subscribers; returns the number of deliveries. */
  publish(ch: string, msg: Arg): number {
    let n = 0;
    const subs = this.channels.get(ch);
    if (subs !== undefined) {
      const head = `*3\r\n$7\r\nmessage\r\n$${ch.length}\r\n${ch}\r\n`;
      if (typeof msg === 'string') {
        const whole = `${head}$${msg.length}\r\n${msg}\r\n`;
        let whole3: string | null = null;
        for (const c of subs) c.send(c.resp === 2 ? whole : (whole3 ??= asPush(whole)));
      } else {
        const head3 = asPush(head);
        for (const c of subs) {
          c.send(c.resp === 2 ? head : head3);
          c.sendBulk(msg);
        }
      }
      n += subs.size;
    }
    if (this.patterns.size !== 0) {
      for (const [pat, set] of this.patterns) {
        if (!globMatch(pat, ch)) continue;
        const head = `*4\r\n$8\r\npmessage\r\n$${pat.length}\r\n${pat}\r\n$${ch.length}\r\n${ch}\r\n`;
        const head3 = asPush(head);
        for (const c of set) {
          c.send(c.resp === 2 ? head : head3);
          c.sendBulk(msg);
        }
        n += set.size;
      }
    }
    return n;
  }
}
