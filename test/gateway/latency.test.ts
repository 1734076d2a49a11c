/**
 * The gateway's own added latency on the delivery path: a ClientEvent published on fav:deliver ->
 * the WebSocket frame at a studio client. The gateway runs in a process of its own; a plain bus
 * subscriber in the test process receives the same messages, so "added" = the WebSocket arrival
 * minus the plain subscriber's arrival for the same message (the gateway's work and its WebSocket
 * hop). Messages are spaced out so they measure latency, not queueing. H6_PROF=1 writes a CPU
 * profile of the gateway process to /tmp/h6-prof.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channels } from '../../src/shared/bus.js';
import { nowMs } from '../../src/shared/voice.js';
import { ROOT, startBackend, type Backend } from '../supervisor/helpers.js';
import { audioEvent, pcm, sleep, WsClient } from './helpers.js';

const N = 300;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const r2 = (v: number) => Math.round(v * 100) / 100;

describe('gateway delivery latency (embedded bus)', () => {
  let backend: Backend;
  let child: ChildProcess;
  let gw: { url: string; token: string };
  let lines: ReturnType<typeof createInterface>;
  /** The gateway process's CPU time so far, µs. */
  const cpu = () =>
    new Promise<number>((resolve) => {
      lines.once('line', (l) => resolve((JSON.parse(l) as { cpu_us: number }).cpu_us));
      child.stdin!.write('cpu\n');
    });
  beforeAll(async () => {
    backend = await startBackend('embedded');
    child = spawn(process.execPath, [...(process.env.H6_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/h6-prof'] : []), '--import', 'tsx', 'test/gateway/gateway-child.ts', backend.url], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    lines = createInterface({ input: child.stdout! });
    const line = await new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`gateway child exited ${code}`)));
    });
    gw = JSON.parse(line) as { url: string; token: string };
  }, 30_000);
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
    await backend?.stop();
  });

  it('adds about a millisecond or less at the median (text and audio events)', async () => {
    const pub = new Redis(backend.url);
    const sub = new Redis(backend.url);
    const viaBus = new Map<string, number>();
    sub.on('message', (_c: string, raw: string) => {
      const t = nowMs();
      const m = JSON.parse(raw) as { text?: string };
      if (m.text) viaBus.set(m.text, t);
    });
    await sub.subscribe(Channels.deliver);
    const ws = await WsClient.open(`${gw.url.replace('http', 'ws')}/api/session?token=${gw.token}&session=lat`);
    const viaWs = new Map<string, number>();
    let lastAudioText = '';
    ws.socket.on('message', (data, isBinary) => {
      const t = nowMs();
      if (isBinary) return void viaWs.set(lastAudioText, t); // an audio chunk counts when its PCM is in
      const m = JSON.parse(String(data)) as { type: string; text?: string };
      if (m.type === 'audio') lastAudioText = m.text!;
      else if (m.text) viaWs.set(m.text, t);
    });
    await sleep(100);
    const cpuBefore = await cpu();
    const sent = new Map<string, { t: number; kind: string }>();
    const chunk = pcm(480); // 20 ms at 24 kHz
    for (let i = 0; i < N; i++) {
      const id = `m${i}`;
      const kind = i % 2 === 0 ? 'text' : 'audio';
      const msg = kind === 'text' ? { type: 'reply_delta', session_id: 'lat', turn_id: 't', task_id: 't', text: id } : audioEvent('lat', 't', i, chunk, { text: id });
      const raw = JSON.stringify(msg);
      sent.set(id, { t: nowMs(), kind });
      await pub.publish(Channels.deliver, raw);
      await sleep(4);
    }
    await sleep(300);
    const cpuPerEvent = (await cpu() - cpuBefore) / N;
    const added: Record<string, number[]> = { text: [], audio: [] };
    const e2e: Record<string, number[]> = { text: [], audio: [] };
    const bus: number[] = [];
    for (const [id, { t, kind }] of sent) {
      const a = viaWs.get(id);
      const b = viaBus.get(id);
      expect(a, `${id} reached the WebSocket`).toBeDefined();
      expect(b).toBeDefined();
      added[kind].push(a! - b!);
      e2e[kind].push(a! - t);
      bus.push(b! - t);
    }
    const report = {
      added_text_ms: { p50: r2(pct(added.text, 50)), p95: r2(pct(added.text, 95)) },
      added_audio_ms: { p50: r2(pct(added.audio, 50)), p95: r2(pct(added.audio, 95)) },
      publish_to_ws_text_ms: { p50: r2(pct(e2e.text, 50)), p95: r2(pct(e2e.text, 95)) },
      publish_to_ws_audio_ms: { p50: r2(pct(e2e.audio, 50)), p95: r2(pct(e2e.audio, 95)) },
      publish_to_plain_subscriber_ms: { p50: r2(pct(bus, 50)), p95: r2(pct(bus, 95)) },
      // The gateway process's CPU per event (bus read, routing, WebSocket write), all its work included.
      gateway_cpu_us_per_event: Math.round(cpuPerEvent),
    };
    console.log('gateway latency', JSON.stringify(report));
    // Budget: the whole chain's overhead target is p95 <= 15 ms over ~8 hops. Medians only: on a
    // shared 2-core machine the tail is the scheduler's (p95 went 1.5 -> 21 ms with load 10, p50 0.3 -> 0.5).
    expect(report.added_text_ms.p50).toBeLessThan(3);
    expect(report.added_audio_ms.p50).toBeLessThan(3);
    expect(report.gateway_cpu_us_per_event).toBeLessThan(1000);
    ws.close();
    pub.disconnect();
    sub.disconnect();
  }, 30_000);
});
