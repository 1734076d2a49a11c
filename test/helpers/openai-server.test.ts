/**
 * The OpenAI stand-in, driven by the real `openai` SDK: every endpoint, the timing knobs, each
 * fault mode, and that a client-side abort is seen by the server.
 */
import OpenAI, { APIConnectionError, APIError, AuthenticationError, NotFoundError } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { parseWav, s16ToFloat } from '../../src/workers/audio/pcm.js';
import { defaultSpeech, hashEmbedding, startOpenAiServer, tokenize, type OpenAiServer } from './openai-server.js';

let server: OpenAiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function sdk(s: OpenAiServer, apiKey = 'sk-test', extra: Partial<ConstructorParameters<typeof OpenAI>[0]> = {}) {
  return new OpenAI({ baseURL: s.url, apiKey, maxRetries: 0, timeout: 5000, ...extra });
}

async function collect(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>) {
  const deltas: string[] = [];
  const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
  for await (const c of stream) {
    chunks.push(c);
    const d = c.choices[0]?.delta?.content;
    if (d) deltas.push(d);
  }
  return { deltas, chunks };
}

describe('tokenize', () => {
  it('keeps every character and splits words and CJK characters', () => {
    const text = 'Hello, world! 你好。 ok';
    const t = tokenize(text);
    expect(t.join('')).toBe(text);
    expect(t).toEqual(['Hello, ', 'world! ', '你', '好', '。', ' ', 'ok']);
  });
});

describe('chat completions', () => {
  it('streams OpenAI-shaped chunks that the SDK reassembles, with the request recorded', async () => {
    server = await startOpenAiServer({ reply: (msgs) => `You said: ${String(msgs.at(-1)?.content)}. Bye!` });
    const stream = await sdk(server).chat.completions.create({
      model: 'm1',
      stream: true,
      temperature: 0.5,
      max_tokens: 50,
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hi there' },
      ],
    });
    const { deltas, chunks } = await collect(stream);
    expect(deltas.join('')).toBe('You said: hi there. Bye!');
    expect(deltas.length).toBeGreaterThan(3);
    expect(chunks[0]!.object).toBe('chat.completion.chunk');
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('stop');
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    const rec = server.requests[0]!;
    expect(rec.path).toBe('/v1/chat/completions');
    expect(rec.headers.authorization).toBe('Bearer sk-test');
    expect(rec.body).toMatchObject({ model: 'm1', stream: true, temperature: 0.5, max_tokens: 50 });
    expect(rec.completed).toBe(true);
    expect(rec.aborted).toBe(false);
    expect(rec.chunksSent).toBe(deltas.length);
  });

  it('answers non-streaming requests with a chat.completion', async () => {
    server = await startOpenAiServer({ reply: '你好。世界！' });
    const r = await sdk(server).chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
    expect(r.object).toBe('chat.completion');
    expect(r.choices[0]!.message.content).toBe('你好。世界！');
    expect(r.usage?.completion_tokens).toBe(6);
  });

  it('sends explicit pieces as given and honours first-token delay and token interval', async () => {
    server = await startOpenAiServer({ reply: ['He', 'llo [jo', 'y] there.'], firstTokenDelayMs: 150, tokenIntervalMs: 40 });
    const t0 = performance.now();
    const stream = await sdk(server).chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'x' }] });
    const times: number[] = [];
    const deltas: string[] = [];
    for await (const c of stream) {
      const d = c.choices[0]?.delta?.content;
      if (d) {
        deltas.push(d);
        times.push(performance.now() - t0);
      }
    }
    expect(deltas).toEqual(['He', 'llo [jo', 'y] there.']);
    expect(times[0]).toBeGreaterThanOrEqual(140);
    expect(times[2]! - times[0]!).toBeGreaterThanOrEqual(70);
  });

  it('adds a usage chunk when stream_options.include_usage is set', async () => {
    server = await startOpenAiServer({ reply: 'a b c' });
    const { chunks } = await collect(
      await sdk(server).chat.completions.create({ model: 'm', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'x' }] }),
    );
    expect(chunks.at(-1)!.usage?.completion_tokens).toBe(3);
    expect(chunks.at(-1)!.choices).toEqual([]);
  });

  it('sees the client abort a stream mid-way and stops sending', async () => {
    server = await startOpenAiServer({ reply: 'one two three four five six seven eight nine ten', tokenIntervalMs: 30 });
    const ac = new AbortController();
    const stream = await sdk(server).chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'x' }] }, { signal: ac.signal });
    const got: string[] = [];
    // The SDK's stream iterator ends quietly (no throw) when its request is aborted.
    for await (const c of stream) {
      const d = c.choices[0]?.delta?.content;
      if (d) got.push(d);
      if (got.length === 2) ac.abort();
    }
    expect(got).toEqual(['one ', 'two ']);
    const rec = await server.waitFor((r) => r.aborted, 2000);
    expect(rec.completed).toBe(false);
    const sent = rec.chunksSent;
    await new Promise((r) => setTimeout(r, 100));
    expect(rec.chunksSent).toBe(sent);
    expect(sent).toBeLessThan(10);
  });

  it('refuses an unknown model with a 404 model_not_found, and lists the known ones', async () => {
    server = await startOpenAiServer({ models: ['llama3.2', 'qwen2.5'] });
    const client = sdk(server);
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).toEqual(['llama3.2', 'qwen2.5']);
    const err = await client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).code).toBe('model_not_found');
    expect((err as NotFoundError).message).toContain('nope');
  });
});

describe('faults', () => {
  it('requireApiKey: a wrong key gets OpenAI\'s 401 body', async () => {
    server = await startOpenAiServer({ requireApiKey: 'sk-right' });
    const err = await sdk(server, 'sk-wrong').chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as AuthenticationError).status).toBe(401);
    expect((err as AuthenticationError).code).toBe('invalid_api_key');
    const ok = await sdk(server, 'sk-right').chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
    expect(ok.choices[0]!.message.content).toContain('Hello');
  });

  it.each([500, 503])('status %i is an APIError with that status', async (status) => {
    server = await startOpenAiServer({ status, errorMessage: 'boom' });
    const err = await sdk(server).chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).status).toBe(status);
    expect((err as APIError).message).toContain('boom');
  });

  it('brokenStreamAfter (invalid-json): the SDK fails to parse after N chunks', async () => {
    server = await startOpenAiServer({ reply: 'a b c d e f', brokenStreamAfter: 2 });
    const got: string[] = [];
    const run = async () => {
      for await (const c of await sdk(server!).chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'x' }] })) {
        const d = c.choices[0]?.delta?.content;
        if (d) got.push(d);
      }
    };
    await expect(run()).rejects.toThrow();
    expect(got).toEqual(['a ', 'b ']);
  });

  it('brokenStreamAfter (destroy): the connection drops after N chunks', async () => {
    server = await startOpenAiServer({ reply: 'a b c d e f', brokenStreamAfter: 3, brokenStreamMode: 'destroy', tokenIntervalMs: 5 });
    const got: string[] = [];
    const run = async () => {
      for await (const c of await sdk(server!).chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'x' }] })) {
        const d = c.choices[0]?.delta?.content;
        if (d) got.push(d);
      }
    };
    await expect(run()).rejects.toThrow();
    expect(got).toEqual(['a ', 'b ', 'c ']);
  });

  it('garbage: a 200 HTML page yields no chunks (streaming) and an error (non-streaming)', async () => {
    server = await startOpenAiServer({ garbage: true });
    const { chunks } = await collect(await sdk(server).chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'x' }] }));
    expect(chunks).toEqual([]);
    const nonStream = await sdk(server)
      .chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] })
      .then((r) => r as unknown)
      .catch((e: unknown) => e);
    // The SDK hands back the text body when the content type is not JSON: the caller must check the shape.
    expect(typeof nonStream === 'string' || nonStream instanceof Error).toBe(true);
  });

  it('hangAfterHeaders: headers arrive, then nothing; the SDK timeout does not cover the body, an abort does', async () => {
    server = await startOpenAiServer({ reply: 'never', hangAfterHeaders: true });
    const ac = new AbortController();
    const t0 = performance.now();
    // The request resolves once the headers are in, so the SDK's `timeout` (300 ms here) is already past.
    const stream = await sdk(server, 'k', { timeout: 300 }).chat.completions.create(
      { model: 'm', stream: true, messages: [{ role: 'user', content: 'x' }] },
      { signal: ac.signal },
    );
    setTimeout(() => ac.abort(), 400);
    const { chunks } = await collect(stream);
    expect(chunks).toEqual([]);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(390);
    const rec = await server.waitFor((r) => r.aborted, 3000);
    expect(rec.chunksSent).toBe(0);
  });

  it('a closed server gives the SDK a connection error (ECONNREFUSED)', async () => {
    const s = await startOpenAiServer();
    const client = sdk(s);
    await s.close();
    const err = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIConnectionError);
  });

  it('setOptions changes later requests only', async () => {
    server = await startOpenAiServer({ reply: 'first' });
    const client = sdk(server);
    expect((await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] })).choices[0]!.message.content).toBe('first');
    server.setOptions({ reply: 'second' });
    expect((await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] })).choices[0]!.message.content).toBe('second');
  });
});

describe('audio', () => {
  it('transcriptions: parses the multipart upload and answers {text}', async () => {
    server = await startOpenAiServer({ transcript: (bytes, info) => `${bytes.length} bytes in ${info.language}` });
    const wav = Buffer.from('RIFF....WAVEfake-audio-bytes');
    const r = await sdk(server).audio.transcriptions.create({
      file: await OpenAI.toFile(wav, 'clip.wav', { type: 'audio/wav' }),
      model: 'whisper-1',
      language: 'en',
    });
    expect(r.text).toBe(`${wav.length} bytes in en`);
    const rec = server.requests[0]!;
    expect(rec.file?.bytes.equals(wav)).toBe(true);
    expect(rec.file?.name).toBe('clip.wav');
    expect(rec.body).toMatchObject({ model: 'whisper-1', language: 'en' });
  });

  it('transcriptions: response_format text gives plain text', async () => {
    server = await startOpenAiServer({ transcript: 'plain words' });
    const r = await sdk(server).audio.transcriptions.create({
      file: await OpenAI.toFile(Buffer.from('x'), 'a.wav'),
      model: 'whisper-1',
      response_format: 'text',
    });
    expect(String(r).trim()).toBe('plain words');
  });

  it('speech: pcm body in chunks over time, 24 kHz s16le of the default tone', async () => {
    server = await startOpenAiServer({ speechChunkBytes: 4800, speechChunkIntervalMs: 10 });
    const t0 = performance.now();
    const res = await sdk(server).audio.speech.create({ model: 'tts-1', input: 'Hello there', voice: 'alloy', response_format: 'pcm' });
    const reader = res.body!.getReader();
    const parts: Uint8Array[] = [];
    const arrivals: number[] = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parts.push(value);
      arrivals.push(performance.now() - t0);
    }
    const bytes = Buffer.concat(parts);
    const expected = defaultSpeech('Hello there');
    expect(bytes.length).toBe(expected.length * 2);
    const got = s16ToFloat(bytes);
    expect(got[1000]!).toBeCloseTo(expected[1000]!, 3);
    expect(parts.length).toBeGreaterThan(3);
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThan(30);
    expect(server.requests[0]!.body).toMatchObject({ model: 'tts-1', input: 'Hello there', voice: 'alloy', response_format: 'pcm' });
  });

  it('speech: wav with a streaming header and a custom generator; speed shortens the default', async () => {
    server = await startOpenAiServer({ speech: (text) => new Float32Array(text.length * 100).fill(0.5) });
    const res = await sdk(server).audio.speech.create({ model: 'tts-1', input: 'abcd', voice: 'nova', response_format: 'wav' });
    const pcm = parseWav(new Uint8Array(await res.arrayBuffer()));
    expect(pcm.sampleRate).toBe(24_000);
    expect(pcm.samples.length).toBe(400);
    expect(pcm.samples[10]!).toBeCloseTo(0.5, 3);
    server.setOptions({ speech: undefined });
    const slow = await (await sdk(server).audio.speech.create({ model: 'tts-1', input: 'abcdefgh', voice: 'nova', response_format: 'pcm' })).arrayBuffer();
    const fast = await (await sdk(server).audio.speech.create({ model: 'tts-1', input: 'abcdefgh', voice: 'nova', response_format: 'pcm', speed: 2 })).arrayBuffer();
    expect(fast.byteLength).toBe(slow.byteLength / 2);
  });

  it('speech: formats the stand-in cannot make are a 400, and an abort mid-body is recorded', async () => {
    server = await startOpenAiServer({ speechChunkBytes: 960, speechChunkIntervalMs: 20 });
    const client = sdk(server);
    const err = await client.audio.speech.create({ model: 'tts-1', input: 'x', voice: 'alloy', response_format: 'mp3' }).catch((e: unknown) => e);
    expect((err as APIError).status).toBe(400);
    const ac = new AbortController();
    const res = await client.audio.speech.create({ model: 'tts-1', input: 'a long sentence to speak', voice: 'alloy', response_format: 'pcm' }, { signal: ac.signal });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    await reader.cancel().catch(() => undefined);
    const rec = await server.waitFor((r) => r.path === '/v1/audio/speech' && r.aborted, 2000);
    expect(rec.completed).toBe(false);
  });
});

describe('embeddings', () => {
  it('deterministic normalised vectors, base64 (SDK default) and float, with dimensions', async () => {
    server = await startOpenAiServer({ embeddingDim: 32 });
    const client = sdk(server);
    const r = await client.embeddings.create({ model: 'e', input: ['the cat sat', 'The cat SAT', 'dogs bark loudly'] });
    expect(server.requests[0]!.body?.encoding_format).toBe('base64');
    const [a, b, c] = r.data.map((d) => d.embedding);
    expect(a!.length).toBe(32);
    expect(Math.hypot(...a!)).toBeCloseTo(1, 5);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const expected = hashEmbedding('the cat sat', 32);
    a!.forEach((x, i) => expect(x).toBeCloseTo(expected[i]!, 5));
    const f = await client.embeddings.create({ model: 'e', input: 'the cat sat', encoding_format: 'float', dimensions: 16 });
    expect(f.data[0]!.embedding).toEqual(hashEmbedding('the cat sat', 16));
  });
});
