import { describe, expect, it } from 'vitest';
import { layoutLatency, niceCeil, turnStages } from './latency-bars.js';

const spoken = { speech_end: 1000, transcript: 1300, turn_start: 1310, llm_first_token: 1900, sentence_0: 2100, first_audio: 2350, delivered: 2352, heard: 2400 };
const typed = { input: 5000, turn_start: 5005, llm_first_token: 5200, sentence_0: 5300, first_audio: 5450 };

describe('turnStages', () => {
  it('splits a spoken turn into the five stages, end to end from the end of speech', () => {
    expect(turnStages(spoken)).toEqual([
      { stage: 'asr', from: 'speech_end', to: 'transcript', ms: 300, offset: 0 },
      { stage: 'llm', from: 'transcript', to: 'llm_first_token', ms: 600, offset: 300 },
      { stage: 'sentence', from: 'llm_first_token', to: 'sentence_0', ms: 200, offset: 900 },
      { stage: 'tts', from: 'sentence_0', to: 'first_audio', ms: 250, offset: 1100 },
      { stage: 'playback', from: 'first_audio', to: 'heard', ms: 50, offset: 1350 },
    ]);
  });

  it('starts a typed turn at its input, without an ASR stage; a turn not heard ends at its first audio', () => {
    expect(turnStages(typed)!.map((s) => [s.stage, s.from, s.ms])).toEqual([
      ['llm', 'input', 200],
      ['sentence', 'llm_first_token', 100],
      ['tts', 'sentence_0', 150],
    ]);
  });

  it('prefers the end of speech over the input when a turn has both, and joins a missing middle mark into the next stage', () => {
    const s = turnStages({ input: 900, speech_end: 1000, transcript: 1100, first_audio: 1600 })!;
    expect(s.map((x) => [x.stage, x.from, x.ms])).toEqual([
      ['asr', 'speech_end', 100],
      ['tts', 'transcript', 500],
    ]);
  });

  it('puts the recall between the transcript (or the input) and the first token when memory marked it', () => {
    expect(turnStages({ ...spoken, recall: 1340 })!.map((s) => [s.stage, s.from, s.ms])).toEqual([
      ['asr', 'speech_end', 300],
      ['recall', 'transcript', 40],
      ['llm', 'recall', 560],
      ['sentence', 'llm_first_token', 200],
      ['tts', 'sentence_0', 250],
      ['playback', 'first_audio', 50],
    ]);
    expect(turnStages({ ...typed, recall: 5030 })!.map((s) => [s.stage, s.from, s.ms]).slice(0, 2)).toEqual([
      ['recall', 'input', 30],
      ['llm', 'recall', 170],
    ]);
  });

  it('never draws a stage backwards, and has nothing for a turn without a start or any stage', () => {
    expect(turnStages({ input: 1000, llm_first_token: 990, first_audio: 1200 })!.map((x) => x.ms)).toEqual([0, 210]);
    expect(turnStages({ transcript: 5, first_audio: 9 })).toBeUndefined();
    expect(turnStages({ input: 5, turn_start: 9 })).toBeUndefined();
  });
});

describe('layoutLatency', () => {
  const turns = [
    { session_id: 's', turn_id: 'old', marks: typed },
    { session_id: 's', turn_id: 'new', marks: spoken },
    { session_id: 's', turn_id: 'empty', marks: { turn_start: 1 } },
  ];

  it('draws the newest turn on top, every row on one scale, bars end to end', () => {
    const l = layoutLatency(turns, { width: 518, labelWidth: 110, rowHeight: 18, rowGap: 6, axisHeight: 22 });
    // Plot 400 px wide; the longest turn (1400 ms) sets a scale of 2000 ms: 0.2 px per ms.
    expect(l.plotLeft).toBe(110);
    expect(l.plotWidth).toBe(400);
    expect(l.maxMs).toBe(2000);
    expect(l.rows.map((r) => [r.turnId, r.y, r.total])).toEqual([
      ['new', 0, 1400],
      ['old', 24, 450],
    ]);
    expect(l.rows[0]!.bars.map((b) => [b.stage, b.x, b.width])).toEqual([
      ['asr', 110, 60],
      ['llm', 170, 120],
      ['sentence', 290, 40],
      ['tts', 330, 50],
      ['playback', 380, 10],
    ]);
    // Each bar starts where the previous one ends.
    for (const row of l.rows) for (let i = 1; i < row.bars.length; i++) expect(row.bars[i]!.x).toBeCloseTo(row.bars[i - 1]!.x + row.bars[i - 1]!.width, 5);
    expect(l.rows[1]!.bars[0]).toMatchObject({ stage: 'llm', x: 110, width: 40 });
    expect(l.ticks).toEqual([0, 400, 800, 1200, 1600, 2000].map((ms) => ({ ms, x: 110 + ms * 0.2 })));
    expect(l.height).toBe(2 * 18 + 6 + 22);
    // Medians over the turns that have the stage: the LLM is the slow one here.
    expect(l.medians).toEqual({ asr: 300, llm: 400, sentence: 150, tts: 200, playback: 50 });
    expect(l.slowest).toBe('llm');
  });

  it("carries each turn's recall status to its row, and where its last bar ends", () => {
    const recall = { status: 'timeout', waited_ms: 120, count: 0 };
    const l = layoutLatency([{ session_id: 's', turn_id: 'r', marks: { ...typed, recall: 5120 }, recall }, { session_id: 's', turn_id: 'n', marks: typed }], { width: 518, labelWidth: 110 });
    expect(l.rows.map((r) => [r.turnId, r.recall?.status])).toEqual([
      ['n', undefined],
      ['r', 'timeout'],
    ]);
    expect(l.medians.recall).toBe(120);
    const last = l.rows[1]!.bars.at(-1)!;
    expect(l.rows[1]!.end).toBeCloseTo(last.x + last.width, 5);
  });

  it('has no rows (and a unit scale) when no turn has timings', () => {
    const l = layoutLatency([{ session_id: 's', turn_id: 'x', marks: {} }], { width: 300 });
    expect(l.rows).toEqual([]);
    expect(l.maxMs).toBe(1);
    expect(l.medians).toEqual({});
    expect(l.slowest).toBeUndefined();
  });

  it('rounds the scale up to 1, 2 or 5 times a power of ten', () => {
    expect([0.3, 1, 1.5, 3, 7, 12, 999, 1001, 4500].map(niceCeil)).toEqual([0.5, 1, 2, 5, 10, 20, 1000, 2000, 5000]);
  });
});
