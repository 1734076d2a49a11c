import { describe, expect, it } from 'vitest';
import { TurnTimings } from './turn-timings.js';

const end = (turn_id: string, marks: Record<string, number>, session_id = 's') => ({ session_id, turn_id, reason: 'done', marks });

describe('TurnTimings', () => {
  it('lists ended turns oldest first with their marks', () => {
    const t = new TurnTimings(5);
    t.turnEnd(end('a', { speech_end: 100, transcript: 250 }));
    t.turnEnd(end('b', { input: 300, llm_first_token: 700 }));
    expect(t.list()).toEqual([
      { session_id: 's', turn_id: 'a', reason: 'done', marks: { speech_end: 100, transcript: 250 } },
      { session_id: 's', turn_id: 'b', reason: 'done', marks: { input: 300, llm_first_token: 700 } },
    ]);
  });

  it('joins heard with the turn_end whichever comes first, and keeps the first heard', () => {
    const t = new TurnTimings(5);
    t.heard('s', 'a', 900);
    expect(t.list()).toEqual([]); // not ended yet
    t.heard('s', 'a', 950);
    t.turnEnd(end('a', { input: 100, first_audio: 800 }));
    t.turnEnd(end('b', { input: 1000, first_audio: 1500 }));
    t.heard('s', 'b', 1540);
    expect(t.list().map((x) => x.marks)).toEqual([
      { input: 100, first_audio: 800, heard: 900 },
      { input: 1000, first_audio: 1500, heard: 1540 },
    ]);
  });

  it('never lists heard before the audio was delivered (a stalled page over-reports how long ago it started)', () => {
    const t = new TurnTimings(5);
    t.heard('s', 'a', 400);
    t.turnEnd(end('a', { input: 100, first_audio: 800, delivered: 820 }));
    t.turnEnd(end('b', { input: 1000, first_audio: 1500 }));
    t.heard('s', 'b', 1200);
    t.turnEnd(end('c', { input: 2000, first_audio: 2500, delivered: 2510 }));
    t.heard('s', 'c', 2600);
    expect(t.list().map((x) => x.marks.heard)).toEqual([820, 1500, 2600]);
  });

  it('keeps turns of different sessions apart', () => {
    const t = new TurnTimings(5);
    t.heard('s1', 'x', 10);
    t.turnEnd(end('x', { input: 1 }, 's2'));
    expect(t.list()).toEqual([{ session_id: 's2', turn_id: 'x', reason: 'done', marks: { input: 1 } }]);
  });

  it('keeps the last `capacity` ended turns and bounds the waiting ones', () => {
    const t = new TurnTimings(3);
    for (let i = 0; i < 10; i++) t.turnEnd(end(`t${i}`, { input: i }));
    expect(t.list().map((x) => x.turn_id)).toEqual(['t7', 't8', 't9']);
    // Heard reports of turns that never end do not pile up: only the last 3 wait.
    const w = new TurnTimings(3);
    for (let i = 0; i < 10; i++) w.heard('s', `w${i}`, 1000 + i);
    w.turnEnd(end('w0', { input: 0 }));
    w.turnEnd(end('w9', { input: 9 }));
    expect(w.list().map((x) => [x.turn_id, x.marks.heard])).toEqual([
      ['w9', 1009],
      ['w0', undefined],
    ]);
  });

  it('does not let a returned list alter the ring, and refuses a bad capacity', () => {
    const t = new TurnTimings(2);
    t.turnEnd(end('a', { input: 1 }));
    t.list()[0]!.marks.input = 99;
    expect(t.list()[0]!.marks.input).toBe(1);
    expect(() => new TurnTimings(0)).toThrow(/positive integer/);
  });

  it("lists a turn's recall status, reported before or after its end; a turn without one has none", () => {
    const t = new TurnTimings(5);
    const info = { status: 'vector', waited_ms: 12, took_ms: 9, embed_ms: 4, engine: 'use-lite:512', count: 2 };
    t.recall('s', 'a', info);
    expect(t.list()).toEqual([]); // not ended yet
    t.turnEnd(end('a', { input: 100, recall: 112 }));
    t.turnEnd(end('b', { input: 200 }));
    t.recall('s', 'b', { status: 'timeout', waited_ms: 120, count: 0 });
    t.turnEnd(end('c', { input: 300 }));
    expect(t.list()).toEqual([
      { session_id: 's', turn_id: 'a', reason: 'done', marks: { input: 100, recall: 112 }, recall: info },
      { session_id: 's', turn_id: 'b', reason: 'done', marks: { input: 200 }, recall: { status: 'timeout', waited_ms: 120, count: 0 } },
      { session_id: 's', turn_id: 'c', reason: 'done', marks: { input: 300 } },
    ]);
    // Recall reports of turns that never end are bounded like the heard ones.
    const w = new TurnTimings(2);
    for (let i = 0; i < 10; i++) w.recall('s', `w${i}`, { status: 'keyword', waited_ms: i, count: 0 });
    w.turnEnd(end('w0', { input: 0 }));
    w.turnEnd(end('w9', { input: 9 }));
    expect(w.list().map((x) => [x.turn_id, x.recall?.waited_ms])).toEqual([
      ['w9', 9],
      ['w0', undefined],
    ]);
  });
});
