/**
 * `npm run bench:gateway`
 *
 * The gateway's own added latency on the delivery path: a ClientEvent published on fav:deliver ->
 * the WebSocket frame at a studio client. The gateway runs in a process of its own; a plain bus
 * subscriber in the test process receives the same messages, so "added" = the WebSocket arrival
 * minus the plain subscriber's arrival for the same message (the gateway's work and its WebSocket
 * hop). Messages are spaced out so they measure latency, not queueing. H6_PROF=1 writes a CPU
 * profile of the gateway process to /tmp/h6-prof.
 * Targets (medians only: on a shared 2-core machine the tail is the scheduler's; p95 went 1.5 -> 21 ms
 * with load 10, p50 0.3 -> 0.5): added p50 < 3 ms for text and audio events, < 1000 µs of gateway
 * CPU per event; the whole chain's overhead target is p95 <= 15 ms over ~8 hops (bench:pipeline).
 * Reports; a MISS is not a failure.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { Channels } from '../src/shared/bus.js';
import { nowMs } from '../src/shared/voice.js';
import { audioEvent, pcm, sleep, WsClient } from '../test/main/gateway/helpers.js';
import { ROOT, startBackend } from '../test/main/supervisor/helpers.js';

const N = 300;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const r2 = (v: number) => Math.round(v * 100) / 100;

const backend = await startBackend('embedded');
const child = spawn(process.execPath, [...(process.env.H6_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/h6-prof'] : []), '--import', 'tsx', 'scripts/lib/gateway-child.ts', backend.url], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: child.stdout! });
/** The gateway process's CPU time so far, µs. */
const cpu = () =>
  new Promise<number>((resolve) => {
    lines.once('line', (l) => resolve((JSON.parse(l) as { cpu_us: number }).cpu_us));
    child.stdin!.write('cpu\n');
  });
const gw = JSON.parse(
  await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`gateway child exited ${code}`)));
  }),
) as { url: string; token: string };

try {
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
    if (a === undefined || b === undefined) throw new Error(`${id} did not reach ${a === undefined ? 'the WebSocket' : 'the plain subscriber'}`);
    added[kind]!.push(a - b);
    e2e[kind]!.push(a - t);
    bus.push(b - t);
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
  const verdict = (name: string, value: number, limit: number) => console.log(`${value < limit ? 'ok  ' : 'MISS'} ${name} ${value} (target < ${limit})`);
  verdict('added text p50 ms', report.added_text_ms.p50, 3);
  verdict('added audio p50 ms', report.added_audio_ms.p50, 3);
  verdict('gateway CPU per event µs', report.gateway_cpu_us_per_event, 1000);
  ws.close();
  pub.disconnect();
  sub.disconnect();
} finally {
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
  await backend.stop();
}
