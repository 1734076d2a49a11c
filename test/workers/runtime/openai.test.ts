/**
 * The workers' OpenAI client factory against a real HTTP server (test/helpers/openai-server.ts):
 * the key sent, retries off, the time-out, and how failures are read.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEYLESS_API_KEY, createOpenAiClient, openAiFailure } from '../../../src/workers/runtime/openai.js';
import { startOpenAiServer, type OpenAiServer } from '../../helpers/openai-server.js';

const log = pino({ level: 'silent' });
let ai: OpenAiServer;

beforeAll(async () => {
  ai = await startOpenAiServer({ reply: 'hello' });
});
afterAll(async () => {
  await ai?.close();
});

const failureOf = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );

describe('createOpenAiClient', () => {
  it('sends the configured key, or the one documented placeholder when there is none', async () => {
    ai.setOptions({ status: undefined, requireApiKey: undefined });
    for (const [apiKey, sent] of [
      ['sk-mine', 'sk-mine'],
      ['', KEYLESS_API_KEY],
      [undefined, KEYLESS_API_KEY],
    ] as const) {
      const from = ai.requests.length;
      await createOpenAiClient({ baseUrl: ai.url, apiKey, timeoutMs: 5000, log }).models.list();
      expect(ai.requests[from]!.headers.authorization).toBe(`Bearer ${sent}`);
    }
  });

  it('does not retry: a server error is one request, read as http 500 with the server message', async () => {
    ai.setOptions({ status: 500, errorMessage: 'model is loading' });
    try {
      const from = ai.requests.length;
      const client = createOpenAiClient({ baseUrl: ai.url, timeoutMs: 5000, log });
      const e = await failureOf(client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }));
      expect(ai.requests.length - from).toBe(1);
      expect(openAiFailure(e)).toMatchObject({ kind: 'http', status: 500, detail: 'model is loading' });
    } finally {
      ai.setOptions({ status: undefined, errorMessage: undefined });
    }
  });

  it('a refused key is http 401, with the key removed from an echoing server message', async () => {
    ai.setOptions({ requireApiKey: 'sk-right' });
    try {
      const client = createOpenAiClient({ baseUrl: ai.url, apiKey: 'sk-wrong', timeoutMs: 5000, log });
      const e = await failureOf(client.models.list());
      const f = openAiFailure(e, 'sk-wrong');
      expect(f).toMatchObject({ kind: 'http', status: 401 });
      expect(f.detail).not.toContain('sk-wrong');
    } finally {
      ai.setOptions({ requireApiKey: undefined });
    }
  });

  it('reads a closed port as unreachable (ECONNREFUSED) and a hung server as a time-out', async () => {
    const gone = await startOpenAiServer();
    const url = gone.url;
    await gone.close();
    const down = await failureOf(createOpenAiClient({ baseUrl: url, timeoutMs: 5000 }).models.list());
    expect(openAiFailure(down)).toMatchObject({ kind: 'unreachable', cause: 'ECONNREFUSED' });

    ai.setOptions({ firstTokenDelayMs: 60_000 });
    try {
      const client = createOpenAiClient({ baseUrl: ai.url, timeoutMs: 200 });
      const e = await failureOf(client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: false }));
      expect(openAiFailure(e).kind).toBe('timeout');
    } finally {
      ai.setOptions({ firstTokenDelayMs: undefined });
    }
  });

  it('reads a non-JSON body and any other error', () => {
    expect(openAiFailure(new SyntaxError('Unexpected token <')).kind).toBe('bad-json');
    expect(openAiFailure(new Error('boom'))).toEqual({ kind: 'other', detail: 'boom' });
  });
});
