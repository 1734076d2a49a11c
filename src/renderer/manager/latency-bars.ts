/**
 * The latency chart's geometry, as a pure function of the turns' marks: one row per turn (newest on
 * top), one bar per stage present, laid end to end from the turn's start (end of speech, or the
 * typed input), on one scale shared by every row so a slow stage stands out at a glance.
 * A stage is the time from the previous mark present to its own: a turn without a transcript (typed)
 * has no ASR bar, and a turn not heard (played in no studio) ends at its first audio.
 */
import { LATENCY_STAGES, TURN_START_MARKS, type LatencyStageId, type TurnRecall, type TurnTiming } from '../../shared/manager-api.js';

export interface StageSpan {
  stage: LatencyStageId;
  /** The marks it lies between. */
  from: string;
  to: string;
  ms: number;
  /** Where it starts, ms after the turn's start. */
  offset: number;
}

/** The stages of one turn, or undefined when it has no start mark or no stage after it. */
export function turnStages(marks: Record<string, number>): StageSpan[] | undefined {
  const startMark = TURN_START_MARKS.find((m) => typeof marks[m] === 'number');
  if (!startMark) return undefined;
  let prev = marks[startMark]!;
  let prevMark: string = startMark;
  let offset = 0;
  const out: StageSpan[] = [];
  for (const s of LATENCY_STAGES) {
    const at = marks[s.mark];
    if (typeof at !== 'number' || !Number.isFinite(at)) continue;
    // Marks come from several processes' clocks of one machine; a stage never goes backwards.
    const ms = Math.max(0, at - prev);
    out.push({ stage: s.id, from: prevMark, to: s.mark, ms, offset });
    offset += ms;
    prev = at;
    prevMark = s.mark;
  }
  return out.length > 0 ? out : undefined;
}

export interface ChartBar extends StageSpan {
  x: number;
  width: number;
}

export interface ChartRow {
  turnId: string;
  sessionId: string;
  y: number;
  total: number;
  bars: ChartBar[];
  /** Where the row's last bar ends (x): the recall status is written after it. */
  end: number;
  /** How the turn's long-term recall went, when known. */
  recall?: TurnRecall;
}

export interface ChartTick {
  x: number;
  ms: number;
}

export interface ChartLayout {
  rows: ChartRow[];
  ticks: ChartTick[];
  /** The scale's end (ms at the right edge of the plot). */
  maxMs: number;
  /** Per stage, the median over the turns that have it (the legend says it; the largest is the slow stage). */
  medians: Partial<Record<LatencyStageId, number>>;
  /** The stage with the largest median, if any. */
  slowest: LatencyStageId | undefined;
  width: number;
  height: number;
  plotLeft: number;
  plotWidth: number;
}

export interface ChartOptions {
  width: number;
  /** Left margin for the turn labels. */
  labelWidth?: number;
  rowHeight?: number;
  rowGap?: number;
  /** Space under the rows for the axis. */
  axisHeight?: number;
  /** Space right of the plot (the last tick's label). */
  rightMargin?: number;
}

/** 1, 2 or 5 times a power of ten, at least `v`. */
export function niceCeil(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const round = (v: number) => Math.round(v * 100) / 100;

export function layoutLatency(turns: readonly TurnTiming[], o: ChartOptions): ChartLayout {
  const labelWidth = o.labelWidth ?? 110;
  const rowHeight = o.rowHeight ?? 18;
  const rowGap = o.rowGap ?? 6;
  const axisHeight = o.axisHeight ?? 22;
  const plotLeft = labelWidth;
  const plotWidth = Math.max(10, o.width - labelWidth - (o.rightMargin ?? 8));

  const staged = [...turns]
    .reverse()
    .map((t) => ({ t, stages: turnStages(t.marks) }))
    .filter((r): r is { t: TurnTiming; stages: StageSpan[] } => r.stages !== undefined);
  const totals = staged.map((r) => r.stages.reduce((a, s) => a + s.ms, 0));
  const maxMs = niceCeil(Math.max(0, ...totals));
  const scale = plotWidth / maxMs;

  const rows: ChartRow[] = staged.map((r, i) => ({
    turnId: r.t.turn_id,
    sessionId: r.t.session_id,
    y: i * (rowHeight + rowGap),
    total: totals[i]!,
    bars: r.stages.map((s) => ({ ...s, x: round(plotLeft + s.offset * scale), width: round(s.ms * scale) })),
    end: round(plotLeft + totals[i]! * scale),
    ...(r.t.recall ? { recall: r.t.recall } : {}),
  }));
  const medians: Partial<Record<LatencyStageId, number>> = {};
  let slowest: LatencyStageId | undefined;
  for (const s of LATENCY_STAGES) {
    const values = staged.flatMap((r) => r.stages.filter((x) => x.stage === s.id).map((x) => x.ms)).sort((a, b) => a - b);
    if (values.length === 0) continue;
    const mid = values.length >> 1;
    const median = values.length % 2 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
    medians[s.id] = median;
    if (slowest === undefined || median > medians[slowest]!) slowest = s.id;
  }
  const step = maxMs / 5;
  const ticks: ChartTick[] = Array.from({ length: 6 }, (_, k) => ({ ms: round(k * step), x: round(plotLeft + k * step * scale) }));
  const rowsHeight = rows.length > 0 ? rows.length * (rowHeight + rowGap) - rowGap : 0;
  return { rows, ticks, maxMs, medians, slowest, width: o.width, height: rowsHeight + axisHeight, plotLeft, plotWidth };
}
