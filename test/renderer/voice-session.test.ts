/**
 * The page's session socket client (src/renderer/voice/session.ts) in Node, over real WebSockets
 * (`ws` on both ends, as the browser's WebSocket has the same shape): pairing of audio metadata
 * with the next binary frame, schema checks at the edge, the command queue while disconnected,
 * reconnect with backoff (mic re-announced), a refused token, mic frame gating and backpressure.
 * Also the conversation model (conversation.ts) that turns ClientEvents into what the panel shows.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { ClientEvent } from '../../src/shared/voice.js';
import { addTyped, applyEvent, createConversation, MAX_ENTRIES } from '../../src/renderer/voice/conversation.js';
import { SessionClient as Client, sessionUrl, type AudioEvent, type NonAudioEvent, type SessionClient, type SessionState, type SocketLike } from '../../src/renderer/voice/session.js';


const S = 's1';
const waitFor = async <T>(fn: () => T | undefined | false, what: string, ms = 3000): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

interface Server {
  wss: WebSocketServer;
  url: string;
  sockets: WebSocket[];
  got: Array<{ conn: number; data: string | Buffer; binary: boolean }>;
}

async function startServer(onConnect?: (ws: WebSocket) => void): Promise<Server> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const srv: Server = { wss, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/api/session`, sockets: [], got: [] };
  wss.on('connection', (ws) => {
    const conn = srv.sockets.length;
    srv.sockets.push(ws);
    ws.on('message', (data, binary) => srv.got.push({ conn, binary, data: binary ? (data as Buffer) : (data as Buffer).toString('utf8') }));
    onConnect?.(ws);
  });
  return srv;
}

interface Harness {
  client: SessionClient;
  events: NonAudioEvent[];
  audio: Array<{ meta: AudioEvent; pcm: ArrayBuffer }>;
  states: Array<{ state: SessionState; retryInMs?: number; code?: number }>;
  errors: string[];
}

function makeClient(url: string | (() => string), opts: { maxBufferedBytes?: number } = {}): Harness {
  const h: Harness = { events: [], audio: [], states: [], errors: [], client: undefined as never };
  h.client = new Client({
    url,
    createSocket: (u) => new WebSocket(u) as unknown as SocketLike,
    initialBackoffMs: 20,
    maxBackoffMs: 200,
    ...opts,
    handlers: {
      onEvent: (e) => h.events.push(e),
      onAudio: (meta, pcm) => h.audio.push({ meta, pcm }),
      onState: (state, info) => h.states.push({ state, ...info }),
      onProtocolError: (m) => h.errors.push(m),
    },
  });
  return h;
}

const audioMeta = (seq: number): AudioEvent => ({
  type: 'audio',
  session_id: S,
  turn_id: 't1',
  task_id: 't1',
  seq,
  index: 0,
  chunk: seq,
  format: 'pcm_s16le',
  sample_rate: 24000,
  envelope: [0.2, 0.4],
  envelope_frame_ms: 20,
  visemes: [],
});

let srv: Server;
let h: Harness;

beforeEach(async () => {
  srv = await startServer();
});
afterEach(async () => {
  h?.client.dispose();
  for (const ws of srv.sockets) ws.terminate();
  await new Promise((r) => srv.wss.close(() => r(undefined)));
});

describe('SessionClient', () => {
  it('builds the socket URL on the page origin with token and session', () => {
    expect(sessionUrl({ protocol: 'http:', host: '127.0.0.1:8000' }, 'a b&c', 'studio')).toBe('ws://127.0.0.1:8000/api/session?token=a+b%26c&session=studio');
    expect(sessionUrl({ protocol: 'https:', host: 'x.example' }, 't', 's')).toBe('wss://x.example/api/session?token=t&session=s');
    // A role asked for explicitly; a view socket without a token.
    expect(sessionUrl({ protocol: 'http:', host: 'h' }, 't', 's', { role: 'control', audio: true })).toBe('ws://h/api/session?token=t&session=s&role=control&audio=1');
    expect(sessionUrl({ protocol: 'http:', host: 'h' }, undefined, 's', { role: 'view', audio: false })).toBe('ws://h/api/session?session=s&role=view&audio=0');
  });

  it('reads a URL function at each connect (what it asks for can change between reconnects)', async () => {
    let audio = '1';
    const seen: string[] = [];
    srv.wss.on('connection', (_ws, req) => seen.push(new URL(req.url!, 'http://x').searchParams.get('audio')!));
    h = makeClient(() => `${srv.url}?audio=${audio}`);
    h.client.connect();
    await waitFor(() => h.client.isOpen, 'open');
    audio = '0';
    srv.sockets[0]!.close(1012, 'restart');
    await waitFor(() => srv.sockets.length === 2 && h.client.isOpen, 'the second connection');
    expect(seen).toEqual(['1', '0']);
  });

  it('parses events, pairs each audio metadata frame with the binary frame after it', async () => {
    h = makeClient(srv.url);
    h.client.connect();
    await waitFor(() => srv.sockets[0], 'a connection');
    await waitFor(() => h.client.isOpen, 'open');
    const ws = srv.sockets[0]!;
    const delta: ClientEvent = { type: 'reply_delta', session_id: S, turn_id: 't1', task_id: 't1', text: 'Hi' };
    ws.send(JSON.stringify(delta));
    ws.send(JSON.stringify(audioMeta(0)));
    ws.send(Buffer.from([1, 0, 2, 0]));
    ws.send(JSON.stringify(audioMeta(1)));
    ws.send(Buffer.from([3, 0, 4, 0, 5, 0]));
    ws.send(JSON.stringify({ type: 'audio_end', session_id: S, turn_id: 't1', task_id: 't1', chunks: 2 }));
    await waitFor(() => h.events.length === 2, 'two events');
    expect(h.events.map((e) => e.type)).toEqual(['reply_delta', 'audio_end']);
    expect(h.audio.map((a) => [a.meta.seq, Array.from(new Int16Array(a.pcm))])).toEqual([
      [0, [1, 2]],
      [1, [3, 4, 5]],
    ]);
    expect(h.errors).toEqual([]);
    expect(h.states.map((s) => s.state)).toEqual(['connecting', 'open']);
  });

  it('reports frames that break the protocol and carries on', async () => {
    h = makeClient(srv.url);
    h.client.connect();
    await waitFor(() => h.client.isOpen, 'open');
    const ws = srv.sockets[0]!;
    ws.send('not json');
    ws.send(JSON.stringify({ type: 'reply_delta', session_id: S })); // fields missing
    ws.send(JSON.stringify({ type: 'dance', session_id: S })); // unknown type
    ws.send(Buffer.from([1, 2])); // binary without metadata
    ws.send(JSON.stringify(audioMeta(0)));
    ws.send(JSON.stringify({ type: 'turn_state', session_id: S, turn_id: 't1', state: 'idle' })); // metadata not followed by PCM
    await waitFor(() => h.events.length === 1, 'the valid event');
    expect(h.errors).toHaveLength(5);
    expect(h.errors[0]).toMatch(/not JSON/);
    expect(h.errors[1]).toMatch(/invalid 'reply_delta' event \((turn_id|task_id|text)/);
    expect(h.errors[2]).toMatch(/invalid 'dance' event/);
    expect(h.errors[3]).toMatch(/binary frame arrived without audio metadata/);
    expect(h.errors[4]).toMatch(/audio metadata \(seq 0\) was not followed by its PCM frame/);
    expect(h.audio).toEqual([]);
    expect(h.client.stats.protocolErrors).toBe(5);
  });

  it('queues text and playback_done while down, drops stop, and sends the queue in order once open', async () => {
    h = makeClient(srv.url);
    expect(h.client.send({ type: 'text', text: 'first', source: 'typed' })).toBe(false);
    expect(h.client.send({ type: 'stop' })).toBe(false);
    expect(h.client.send({ type: 'playback_done', turn_id: 't0' })).toBe(false);
    h.client.connect();
    await waitFor(() => srv.got.length === 2, 'the queued commands');
    expect(srv.got.map((g) => JSON.parse(g.data as string))).toEqual([
      { type: 'text', text: 'first', source: 'typed' },
      { type: 'playback_done', turn_id: 't0' },
    ]);
    expect(h.client.send({ type: 'stop' })).toBe(true);
    await waitFor(() => srv.got.length === 3, 'the stop');
  });

  it('reconnects with backoff after the server drops it, and re-announces an open mic', async () => {
    h = makeClient(srv.url);
    h.client.connect();
    await waitFor(() => h.client.isOpen, 'open');
    h.client.startMic();
    expect(h.client.sendPcm(new Int16Array([7, 8]).buffer)).toBe(true);
    await waitFor(() => srv.got.length === 2, 'mic_start and a frame');
    srv.sockets[0]!.close(1012, 'restart');
    await waitFor(() => h.states.some((s) => s.state === 'closed'), 'closed');
    const closed = h.states.find((s) => s.state === 'closed')!;
    expect(closed.code).toBe(1012);
    expect(closed.retryInMs).toBeGreaterThanOrEqual(16);
    expect(closed.retryInMs).toBeLessThanOrEqual(24);
    // Frames while down are dropped, not queued.
    expect(h.client.sendPcm(new Int16Array([9]).buffer)).toBe(false);
    await waitFor(() => srv.sockets.length === 2 && h.client.isOpen, 'the second connection');
    await waitFor(() => srv.got.some((g) => g.conn === 1), 'mic_start again');
    const second = srv.got.filter((g) => g.conn === 1);
    expect(JSON.parse(second[0]!.data as string)).toEqual({ type: 'mic_start', sample_rate: 16000 });
    expect(h.client.stats.opened).toBe(2);
    h.client.stopMic();
    expect(h.client.sendPcm(new Int16Array([1]).buffer)).toBe(false); // mic off: dropped
    await waitFor(() => srv.got.filter((g) => g.conn === 1).length === 2, 'mic_stop');
    expect(JSON.parse(srv.got.at(-1)!.data as string)).toEqual({ type: 'mic_stop' });
    expect(srv.got.filter((g) => g.binary).map((g) => Array.from(new Int16Array(new Uint8Array(g.data as Buffer).buffer)))).toEqual([[7, 8]]);
  });

  it('backs off exponentially while the server is away, up to the cap', async () => {
    const port = (srv.wss.address() as AddressInfo).port;
    await new Promise((r) => srv.wss.close(() => r(undefined)));
    h = makeClient(`ws://127.0.0.1:${port}/api/session`);
    h.client.connect();
    await waitFor(() => h.states.filter((s) => s.state === 'closed').length >= 5, 'five failed attempts', 5000);
    const delays = h.states.filter((s) => s.state === 'closed').map((s) => s.retryInMs!);
    expect(delays[0]).toBeLessThanOrEqual(24);
    expect(delays[1]).toBeGreaterThanOrEqual(32);
    expect(delays[2]).toBeGreaterThanOrEqual(64);
    expect(Math.max(...delays)).toBeLessThanOrEqual(240); // 200 ms cap + 20 % jitter
    srv = await startServer(); // for afterEach
  });

  it('takes close code 4401 as a refused token: no retry', async () => {
    const refusing = await startServer((ws) => ws.close(4401, 'unauthorized'));
    try {
      h = makeClient(refusing.url);
      h.client.connect();
      await waitFor(() => h.states.some((s) => s.state === 'refused'), 'refused');
      await new Promise((r) => setTimeout(r, 150));
      expect(refusing.sockets).toHaveLength(1);
      expect(h.states.at(-1)).toEqual({ state: 'refused', code: 4401 });
    } finally {
      await new Promise((r) => refusing.wss.close(() => r(undefined)));
    }
  });

  it('drops mic frames while the socket has too much unsent', async () => {
    h = makeClient(srv.url, { maxBufferedBytes: -1 }); // any buffered amount counts as too much
    h.client.connect();
    await waitFor(() => h.client.isOpen, 'open');
    h.client.startMic();
    expect(h.client.sendPcm(new ArrayBuffer(640))).toBe(false);
    expect(h.client.stats.framesDropped).toBe(1);
  });
});

describe('conversation model', () => {
  const base = { session_id: S, task_id: 't1' };

  it('shows partial transcripts in place, then the final one with its turn', () => {
    const c = createConversation();
    applyEvent(c, { type: 'transcript', ...base, turn_id: '-', text: 'hel', final: false });
    applyEvent(c, { type: 'transcript', ...base, turn_id: '-', text: 'hello the', final: false });
    expect(c.entries).toHaveLength(1);
    expect(c.entries[0]).toMatchObject({ role: 'user', text: 'hello the', final: false, source: 'mic' });
    applyEvent(c, { type: 'transcript', ...base, turn_id: 't1', text: 'hello there', final: true });
    expect(c.entries).toHaveLength(1);
    expect(c.entries[0]).toMatchObject({ text: 'hello there', final: true, turnId: 't1' });
    // A repeated final for the same turn adds nothing.
    applyEvent(c, { type: 'transcript', ...base, turn_id: 't1', text: 'hello there', final: true });
    expect(c.entries).toHaveLength(1);
  });

  it('does not repeat typed text when the turn echoes it as a transcript', () => {
    const c = createConversation();
    addTyped(c, 'how are you');
    applyEvent(c, { type: 'transcript', ...base, turn_id: 't1', text: 'how are you', final: true });
    expect(c.entries).toEqual([expect.objectContaining({ role: 'user', text: 'how are you', source: 'typed', turnId: 't1' })]);
  });

  it('streams a reply per turn; reply_done settles its text; stop and errors mark it', () => {
    const c = createConversation();
    applyEvent(c, { type: 'reply_delta', ...base, turn_id: 't1', text: 'Hel' });
    applyEvent(c, { type: 'reply_delta', ...base, turn_id: 't2', text: 'Other' });
    applyEvent(c, { type: 'reply_delta', ...base, turn_id: 't1', text: 'lo.' });
    expect(c.entries.map((e) => [e.turnId, e.text, e.final])).toEqual([
      ['t1', 'Hello.', false],
      ['t2', 'Other', false],
    ]);
    applyEvent(c, { type: 'reply_done', ...base, turn_id: 't1', text: 'Hello!' });
    expect(c.entries[0]).toMatchObject({ text: 'Hello!', final: true });
    applyEvent(c, { type: 'stop', session_id: S, turn_id: 't1', reason: 'barge-in' });
    expect(c.entries[0]!.status).toBe('interrupted');
    applyEvent(c, { type: 'error', session_id: S, turn_id: 't2', stage: 'llm', code: 'llm_timeout', message: 'The LLM did not answer in 30 s.' });
    expect(c.entries[1]!.status).toBe('failed');
    expect(c.alerts).toEqual([expect.objectContaining({ title: 'Error in llm', message: 'The LLM did not answer in 30 s.', code: 'llm_timeout' })]);
  });

  it('follows turn state and emotion, and keeps the history bounded', () => {
    const c = createConversation();
    applyEvent(c, { type: 'turn_state', session_id: S, turn_id: 't1', state: 'speaking' });
    applyEvent(c, { type: 'emotion', session_id: S, turn_id: 't1', emotion: 'shy' });
    expect([c.turnState, c.emotion]).toEqual(['speaking', 'shy']);
    for (let i = 0; i < MAX_ENTRIES + 20; i++) addTyped(c, `m${i}`);
    expect(c.entries).toHaveLength(MAX_ENTRIES);
    expect(c.entries.at(-1)!.text).toBe(`m${MAX_ENTRIES + 19}`);
  });
});
