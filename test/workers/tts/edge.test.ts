/**
 * The Edge engine's own WebSocket client against a stand-in that checks the handshake and frames
 * the way the service does (test/helpers/edge-tts-server.ts) and answers with real MP3 speech:
 * token, headers, speech.config once per connection, SSML escaping, MP3 decoding, connection reuse,
 * clock-skew retry, and the failure modes (refused token, unknown voice, a connection dropped
 * mid-sentence, server down), plus abort.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { decodeMp3 } from '../../../src/workers/audio/mp3.js';
import { envelope } from '../../../src/workers/audio/pcm.js';
import { EdgeEngine, buildSsml, edgeRate, edgeVoiceName, secMsGec } from '../../../src/workers/tts/engines/edge.js';
import { EDGE_FIXTURE, EDGE_PATH, expectedGec, startEdgeTtsServer, type EdgeServer } from '../../helpers/edge-tts-server.js';
import { freePort } from '../../helpers/redis-server.js';
import { collectTimed, concat, signal } from './helpers.js';

describe('edge protocol pieces', () => {
  it('computes the Sec-MS-GEC token per 5-minute window', () => {
    const t = Date.UTC(2025, 0, 1, 12, 2, 30);
    expect(secMsGec(t)).toMatch(/^[0-9A-F]{64}$/);
    expect(secMsGec(t)).toBe(secMsGec(Date.UTC(2025, 0, 1, 12, 0, 0)));
    expect(secMsGec(t)).not.toBe(secMsGec(Date.UTC(2025, 0, 1, 12, 5, 0)));
    expect(secMsGec(t)).toBe(expectedGec(t)); // the stand-in's independent computation
  });

  it('expands voice names and rates the way Edge sends them', () => {
    expect(edgeVoiceName('en-US-AriaNeural')).toBe('Microsoft Server Speech Text to Speech Voice (en-US, AriaNeural)');
    expect(edgeVoiceName('zh-CN-liaoning-XiaobeiNeural')).toBe('Microsoft Server Speech Text to Speech Voice (zh-CN-liaoning, XiaobeiNeural)');
    expect(() => edgeVoiceName('aria')).toThrow('"aria" is not an Edge voice name: set tts.voice to one such as en-US-AriaNeural');
    expect([edgeRate(1), edgeRate(1.5), edgeRate(0.8)]).toEqual(['+0%', '+50%', '-20%']);
    expect(buildSsml(`Tom & Jerry <3 "it's"`, 'V', 1)).toContain(`<prosody pitch='+0Hz' rate='+0%' volume='+0%'>Tom &amp; Jerry &lt;3 &quot;it&apos;s&quot;</prosody>`);
  });
});

describe('edge engine against the stand-in', () => {
  let srv: EdgeServer;
  let engine: EdgeEngine;
  let fixturePcm: Float32Array;

  beforeAll(async () => {
    srv = await startEdgeTtsServer();
    engine = new EdgeEngine({ url: srv.url, voice: 'en-US-AriaNeural' });
    await engine.init();
    fixturePcm = (await decodeMp3(readFileSync(EDGE_FIXTURE))).samples;
  });
  afterAll(async () => {
    await engine?.dispose();
    await srv?.close();
  });
  beforeEach(() => srv.setOptions({ clockSkewMs: undefined, dropAfterFrames: undefined, frameIntervalMs: undefined, firstByteDelayMs: undefined, closeAfterTurns: undefined }));

  it('speaks: the MP3 stream is collected and decoded to 24 kHz speech', async () => {
    const t0 = performance.now();
    const pieces = await collectTimed(engine.synthesize('Tom & Jerry say <hello>.', { voice: 'en-US-AriaNeural', rate: 1.2, signal: signal() }));
    expect(pieces).toHaveLength(1);
    expect(pieces[0]!.sampleRate).toBe(24000);
    const pcm = concat(pieces);
    expect(pcm.length).toBe(fixturePcm.length);
    expect(Math.abs(pcm.length / 24000 - 3.0)).toBeLessThan(0.2);
    expect(Math.max(...envelope(pcm, 24000))).toBeGreaterThan(0.3);
    const turn = srv.turns.at(-1)!;
    expect(turn).toMatchObject({ voice: 'Microsoft Server Speech Text to Speech Voice (en-US, AriaNeural)', rate: '+20%', text: 'Tom & Jerry say <hello>.', completed: true });
    expect(turn.framesSent).toBeGreaterThan(3);
    const conn = srv.connections[turn.connection]!;
    expect(conn.headers.origin).toBe('chrome-extension://jdiccldimpdaibmpdkjnbmckianbfold');
    expect(conn.headers['user-agent']).toMatch(/Edg\/\d+/);
    expect(engine.lastWordBoundaries).toBe(5); // one audio.metadata WordBoundary per word
    console.info(`edge: ${(pcm.length / 24).toFixed(0)} ms of audio after ${(pieces[0]!.at - t0).toFixed(1)} ms (stand-in, local)`);
  });

  it('keeps one connection for several sentences, speech.config sent once', async () => {
    const before = srv.connections.length;
    for (const t of ['First.', 'Second.', 'Third.']) await collectTimed(engine.synthesize(t, { voice: 'en-US-AriaNeural', rate: 1, signal: signal() }));
    expect(srv.connections.length - before).toBeLessThanOrEqual(1);
    const conn = srv.connections[srv.turns.at(-1)!.connection]!;
    expect(conn.configs).toBe(1);
    expect(srv.turns.slice(-3).every((t) => t.connection === conn.id)).toBe(true);
  });

  it('reconnects when the service closed the kept connection', async () => {
    srv.setOptions({ closeAfterTurns: 1 });
    await collectTimed(engine.synthesize('One.', { voice: 'en-US-AriaNeural', rate: 1, signal: signal() }));
    await new Promise((r) => setTimeout(r, 50));
    const [p] = await collectTimed(engine.synthesize('Two.', { voice: 'en-US-AriaNeural', rate: 1, signal: signal() }));
    expect(p!.samples.length).toBe(fixturePcm.length);
    const [a, b] = srv.turns.slice(-2);
    expect(a!.connection).not.toBe(b!.connection);
  });

  it("corrects its clock from the 403's Date header and retries once", async () => {
    const e = new EdgeEngine({ url: srv.url, voice: 'en-US-AriaNeural' });
    srv.setOptions({ clockSkewMs: 11 * 60_000 });
    const refusedBefore = srv.refused.length;
    const [p] = await collectTimed(e.synthesize('Skewed.', { voice: 'en-US-AriaNeural', rate: 1, signal: signal() }));
    expect(p!.samples.length).toBeGreaterThan(0);
    expect(srv.refused.slice(refusedBefore).map((r) => r.reason)).toEqual(['Sec-MS-GEC']);
    await e.dispose();
  });

  it('reports a voice the service does not have', async () => {
    await expect(engine.synthesize('Hi.', { voice: 'en-US-NobodyNeural', rate: 1, signal: signal() }).next()).rejects.toThrow(
      'the Edge TTS service sent no audio for voice "en-US-NobodyNeural": check tts.voice',
    );
  });

  it('reports a connection dropped in the middle of a sentence, and speaks the next one', async () => {
    srv.setOptions({ dropAfterFrames: 2, frameIntervalMs: 5 });
    await expect(engine.synthesize('Dropped.', { voice: 'en-US-AriaNeural', rate: 1, signal: signal() }).next()).rejects.toThrow(
      /the Edge TTS connection closed in the middle of a sentence \(code 1011: Internal server error\)/,
    );
    srv.setOptions({ dropAfterFrames: undefined });
    const [p] = await collectTimed(engine.synthesize('Next.', { voice: 'en-US-AriaNeural', rate: 1, signal: signal() }));
    expect(p!.samples.length).toBe(fixturePcm.length);
  });

  it('aborts mid-stream at once and closes the socket', async () => {
    srv.setOptions({ frameIntervalMs: 50 });
    const ac = new AbortController();
    const run = collectTimed(engine.synthesize('Cut me off.', { voice: 'en-US-AriaNeural', rate: 1, signal: ac.signal }));
    await expect.poll(() => srv.turns.at(-1)?.text === 'Cut me off.' && srv.turns.at(-1)!.framesSent >= 1).toBe(true);
    const t0 = performance.now();
    ac.abort(new Error('turn cancelled'));
    await expect(run).rejects.toThrow('turn cancelled');
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(250);
    const conn = srv.connections[srv.turns.at(-1)!.connection]!;
    await expect.poll(() => conn.closedBy).toBe('client');
    expect(srv.turns.at(-1)!.completed).toBe(false);
    console.info(`edge: abort took ${ms.toFixed(2)} ms`);
  });

  it('names the fix when the service is refused or unreachable', async () => {
    const down = `ws://127.0.0.1:${await freePort()}${EDGE_PATH}`;
    await expect(new EdgeEngine({ url: down, voice: 'en-US-AriaNeural' }).synthesize('Hi.', { voice: 'en-US-AriaNeural', rate: 1, signal: signal() }).next()).rejects.toMatchObject({
      message: `the Edge TTS service at ${down} is not reachable (ECONNREFUSED): check the internet connection or tts.edge.url`,
      code: 'tts_unavailable',
    });
    const wrongPath = srv.url.replace(EDGE_PATH, '/other');
    await expect(new EdgeEngine({ url: wrongPath, voice: 'en-US-AriaNeural' }).synthesize('Hi.', { voice: 'en-US-AriaNeural', rate: 1, signal: signal() }).next()).rejects.toThrow(
      /refused the connection \(HTTP 403\)/,
    );
    await expect(new EdgeEngine({ url: 'http://example.com/x', voice: 'en-US-AriaNeural' }).init()).rejects.toThrow('tts.edge.url must be a ws:// or wss:// URL');
    await expect(new EdgeEngine({ url: srv.url, voice: 'Aria' }).init()).rejects.toThrow('"Aria" is not an Edge voice name');
  });
});

describe('edge stand-in is strict like the service', () => {
  let srv: EdgeServer;
  beforeAll(async () => {
    srv = await startEdgeTtsServer();
  });
  afterAll(() => srv?.close());

  const goodQuery = () => `TrustedClientToken=6A5AA1D4EAFF4E9FB37E23D68491D6F4&Sec-MS-GEC=${expectedGec(Date.now())}&Sec-MS-GEC-Version=1-130.0.2849.68&ConnectionId=${'a'.repeat(32)}`;
  const headers = { Origin: 'chrome-extension://jdiccldimpdaibmpdkjnbmckianbfold', 'User-Agent': 'Mozilla/5.0 Edg/130.0.0.0' };
  const connect = (query: string, h: Record<string, string> = headers) =>
    new Promise<{ status?: number; ws?: WebSocket }>((resolve) => {
      const ws = new WebSocket(`${srv.url}?${query}`, { headers: h });
      ws.once('open', () => resolve({ ws }));
      ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode }));
      ws.once('error', () => undefined);
    });

  it('refuses a bad token, a missing Origin and a non-Edge User-Agent with 403', async () => {
    expect((await connect(goodQuery().replace(/Sec-MS-GEC=[0-9A-F]+/, 'Sec-MS-GEC=ABC'))).status).toBe(403);
    expect((await connect(goodQuery(), { 'User-Agent': headers['User-Agent'] })).status).toBe(403);
    expect((await connect(goodQuery(), { Origin: headers.Origin, 'User-Agent': 'curl/8' })).status).toBe(403);
    expect(srv.refused.map((r) => r.reason)).toEqual(['Sec-MS-GEC', 'Origin', 'User-Agent']);
    const { ws } = await connect(goodQuery());
    expect(ws).toBeDefined();
    ws!.close();
  });

  it('closes with 1007 on ssml before speech.config and on SSML with raw markup', async () => {
    const closeOf = async (frames: string[]) => {
      const { ws } = await connect(goodQuery());
      const closed = new Promise<[number, string]>((r) => ws!.once('close', (c, why) => r([c, why.toString()])));
      for (const f of frames) ws!.send(f);
      return closed;
    };
    const ts = 'X-Timestamp:Thu Jan 01 2025 00:00:00 GMT+0000 (Coordinated Universal Time)';
    const config = `${ts}\r\nContent-Type:application/json; charset=utf-8\r\nPath:speech.config\r\n\r\n{"context":{"synthesis":{"audio":{"outputFormat":"audio-24khz-48kbitrate-mono-mp3"}}}}`;
    const ssml = (text: string) =>
      `X-RequestId:${'b'.repeat(32)}\r\nContent-Type:application/ssml+xml\r\n${ts}Z\r\nPath:ssml\r\n\r\n${buildSsml('x', 'Microsoft Server Speech Text to Speech Voice (en-US, AriaNeural)', 1).replace('>x<', `>${text}<`)}`;
    expect(await closeOf([ssml('hi')])).toEqual([1007, 'ssml before speech.config']);
    expect(await closeOf([config, ssml('Tom & Jerry')])).toEqual([1007, 'invalid XML in the SSML text']);
    expect(await closeOf([config.replace('48kbitrate', '8kbitrate'), ssml('hi')])).toEqual([1007, 'unsupported outputFormat audio-24khz-8kbitrate-mono-mp3']);
  });
});
