/**
 * Channel and pattern subscriptions (RESP2). A published message is encoded once and appended to
 * each subscriber's output; the subscribers' sockets are written once per event-loop turn.
 */
import type { Client } from './client.js';
import { globMatch } from './glob.js';
import type { Arg } from './resp-parser.js';

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
    c.send(`*3\r\n$9\r\nsubscribe\r\n$${ch.length}\r\n${ch}\r\n:${c.channels.size + c.patterns.size}\r\n`);
  }

  unsubscribe(c: Client, ch: string, notify: boolean): void {
    if (c.channels.delete(ch)) {
      const set = this.channels.get(ch);
      if (set !== undefined) {
        set.delete(c);
        if (set.size === 0) this.channels.delete(ch);
      }
    }
    if (notify) c.send(`*3\r\n$11\r\nunsubscribe\r\n$${ch.length}\r\n${ch}\r\n:${c.channels.size + c.patterns.size}\r\n`);
  }

  psubscribe(c: Client, pat: string): void {
    if (!c.patterns.has(pat)) {
      c.patterns.add(pat);
      let set = this.patterns.get(pat);
      if (set === undefined) this.patterns.set(pat, (set = new Set()));
      set.add(c);
    }
    c.send(`*3\r\n$10\r\npsubscribe\r\n$${pat.length}\r\n${pat}\r\n:${c.channels.size + c.patterns.size}\r\n`);
  }

  punsubscribe(c: Client, pat: string, notify: boolean): void {
    if (c.patterns.delete(pat)) {
      const set = this.patterns.get(pat);
      if (set !== undefined) {
        set.delete(c);
        if (set.size === 0) this.patterns.delete(pat);
      }
    }
    if (notify) c.send(`*3\r\n$12\r\npunsubscribe\r\n$${pat.length}\r\n${pat}\r\n:${c.channels.size + c.patterns.size}\r\n`);
  }

  /** UNSUBSCRIBE with no arguments: every channel, or one reply with a nil channel when none. */
  unsubscribeAllReply(c: Client): void {
    if (c.channels.size === 0) {
      c.send(`*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:${c.patterns.size}\r\n`);
      return;
    }
    for (const ch of [...c.channels]) this.unsubscribe(c, ch, true);
  }

  punsubscribeAllReply(c: Client): void {
    if (c.patterns.size === 0) {
      c.send(`*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:${c.channels.size}\r\n`);
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
        for (const c of subs) c.send(whole);
      } else {
        for (const c of subs) {
          c.send(head);
          c.sendBulk(msg);
        }
      }
      n += subs.size;
    }
    if (this.patterns.size !== 0) {
      for (const [pat, set] of this.patterns) {
        if (!globMatch(pat, ch)) continue;
        const head = `*4\r\n$8\r\npmessage\r\n$${pat.length}\r\n${pat}\r\n$${ch.length}\r\n${ch}\r\n`;
        for (const c of set) {
          c.send(head);
          c.sendBulk(msg);
        }
        n += set.size;
      }
    }
    return n;
  }
}
