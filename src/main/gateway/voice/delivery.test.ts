import { describe, expect, it } from 'vitest';
import { DeliveryRouter, type Delivered } from './delivery.js';

const logs: string[] = [];
const router = () => new DeliveryRouter((_level, msg) => void logs.push(msg));

describe('DeliveryRouter', () => {
  it('routes by session and by task (turn_id where no task_id), and forgets listeners', () => {
    const r = router();
    const got: string[] = [];
    const offA = r.onSession('a', (d) => got.push(`session a: ${d.event.type}`));
    r.onSession('b', (d) => got.push(`session b: ${d.event.type}`));
    const offT = r.onTask('t1', (d) => got.push(`task t1: ${d.event.type}`));
    r.dispatch(JSON.stringify({ type: 'reply_delta', session_id: 'a', turn_id: 'x', task_id: 't1', text: 'hi' }));
    r.dispatch(JSON.stringify({ type: 'turn_state', session_id: 'c', turn_id: 't1', state: 'idle' }));
    r.dispatch(JSON.stringify({ type: 'turn_state', session_id: 'b', turn_id: 't2', state: 'idle' }));
    expect(got).toEqual(['session a: reply_delta', 'task t1: reply_delta', 'task t1: turn_state', 'session b: turn_state']);
    offA();
    offT();
    expect(r.counts).toEqual({ sessions: 1, tasks: 0 });
  });

  it('forwards the text as published, and splits audio once into metadata and PCM', () => {
    const r = router();
    const seen: Delivered[] = [];
    r.onSession('a', (d) => seen.push(d));
    r.onTask('t', (d) => seen.push(d));
    const pcm = Buffer.from([1, 2, 3, 4]);
    const raw = JSON.stringify({ type: 'audio', session_id: 'a', turn_id: 't', task_id: 't', seq: 0, pcm_b64: pcm.toString('base64'), sample_rate: 24000 });
    r.dispatch(raw);
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBe(seen[1]);
    expect(seen[0].raw).toBe(raw);
    const parts = seen[0].audio();
    expect(parts.pcm.equals(pcm)).toBe(true);
    expect(JSON.parse(parts.meta)).toEqual({ type: 'audio', session_id: 'a', turn_id: 't', task_id: 't', seq: 0, sample_rate: 24000 });
    expect(seen[1].audio()).toBe(parts);
  });

  it('gives view sockets the audio\'s timing without the PCM, once per event', () => {
    const r = router();
    let d: Delivered | undefined;
    r.onSession('a', (x) => (d = x));
    const pcm = Buffer.alloc(2 * 3300); // 3300 samples at 22050 Hz = 149.660 ms
    const visemes = [{ t_ms: 12, v: 'A', phone: 'aa' }];
    r.dispatch(JSON.stringify({ type: 'audio', session_id: 'a', turn_id: 't', task_id: 'k', seq: 4, index: 1, chunk: 2, format: 'pcm_s16le', sample_rate: 22050, envelope: [0.5], envelope_frame_ms: 20, visemes, pcm_b64: pcm.toString('base64') }));
    const timing = d!.timing();
    expect(JSON.parse(timing)).toEqual({ type: 'audio_timing', session_id: 'a', turn_id: 't', task_id: 'k', seq: 4, index: 1, chunk: 2, duration_ms: 149.66, envelope: [0.5], envelope_frame_ms: 20, visemes });
    expect(d!.timing()).toBe(timing);
  });

  it('skips malformed messages, and one failing listener does not stop the others', () => {
    const r = router();
    const got: string[] = [];
    r.onSession('a', () => {
      throw new Error('socket gone');
    });
    r.onSession('a', (d) => got.push(d.event.type));
    for (const bad of ['nope', '[]', '{"type":"x"}', '{"session_id":"a"}', 'null']) r.dispatch(bad);
    r.dispatch('{"type":"turn_state","session_id":"a","turn_id":"t","state":"idle"}');
    expect(got).toEqual(['turn_state']);
    expect(logs.some((l) => l.includes('malformed'))).toBe(true);
    expect(logs.some((l) => l.includes('listener failed'))).toBe(true);
  });
});
