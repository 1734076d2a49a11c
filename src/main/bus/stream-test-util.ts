/** Helpers shared by the stream tests (stream-id, stream-log, stream, stream-snapshot). */
import { expect } from 'vitest';
import { RedisError } from './errors.js';
import { formatId, parseId, RedisStream, type StreamId } from './stream.js';

export const id = (s: string): StreamId => parseId(s);
export const ids = (entries: Array<{ id: StreamId }>) => entries.map((e) => formatId(e.id));
export const ALL: [StreamId, StreamId] = [parseId('-'), parseId('+')];

/** A stream with entries 1-0 .. n-0, field f = v<i>. */
export function filled(n: number): RedisStream {
  const s = new RedisStream();
  for (let i = 1; i <= n; i++) s.add(`${i}-0`, ['f', `v${i}`], 0);
  return s;
}

export function errText(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RedisError);
    return (e as Error).message;
  }
  throw new Error('expected a RedisError');
}
