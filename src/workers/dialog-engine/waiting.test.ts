import { describe, expect, it } from 'vitest';
import type { InputSource, UserInput } from '../../shared/voice.js';
import { admit, policyFor, type Waiting } from './waiting.js';
import { newEventId } from '../../shared/bus.js';

let n = 0;
const input = (source: InputSource, text: string, author?: string): UserInput => ({
  session_id: 's',
  turn_id: `t${n}`,
  task_id: `t${n++}`,
  event_id: newEventId(),
  ts: 0,
  marks: {},
  source,
  text,
  ...(author ? { author } : {}),
});
const texts = (w: Waiting[]) => w.map((x) => x.input.text);

describe('input policy', () => {
  it('chat follows chatPolicy, everything else typedPolicy', () => {
    const d = { bargeIn: true, typedPolicy: 'drop', chatPolicy: 'merge', maxQueue: 5 } as const;
    expect(policyFor('chat', d)).toBe('merge');
    expect(policyFor('typed', d)).toBe('drop');
    expect(policyFor('upload', d)).toBe('drop');
  });

  it('queue keeps inputs apart, in order', () => {
    const w: Waiting[] = [];
    admit(w, input('typed', 'a'), 'queue', 5);
    admit(w, input('typed', 'b'), 'queue', 5);
    expect(texts(w)).toEqual(['a', 'b']);
  });

  it('merge folds same-source inputs into the first one, one line each with authors; keeps its ids', () => {
    const w: Waiting[] = [];
    const first = input('chat', 'hi', 'alice');
    admit(w, first, 'merge', 5);
    expect(w[0]!.input).toMatchObject({ text: 'hi', author: 'alice' });
    admit(w, input('typed', 'typed one'), 'queue', 5);
    const r = admit(w, input('chat', 'hello', 'bob'), 'merge', 5);
    expect(r.merged).toBe(true);
    expect(texts(w)).toEqual(['alice: hi\nbob: hello', 'typed one']);
    expect(w[0]!.input.turn_id).toBe(first.turn_id);
    expect(w[0]!.input.author).toBeUndefined();
    expect(w).toHaveLength(2);
  });

  it('does not merge into an input that was queued (not admitted under merge)', () => {
    const w: Waiting[] = [];
    admit(w, input('chat', 'q'), 'queue', 5);
    admit(w, input('chat', 'm'), 'merge', 5);
    expect(texts(w)).toEqual(['q', 'm']);
  });

  it('over maxQueue the oldest chat goes first, then the oldest input', () => {
    const w: Waiting[] = [];
    admit(w, input('typed', 't1'), 'queue', 2);
    admit(w, input('chat', 'c1'), 'queue', 2);
    let r = admit(w, input('typed', 't2'), 'queue', 2);
    expect(r.evicted.map((i) => i.text)).toEqual(['c1']);
    r = admit(w, input('typed', 't3'), 'queue', 2);
    expect(r.evicted.map((i) => i.text)).toEqual(['t1']);
    expect(texts(w)).toEqual(['t2', 't3']);
  });
});
