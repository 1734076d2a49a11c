import { describe, expect, it } from 'vitest';
import type { TtsAudio } from '../../shared/voice.js';
import { TurnAudio } from './turn-audio.js';
import { newEventId } from '../../shared/bus.js';

const c = (index: number, chunk: number, final: boolean, pcm = true): TtsAudio => ({
  session_id: 's',
  turn_id: 't',
  task_id: 't',
  event_id: newEventId(),
  ts: 0,
  marks: {},
  kind: 'audio',
  index,
  chunk,
  final,
  envelope: [],
  visemes: [],
  ...(pcm ? { pcm_b64: `${index}.${chunk}`, sample_rate: 16000 } : {}),
});

function drain(a: TurnAudio): string[] {
  const out: string[] = [];
  a.drain((x, seq) => out.push(`${x.index}.${x.chunk}#${seq}`));
  return out;
}

describe('TurnAudio', () => {
  it('emits in sentence then chunk order whatever the arrival order, seq gap-free', () => {
    const a = new TurnAudio();
    const arrivals = [c(2, 0, true), c(1, 1, true), c(0, 1, true), c(1, 0, false), c(0, 0, false)];
    const out: string[] = [];
    for (const x of arrivals) {
      a.add(x);
      out.push(...drain(a));
    }
    expect(out).toEqual(['0.0#0', '0.1#1', '1.0#2', '1.1#3', '2.0#4']);
    a.end(3);
    expect(a.complete).toBe(true);
    expect(a.stalled).toBe(false);
  });

  it('every permutation of a 3-sentence turn comes out in the same order', () => {
    const chunks = [c(0, 0, false), c(0, 1, true), c(1, 0, true), c(2, 0, false), c(2, 1, true)];
    const perms = (xs: TtsAudio[]): TtsAudio[][] => (xs.length <= 1 ? [xs] : xs.flatMap((x, i) => perms([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p])));
    for (const p of perms(chunks)) {
      const a = new TurnAudio();
      const out: string[] = [];
      for (const x of p) {
        a.add(x);
        out.push(...drain(a));
      }
      expect(out).toEqual(['0.0#0', '0.1#1', '1.0#2', '2.0#3', '2.1#4']);
    }
  });

  it('skips a failed sentence (also when its error comes after some chunks) and drops its late chunks', () => {
    const a = new TurnAudio();
    a.add(c(0, 0, true));
    a.add(c(1, 0, false));
    expect(drain(a)).toEqual(['0.0#0', '1.0#1']);
    a.add(c(2, 0, true));
    a.fail(1);
    expect(a.add(c(1, 1, true))).toBe(false);
    expect(drain(a)).toEqual(['2.0#2']);
    a.end(3);
    expect(a.complete).toBe(true);
  });

  it('drops chunks played already and moves past chunks without audio without emitting them', () => {
    const a = new TurnAudio();
    a.add(c(0, 0, false));
    a.add(c(0, 1, true));
    expect(drain(a)).toHaveLength(2);
    expect(a.add(c(0, 0, false))).toBe(false);
    a.add(c(1, 0, true, false)); // a sentence with nothing to say
    a.add(c(2, 0, true));
    expect(drain(a)).toEqual(['2.0#2']);
  });

  it('is stalled behind a missing sentence; skipGap jumps to the earliest buffered chunk, or to the end', () => {
    const a = new TurnAudio();
    a.add(c(0, 0, true));
    a.add(c(2, 0, true));
    drain(a);
    expect(a.stalled).toBe(true);
    expect(a.skipGap()).toEqual({ fromIndex: 1, toIndex: 2 });
    expect(drain(a)).toEqual(['2.0#1']);
    a.end(5);
    expect(a.stalled).toBe(true);
    expect(a.complete).toBe(false);
    a.skipGap();
    expect(a.complete).toBe(true);
  });
});
