import { describe, expect, it } from 'vitest';
import { ThinkFilter } from './think.js';

function run(deltas: string[]): string {
  const f = new ThinkFilter();
  return deltas.map((d) => f.push(d)).join('') + f.flush();
}

describe('ThinkFilter', () => {
  it('drops a leading reasoning block, whole or split across deltas', () => {
    const text = '<think>\nThe user greets me. I should greet back.\n</think>\n\nHello there!';
    expect(run([text])).toBe('Hello there!');
    expect(run([...text])).toBe('Hello there!');
    expect(run(['  <th', 'ink>hmm</th', 'ink>Hi', ' you'])).toBe('Hi you');
  });

  it('leaves replies without a leading block untouched, and releases text at once', () => {
    const f = new ThinkFilter();
    expect(f.push('Hello')).toBe('Hello');
    expect(f.push(' <think>x</think>')).toBe(' <think>x</think>');
    expect(run(['<b>bold</b> text'])).toBe('<b>bold</b> text');
    expect(run(['<'])).toBe('<');
  });

  it('drops an unfinished block at the end', () => {
    expect(run(['<think>still thinking when the stream ended'])).toBe('');
  });
});
