/**
 * decodeAudio / normaliseAudio against the committed fixtures (made from one flite recording by
 * scripts/make-audio-fixtures.sh): every accepted format decodes to the source speech (duration,
 * loudness envelope), the content type is only a hint, and every error path gives its code and a
 * message that says what was received and what is accepted. Also the decode speed per second of
 * audio and how long the event loop is blocked, on 60 s inputs built from the fixtures' packets.
 */
import { ALL_FORMATS, BufferSource, BufferTarget, EncodedAudioPacketSource, EncodedPacket, EncodedPacketSink, Input, OggOutputFormat, Output, WebMOutputFormat } from 'mediabunny';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAudio, freeDecoders, initDecoders, normaliseAudio, parseContentType, sniffAudio } from '../../../src/workers/audio/decode.js';
import { decodeMp3, scanMp3 } from '../../../src/workers/audio/mp3.js';
import { AudioFormatError, encodeWav, floatToS16, s16ToFloat, type Pcm } from '../../../src/workers/audio/pcm.js';
import { amplitudeAt, bestCorrelation, envelopeSimilarity, fixture, maxEventLoopBlock, sourceSpeech, tone } from './audio-helpers.js';

const LIMITS = { maxBytes: 25 * 1024 * 1024, maxDurationS: 60 };
const source = sourceSpeech();
const sourceS = source.samples.length / source.sampleRate;

async function failure(p: Promise<unknown>): Promise<AudioFormatError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AudioFormatError);
    return e as AudioFormatError;
  }
  throw new Error('expected the audio to be rejected');
}

beforeAll(async () => {
  await initDecoders();
});
afterAll(async () => {
  await freeDecoders();
});

describe('decodes what clients send', () => {
  it.each([
    ['speech-16k.wav', 'audio/wav', 16000],
    ['speech-24k.mp3', 'audio/mpeg', 24000],
    ['speech-48k.webm', 'audio/webm;codecs=opus', 48000],
    ['speech-48k.ogg', 'audio/ogg', 48000],
  ])('%s decodes to the source speech at its own rate', async (name, ct, rate) => {
    const pcm = await decodeAudio(fixture(name), ct);
    expect(pcm.sampleRate).toBe(rate);
    const seconds = pcm.samples.length / pcm.sampleRate;
    expect(Math.abs(seconds - sourceS) / sourceS).toBeLessThan(0.03);
    expect(envelopeSimilarity(source, pcm)).toBeGreaterThan(0.95);
  });

  it.each(['speech-16k.wav', 'speech-24k.mp3', 'speech-48k.webm', 'speech-48k.ogg'])('%s normalises to 16 kHz mono matching the source', async (name) => {
    const { pcm16k, durationMs } = await normaliseAudio(fixture(name), undefined, LIMITS);
    expect(pcm16k.sampleRate).toBe(16000);
    expect(Math.abs(durationMs / 1000 - sourceS) / sourceS).toBeLessThan(0.03);
    expect(Math.abs(pcm16k.samples.length - source.samples.length) / source.samples.length).toBeLessThan(0.03);
    expect(envelopeSimilarity(source, pcm16k)).toBeGreaterThan(0.95);
    // Waveform (not just loudness) lines up: lossy codecs keep speech below 4 kHz nearly intact.
    expect(bestCorrelation(source.samples, pcm16k.samples, 160).r).toBeGreaterThan(name.endsWith('.wav') ? 0.999 : 0.8);
  });

  it('reads 44.1 kHz stereo 24-bit WAV and resamples it onto the source', async () => {
    const { pcm16k } = await normaliseAudio(fixture('speech-44k-stereo-24bit.wav'), 'audio/wav', LIMITS);
    expect(pcm16k.samples.length).toBe(3200);
    const head: Pcm = { samples: source.samples.subarray(0, 3200), sampleRate: 16000 };
    const { r, lag } = bestCorrelation(head.samples, pcm16k.samples, 20);
    expect(r).toBeGreaterThan(0.99);
    expect(Math.abs(lag)).toBeLessThanOrEqual(1);
  });

  it('trusts the bytes over the content type', async () => {
    expect((await decodeAudio(fixture('speech-16k.wav'), 'audio/webm')).sampleRate).toBe(16000);
    expect((await decodeAudio(fixture('speech-48k.webm'), 'audio/mpeg')).sampleRate).toBe(48000);
    expect((await decodeAudio(fixture('speech-24k.mp3'), 'audio/pcm;rate=8000')).sampleRate).toBe(24000);
    expect(sniffAudio(fixture('speech-48k.ogg'))).toBe('ogg');
    expect(sniffAudio(fixture('speech.m4a'))).toBe('mp4');
    expect(sniffAudio(fixture('speech.flac'))).toBe('flac');
    expect(sniffAudio(fixture('silent-16k.wav'))).toBe('wav');
    expect(sniffAudio(new Uint8Array(100))).toBeUndefined();
  });

  it('decodes Opus natively at 16 kHz when asked (no resampling step)', async () => {
    const pcm = await decodeAudio(fixture('speech-48k.ogg'), undefined, { preferRate: 16000 });
    expect(pcm.sampleRate).toBe(16000);
    expect(Math.abs(pcm.samples.length - source.samples.length)).toBeLessThan(16); // granule-exact end
  });

  describe('raw PCM by content type', () => {
    const s16 = floatToS16(source.samples);

    it('audio/pcm without parameters is 16 kHz mono s16le', async () => {
      const pcm = await decodeAudio(s16, 'audio/pcm');
      expect(pcm.sampleRate).toBe(16000);
      expect(pcm.samples).toEqual(s16ToFloat(s16));
    });

    it('honours rate, channels, format and endianness', async () => {
      const n = 800;
      const left = tone([300], 8000, n / 8000, 0.5);
      const stereo = Buffer.alloc(n * 4);
      for (let i = 0; i < n; i++) {
        stereo.writeInt16LE(Math.round(left[i]! * 32767), i * 4);
        stereo.writeInt16LE(0, i * 4 + 2);
      }
      const a = await decodeAudio(stereo, 'audio/L16; rate=8000; channels=2');
      expect(a.sampleRate).toBe(8000);
      expect(a.samples.length).toBe(n);
      expect(amplitudeAt(a.samples, 300, 8000)).toBeCloseTo(0.25, 2); // mean of the two channels

      const be = Buffer.alloc(n * 2);
      for (let i = 0; i < n; i++) be.writeInt16BE(Math.round(left[i]! * 32767), i * 2);
      const b = await decodeAudio(be, 'audio/x-raw;format=S16BE;rate=8000');
      expect(amplitudeAt(b.samples, 300, 8000)).toBeCloseTo(0.5, 2);

      const f32 = Buffer.from(new Float32Array(left).buffer);
      const c = await decodeAudio(f32, 'audio/pcm;rate=8000;format=f32le');
      expect(c.samples).toEqual(left);
    });

    it('rejects parameters it cannot use', async () => {
      expect((await failure(decodeAudio(s16, 'audio/pcm;rate=abc'))).code).toBe('audio_unsupported');
      expect((await failure(decodeAudio(s16, 'audio/pcm;channels=0'))).code).toBe('audio_unsupported');
      expect((await failure(decodeAudio(s16, 'audio/pcm;format=u8'))).message).toMatch(/format=u8 is not supported/);
      expect((await failure(decodeAudio(new Uint8Array([1]), 'audio/pcm'))).code).toBe('audio_empty');
    });
  });

  it('parses content types loosely', () => {
    expect(parseContentType('Audio/WebM; codecs="opus"')).toEqual({ mime: 'audio/webm', params: { codecs: 'opus' } });
    expect(parseContentType(undefined)).toEqual({ mime: '', params: {} });
  });
});

describe('rejects what it cannot use, saying why', () => {
  it('empty input: audio_empty', async () => {
    const e = await failure(decodeAudio(new Uint8Array(0), 'audio/webm'));
    expect(e.code).toBe('audio_empty');
    expect(e.message).toMatch(/0 bytes received \(declared audio\/webm\)/);
    const noData = encodeWav({ samples: new Float32Array(0), sampleRate: 16000 });
    expect((await failure(decodeAudio(noData))).code).toBe('audio_empty');
  });

  it('unknown bytes: audio_unsupported listing what is accepted; mislabelled garbage: audio_corrupt', async () => {
    const junk = new TextEncoder().encode('this is a text file, not audio at all........');
    const e = await failure(decodeAudio(junk));
    expect(e.code).toBe('audio_unsupported');
    expect(e.message).toMatch(/unrecognised audio format.*starting 74 68 69 73.*accepted: WAV, WebM\/Opus, Ogg\/Opus, MP3/);
    const c = await failure(decodeAudio(junk, 'audio/webm'));
    expect(c.code).toBe('audio_corrupt');
    expect(c.message).toMatch(/says audio\/webm but its .* are not a WebM\/Matroska file/);
  });

  it('known containers with codecs we lack: audio_unsupported naming them', async () => {
    const aac = await failure(decodeAudio(fixture('speech.m4a'), 'audio/mp4'));
    expect(aac.code).toBe('audio_unsupported');
    expect(aac.message).toMatch(/^AAC audio in MP4\/M4A is not supported; accepted: /);
    const flac = await failure(decodeAudio(fixture('speech.flac')));
    expect(flac.code).toBe('audio_unsupported');
    expect(flac.message).toMatch(/^FLAC audio is not supported/);
    const alaw = encodeWav({ samples: new Float32Array(100), sampleRate: 8000 });
    alaw.writeUInt16LE(6, 20);
    alaw.writeUInt16LE(8, 34);
    expect((await failure(decodeAudio(alaw))).code).toBe('audio_unsupported');
  });

  it('a cut-off MP3: audio_corrupt', async () => {
    const e = await failure(decodeAudio(fixture('truncated.mp3'), 'audio/mpeg'));
    expect(e.code).toBe('audio_corrupt');
    expect(e.message).toMatch(/ends in the middle of a frame.*cut off/);
    // ... at any cut point inside a frame, header included
    const mp3 = fixture('speech-24k.mp3');
    const scan = scanMp3(mp3)!;
    for (const cut of [scan.start + 2, Math.floor(mp3.length * 0.3), mp3.length - 1]) {
      expect((await failure(decodeAudio(mp3.subarray(0, cut)))).code).toBe('audio_corrupt');
    }
    // The TTS side may take what is there.
    expect((await decodeMp3(fixture('truncated.mp3'), { allowDamage: true })).samples.length).toBeGreaterThan(10000);
  });

  it('an MP3 with garbage between frames: audio_corrupt', async () => {
    const mp3 = Buffer.from(fixture('speech-24k.mp3'));
    const mid = Math.floor(mp3.length / 2);
    for (let i = 0; i < 300; i++) mp3[mid + i] = (i * 37 + 11) & 0x7f;
    const e = await failure(decodeAudio(mp3));
    expect(e.code).toBe('audio_corrupt');
    expect(e.message).toMatch(/damaged stretch/);
  });

  it('a WebM with garbage in the middle: audio_corrupt', async () => {
    const e = await failure(decodeAudio(fixture('garbage-middle.webm'), 'audio/webm'));
    expect(e.code).toBe('audio_corrupt');
    expect(e.message).toMatch(/WebM\/Matroska file is damaged/);
  });

  it('a cut-off WebM or Ogg: audio_corrupt', async () => {
    for (const name of ['speech-48k.webm', 'speech-48k.ogg']) {
      const b = fixture(name);
      for (const frac of [0.1, 0.5, 0.93]) {
        const e = await failure(decodeAudio(b.subarray(0, Math.floor(b.length * frac))));
        expect(e.code, `${name} cut at ${frac}`).toBe('audio_corrupt');
        expect(e.message).toMatch(/cut off|damaged/);
      }
    }
  });

  it('a cut-off MP4: audio_corrupt (before looking at its codec)', async () => {
    const m4a = fixture('speech.m4a');
    const e = await failure(decodeAudio(m4a.subarray(0, m4a.length - 100), 'audio/mp4'));
    expect(e.code).toBe('audio_corrupt');
    expect(e.message).toMatch(/MP4\/M4A file is cut off \(the '\w+' box at byte \d+ needs 100 more bytes/);
  });

  it('an Ogg page with a flipped byte fails its checksum: audio_corrupt', async () => {
    const b = Buffer.from(fixture('speech-48k.ogg'));
    b[Math.floor(b.length * 0.6)] ^= 0x20;
    const e = await failure(decodeAudio(b));
    expect(e.code).toBe('audio_corrupt');
    expect(e.message).toMatch(/fails its checksum/);
  });

  it('too large: audio_too_large before decoding', async () => {
    const e = await failure(normaliseAudio(fixture('speech-48k.webm'), 'audio/webm', { ...LIMITS, maxBytes: 4096 }));
    expect(e.code).toBe('audio_too_large');
    expect(e.message).toMatch(/the upload is 7\.\d KB; the limit is 4\.0 KB/);
  });

  it.each(['speech-16k.wav', 'speech-24k.mp3', 'speech-48k.webm', 'speech-48k.ogg'])('too long: %s is audio_too_long', async (name) => {
    const e = await failure(normaliseAudio(fixture(name), undefined, { ...LIMITS, maxDurationS: 1 }));
    expect(e.code).toBe('audio_too_long');
    expect(e.message).toMatch(/is 1\.[89] s long; the limit is 1 s/);
  });

  it('raw PCM over the duration limit: audio_too_long', async () => {
    const e = await failure(normaliseAudio(new Uint8Array(16000 * 2 * 3), 'audio/pcm', { ...LIMITS, maxDurationS: 2 }));
    expect(e.code).toBe('audio_too_long');
  });

  it('silence: audio_silent with the level', async () => {
    const e = await failure(normaliseAudio(fixture('silent-16k.wav'), 'audio/wav', LIMITS));
    expect(e.code).toBe('audio_silent');
    expect(e.message).toMatch(/loudest sample is -\d+ dBFS.*microphone muted/);
    const zeros = await failure(normaliseAudio(new Uint8Array(3200), 'audio/pcm', LIMITS));
    expect(zeros.code).toBe('audio_silent');
    // A quiet but real recording passes.
    const quiet = encodeWav({ samples: tone([300], 16000, 0.5, 0.01), sampleRate: 16000 }); // -40 dBFS
    expect((await normaliseAudio(quiet, 'audio/wav', LIMITS)).durationMs).toBe(500);
  });
});

// ---------------------------------------------------------------------------------------------
// Speed on 60 s inputs

async function packetsOf(bytes: Uint8Array): Promise<{ packets: EncodedPacket[]; description?: Uint8Array }> {
  const input = new Input({ source: new BufferSource(bytes), formats: ALL_FORMATS });
  const track = (await input.getPrimaryAudioTrack())!;
  const cfg = await track.getDecoderConfig();
  const packets: EncodedPacket[] = [];
  for await (const p of new EncodedPacketSink(track).packets()) packets.push(p);
  return { packets, description: cfg?.description as Uint8Array | undefined };
}

/** Remuxes the fixture's Opus packets, repeated, into a `seconds`-long WebM or Ogg. */
async function longOpus(kind: 'webm' | 'ogg', seconds: number): Promise<Uint8Array> {
  const { packets, description } = await packetsOf(fixture('speech-48k.webm'));
  const output = new Output({ format: kind === 'webm' ? new WebMOutputFormat() : new OggOutputFormat(), target: new BufferTarget() });
  const src = new EncodedAudioPacketSource('opus');
  output.addAudioTrack(src);
  await output.start();
  let t = 0;
  let first = true;
  while (t < seconds) {
    for (const p of packets) {
      const d = 0.02;
      await src.add(new EncodedPacket(p.data, 'key', t, d), first ? { decoderConfig: { codec: 'opus', numberOfChannels: 1, sampleRate: 48000, description } } : undefined);
      first = false;
      t += d;
      if (t >= seconds) break;
    }
  }
  await output.finalize();
  return new Uint8Array(output.target.buffer!);
}

/** Repeats the fixture's MP3 frames (without its Info frame) for `seconds`. */
function longMp3(seconds: number): Uint8Array {
  const mp3 = fixture('speech-24k.mp3');
  const scan = scanMp3(mp3)!;
  const frames = mp3.subarray(scan.start + scan.first.length); // skip the Xing/Info frame
  const perCopy = ((scan.frames - 1) * 576) / 24000;
  const copies = Math.ceil(seconds / perCopy);
  const out = new Uint8Array(frames.length * copies);
  for (let i = 0; i < copies; i++) out.set(frames, i * frames.length);
  return out;
}

describe('speed', () => {
  it('decodes and normalises 60 s of each format well under a second, without blocking the event loop for long', async () => {
    const speech = source.samples;
    const long = new Float32Array(60 * 16000);
    for (let i = 0; i < long.length; i += speech.length) long.set(speech.subarray(0, Math.min(speech.length, long.length - i)), i);
    const wav44 = encodeWav({ samples: await (await import('../../../src/workers/audio/decode.js')).resampleAsync(long, 16000, 44100), sampleRate: 44100 });
    const inputs: Array<[string, Uint8Array, string | undefined]> = [
      ['wav 16k', encodeWav({ samples: long, sampleRate: 16000 }), undefined],
      ['wav 44.1k', wav44, undefined],
      ['pcm 16k', floatToS16(long), 'audio/pcm;rate=16000'],
      ['mp3 24k', longMp3(60), undefined],
      ['webm/opus', await longOpus('webm', 60), undefined],
      ['ogg/opus', await longOpus('ogg', 60), undefined],
    ];
    const report: string[] = [];
    const cpuMs = () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
    for (const [name, bytes, ct] of inputs) {
      await normaliseAudio(bytes, ct, { ...LIMITS, maxDurationS: 120 }); // warm
      const t0 = performance.now();
      const c0 = cpuMs();
      const { result, maxBlockMs, turns } = await maxEventLoopBlock(() => normaliseAudio(bytes, ct, { ...LIMITS, maxDurationS: 120 }));
      const cpu = cpuMs() - c0;
      const wall = performance.now() - t0;
      const seconds = result.durationMs / 1000;
      expect(seconds, name).toBeGreaterThan(59);
      expect(seconds, name).toBeLessThan(62);
      report.push(
        `${name}: ${seconds.toFixed(1)} s of audio in ${cpu.toFixed(0)} ms CPU (${(cpu / seconds).toFixed(2)} ms per s), ${wall.toFixed(0)} ms wall, longest event-loop block ${maxBlockMs.toFixed(0)} ms, ${turns} event-loop turns`,
      );
      // CPU time, not wall: the machine is shared. "Well under a second" on a quiet machine; a
      // naive resampler or decoder would take several.
      expect(cpu, name).toBeLessThan(1000);
      // Long work is sliced: decoding or resampling yields to the event loop at least every ~6 s of
      // audio (a copy-only input, 16 kHz WAV or PCM, is a few ms of work and need not).
      if (!['wav 16k', 'pcm 16k'].includes(name)) expect(turns, name).toBeGreaterThanOrEqual(10);
    }
    console.log(`decode + normalise to 16 kHz, 60 s inputs:\n  ${report.join('\n  ')}`);
  });
});
