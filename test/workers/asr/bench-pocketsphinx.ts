/**
 * Measures the pocketsphinx engine on flite speech: word error rate and latency from the end of
 * the audio to the text, per decoder flag set. Not a test (slow): run by hand,
 *   npx tsx test/workers/asr/bench-pocketsphinx.ts [voices] -- [flags...]
 */
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { PocketsphinxEngine, DEFAULT_DECODER_ARGS } from '../../../src/workers/asr/pocketsphinx.js';
import { SENTENCES, VOICES, say, wordErrors } from './speech.js';

const argv = process.argv.slice(2);
const dd = argv.indexOf('--');
const voices = dd > 0 ? argv.slice(0, dd) : dd === 0 ? [...VOICES] : argv.length ? argv : [...VOICES];
const args = dd >= 0 ? argv.slice(dd + 1) : [...DEFAULT_DECODER_ARGS];
const engine = new PocketsphinxEngine({ log: pino({ level: 'warn' }), args });
await engine.init();
/** CPU seconds (user + system) of the decoder processes, from /proc. */
function decoderCpu(): number {
  let ticks = 0;
  for (const pid of engine.decoderPids) {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / 100;
}
const cpu: number[] = [];
let errors = 0;
let total = 0;
const lat: number[] = [];
for (const voice of voices) {
  for (const s of SENTENCES) {
    const pcm = say(s, voice);
    const c0 = decoderCpu();
    const t0 = performance.now();
    const r = await engine.transcribe(pcm);
    const ms = performance.now() - t0;
    cpu.push((decoderCpu() - c0) / (pcm.length / 16000));
    const e = wordErrors(s, r.text);
    errors += e.errors;
    total += e.words;
    lat.push(ms / (pcm.length / 16));
    if (e.errors) console.log(`${voice} ${ms.toFixed(0)}ms (${(pcm.length / 16).toFixed(0)}ms audio) "${s}" -> "${r.text}"`);
  }
}
lat.sort((a, b) => a - b);
const cpuPerAudio = cpu.reduce((a, b) => a + b, 0) / cpu.length;
console.log(
  `args ${args.join(' ')}: WER ${((100 * errors) / total).toFixed(1)}% (${errors}/${total}); ` +
    `wall latency / audio duration p50 ${lat[lat.length >> 1]!.toFixed(3)} p90 ${lat[Math.floor(lat.length * 0.9)]!.toFixed(3)}; decoder CPU s per audio s ${cpuPerAudio.toFixed(3)}`,
);
await engine.dispose();
