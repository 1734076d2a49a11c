import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TurnLedger, startOf } from './turn-ledger.js';

const T0 = 1_700_000_000_000;
const turn = (turn_id: string, marks: Record<string, number> = {}, session_id = 's', ts = Date.now()) => ({ session_id, turn_id, marks, ts });

describe('TurnLedger', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
  });
  afterEach(() => vi.useRealTimers());

  it('a cancel naming a turn stops that turn only', () => {
    const l = new TurnLedger();
    l.onControl({ action: 'cancel', session_id: 's', turn_id: 'a', ts: Date.now() });
    expect(l.isLive(turn('a'))).toBe(false);
    expect(l.isLive(turn('b', { turn_start: T0 - 100 }))).toBe(true);
  });

  it('a stop cancels the turns of its session that started before it, not later ones nor other sessions', () => {
    const l = new TurnLedger();
    const before = turn('before', { turn_start: T0 - 1 });
    vi.advanceTimersByTime(0);
    l.onControl({ action: 'stop', session_id: 's', ts: Date.now() });
    vi.advanceTimersByTime(5);
    const after = turn('after', { turn_start: Date.now() });
    expect(l.isLive(before)).toBe(false);
    expect(l.isLive(after)).toBe(true);
    expect(l.isLive(turn('other', { turn_start: T0 - 1 }, 'other-session'))).toBe(true);
  });

  it('a stop naming a turn cancels that turn and the session before it', () => {
    const l = new TurnLedger();
    l.onControl({ action: 'stop', session_id: 's', turn_id: 'named', ts: T0 });
    expect(l.isLive(turn('named', { turn_start: T0 + 10 }))).toBe(false);
    expect(l.isLive(turn('older', { turn_start: T0 - 10 }))).toBe(false);
    expect(l.isLive(turn('newer', { turn_start: T0 + 10 }))).toBe(true);
  });

  it('places a turn at turn_start, else input, else ts; an input in the same millisecond as the stop stays live', () => {
    expect(startOf({ marks: { turn_start: 3, input: 2 }, ts: 4 })).toBe(3);
    expect(startOf({ marks: { input: 2 }, ts: 4 })).toBe(2);
    expect(startOf({ marks: {}, ts: 4 })).toBe(4);
    const l = new TurnLedger();
    l.onControl({ action: 'stop', session_id: 's', ts: T0 });
    expect(l.isLive(turn('late-message', { input: T0 - 0.5 }, 's', T0 + 200))).toBe(false);
    expect(l.isLive(turn('same-ms', { input: T0 }))).toBe(true);
    // No start known: nothing to compare, so only an id cancel can stop it.
    expect(l.isLive({ session_id: 's', turn_id: 'unknown' })).toBe(true);
  });

  it('uses the event time, not the moment it is heard', () => {
    const l = new TurnLedger();
    const pressedAt = Date.now();
    vi.advanceTimersByTime(300); // the receiver was busy
    const startedMeanwhile = turn('meanwhile', { turn_start: pressedAt + 100 });
    l.onControl({ action: 'stop', session_id: 's', ts: pressedAt });
    expect(l.isLive(startedMeanwhile)).toBe(true);
  });

  it('keeps the latest session cancel when an older one arrives late', () => {
    const l = new TurnLedger();
    l.onControl({ action: 'stop', session_id: 's', ts: T0 + 50 });
    l.onControl({ action: 'stop', session_id: 's', ts: T0 });
    expect(l.isLive(turn('x', { turn_start: T0 + 20 }))).toBe(false);
  });

  it('cancelSession without a time uses the injected clock', () => {
    let clock = 1000;
    const l = new TurnLedger({ now: () => clock });
    l.cancelSession('s');
    clock = 2000;
    expect(l.isLive(turn('old', { turn_start: 999 }))).toBe(false);
    expect(l.isLive(turn('new', { turn_start: 1500 }))).toBe(true);
    const d = new TurnLedger();
    vi.advanceTimersByTime(40);
    d.cancelSession('s');
    expect(d.isLive(turn('fake-clock', { turn_start: T0 + 39 }))).toBe(false);
    expect(d.isLive(turn('fake-clock2', { turn_start: T0 + 40 }))).toBe(true);
  });

  it('an ended turn is not live, and is not reported as cancelled', () => {
    const l = new TurnLedger();
    l.end('done');
    expect(l.isLive(turn('done'))).toBe(false);
    expect(l.isEnded('done')).toBe(true);
    expect(l.isCancelled(turn('done'))).toBe(false);
  });

  it('stays bounded and forgets the oldest first', () => {
    const l = new TurnLedger({ max: 10 });
    for (let i = 0; i < 100; i++) {
      l.cancelTurn(`c${i}`);
      l.end(`e${i}`);
      l.cancelSession(`s${i}`, T0);
    }
    expect(l.size).toEqual({ cancelled: 10, ended: 10, sessions: 10 });
    expect(l.isLive(turn('c89'))).toBe(true);
    expect(l.isLive(turn('c90'))).toBe(false);
    expect(l.isEnded('e89')).toBe(false);
    expect(l.isEnded('e99')).toBe(true);
    // Re-recording makes an entry the newest: it survives the next eviction.
    l.cancelTurn('c90');
    l.cancelTurn('fresh');
    expect(l.isLive(turn('c90'))).toBe(false);
    expect(l.isLive(turn('c91'))).toBe(true);
  });
});
