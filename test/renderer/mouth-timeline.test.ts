/**
 * The mouth of a window that does not play the audio (mouth-timeline.ts): each chunk's
 * `audio_timing` laid out back to back on the page's clock, the envelope read at a time, stop.
 */
import { describe, expect, it } from 'vitest';
import { LEAD_S, MouthTimeline, type AudioTimingEvent } from '../../src/renderer/voice/mouth-timeline.js';

const timing = (turn: string, seq: number, duration_ms: number, envelope: number[]): AudioTimingEvent => ({
  type: 'audio_timing',
  session_id: 's',
  turn_id: turn,
  task_id: turn,
  seq,
  index: 0,
  chunk: seq,
  duration_ms,
  envelope,
  envelope_frame_ms: 20,
  visemes: [],
});

describe('MouthTimeline', () => {
  it('lays chunks back to back from LEAD_S after the first arrives and reads their envelope in between frames', () => {
    const m = new MouthTimeline();
    m.add(timing('t', 0, 40, [0, 1]), 10); // plays 10.03 .. 10.07
    m.add(timing('t', 1, 40, [0.5, 0.5]), 10.01); // arrives early: 10.07 .. 10.11
    expect(m.valueAt(10)).toBe(0); // not started
    expect(m.valueAt(10 + LEAD_S)).toBeCloseTo(0, 6);
    expect(m.valueAt(10 + LEAD_S + 0.01)).toBeCloseTo(0.5, 6); // half way between frames 0 and 1
    expect(m.valueAt(10 + LEAD_S + 0.03)).toBeCloseTo(1, 6); // last frame held
    expect(m.valueAt(10.08)).toBeCloseTo(0.5, 6); // the second chunk
    expect(m.busy).toBe(true);
    expect(m.valueAt(10.2)).toBe(0);
    expect(m.busy).toBe(false);
  });

  it('starts a chunk that arrives after the previous one ended LEAD_S from its arrival', () => {
    const m = new MouthTimeline();
    m.add(timing('t', 0, 20, [1]), 0);
    m.add(timing('t', 1, 20, [0.3]), 1); // a gap: the first ended at 0.05
    expect(m.valueAt(1 + LEAD_S / 2)).toBe(0);
    expect(m.valueAt(1 + LEAD_S + 0.005)).toBeCloseTo(0.3, 6);
  });

  it('stop closes the mouth at once and drops later chunks of that turn, not of others', () => {
    const m = new MouthTimeline();
    m.add(timing('a', 0, 100, [0.8, 0.8, 0.8, 0.8, 0.8]), 0);
    expect(m.valueAt(0.05)).toBeCloseTo(0.8, 6);
    m.stop('a');
    expect(m.valueAt(0.06)).toBe(0);
    expect(m.busy).toBe(false);
    m.add(timing('a', 1, 100, [0.8, 0.8, 0.8, 0.8, 0.8]), 0.07); // late chunk of the stopped turn
    expect(m.busy).toBe(false);
    m.add(timing('b', 0, 100, [0.6, 0.6, 0.6, 0.6, 0.6]), 0.08);
    expect(m.valueAt(0.08 + LEAD_S + 0.01)).toBeCloseTo(0.6, 6);
    m.stop();
    expect(m.valueAt(0.12)).toBe(0);
  });
});
