/**
 * A browser client of the seed's two sockets written from the logic of the original front end's
 * `useApi.js` (pixelsama/Free-Agent-Vtuber; our own code, not a copy): what it sends, which frames
 * it keeps (a binary frame only while the last `audio_chunk` id is below `total_chunks`), when it
 * considers a reply over (`success` without audio, `audio_complete`, an error), and how it plays
 * the audio (the joined frames as a Blob URL, fetched and decoded with `decodeAudioData`).
 * `window.seedTurn(kind, text | url)` runs one turn as its chat panel does and reports whether the
 * page became ready for the next message, what it showed, and what the audio decoded to.
 * Served over http://127.0.0.1 by `serveSeedClient` (with one recording at /recording.webm).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeedTurnResult {
  taskId: string | null;
  /** Still "processing" (input and mic disabled) when the output socket had closed. */
  stuck: boolean;
  text: string;
  /** The `transcript` of the success message (what the server heard or read). */
  transcript: string | null;
  error: string | null;
  acks: number;
  /** What decodeAudioData made of the reply audio, when there was any. */
  audio: { duration: number; sampleRate: number; peak: number } | null;
  log: string[];
}

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>seed client</title></head><body><script>
const GW = new URLSearchParams(location.search).get('gw');
let inputWs = null, outputWs = null, s = null;
const fresh = () => ({ taskId: null, processing: false, error: null, text: '', transcript: null, acks: 0, chunks: [], expected: 0, count: 0,
  lastId: -1, audioUrl: null, outputClosed: false, decoding: null, audio: null, log: [] });


function connectInput() {
  return new Promise((resolve, reject) => {
    s = fresh();
    inputWs = new WebSocket(GW + '/ws/input');
    inputWs.onmessage = (ev) => {
      let m;
      try { m = JSON.parse(ev.data); } catch {
        if (ev.data === 'File chunk received') s.acks++;
        else if (ev.data.startsWith('Chunk ID mismatch')) { s.error = ev.data; inputWs.close(); reject(new Error(ev.data)); }
        else s.log.push('input text: ' + ev.data);
        return;
      }
      if (m.type === 'system' && m.action === 'task_id_assigned' && m.task_id) {
        s.taskId = m.task_id; resolve(m.task_id); connectOutput(m.task_id);
      } else if (m.type === 'system' && m.action === 'upload_processed' && m.status === 'queued') {
        s.processing = true; inputWs.close(); inputWs = null;
      } else s.log.push('input json ignored: ' + ev.data);
    };
    inputWs.onerror = () => { s.error = 'input socket error'; s.processing = false; reject(new Error(s.error)); };
  });
}

function reassemble(st) {
  if (st.count !== st.expected || st.chunks.length !== st.expected) { st.error = 'incomplete audio: ' + st.count + '/' + st.expected; return; }
  if (st.expected === 0) return;
  const blob = new Blob(st.chunks, { type: 'audio/mpeg' });
  st.audioUrl = URL.createObjectURL(blob);
  const url = st.audioUrl;
  st.decoding = (async () => {
    const data = await (await fetch(url)).arrayBuffer();
    const ctx = new AudioContext();
    const buf = await ctx.decodeAudioData(data);
    const ch = buf.getChannelData(0);
    let peak = 0;
    for (let i = 0; i < ch.length; i++) peak = Math.max(peak, Math.abs(ch[i]));
    st.audio = { duration: buf.duration, sampleRate: buf.sampleRate, peak };
    await ctx.close();
  })().catch((e) => { st.error = 'audio playback failed: ' + e.message; });
}

function connectOutput(taskId) {
  const st = s;
  const resetAudio = () => { st.chunks = []; st.expected = 0; st.count = 0; st.lastId = -1; };
  const ws = new WebSocket(GW + '/ws/output/' + taskId);
  outputWs = ws;
  const close = () => ws.close(1000, 'Client disconnecting normally');
  ws.onmessage = (ev) => {
    if (ev.data instanceof Blob || ev.data instanceof ArrayBuffer) {
      if (st.lastId !== -1 && st.lastId < st.expected) {
        if (st.chunks.length !== st.expected && st.expected > 0) st.chunks = new Array(st.expected);
        if (st.lastId < st.chunks.length) { st.chunks[st.lastId] = ev.data; st.count++; }
        st.lastId = -1;
      } else st.log.push('binary frame dropped (chunk id ' + st.lastId + ', expected ' + st.expected + ')');
      return;
    }
    let m;
    try { m = JSON.parse(ev.data); } catch { st.error = 'unparsable output message'; st.processing = false; close(); return; }
    if (m.status === 'success' && m.task_id === taskId) {
      st.text = m.content || '';
      st.transcript = m.transcript ?? null;
      if (!m.audio_present) { st.processing = false; close(); } else resetAudio();
    } else if (m.type === 'audio_chunk' && m.task_id === taskId) {
      if (m.chunk_id === 0) { st.expected = m.total_chunks || 0; st.chunks = new Array(st.expected); st.count = 0; }
      st.lastId = m.chunk_id;
    } else if (m.type === 'audio_complete' && m.task_id === taskId) {
      st.processing = false; reassemble(st); resetAudio(); close();
    } else if (m.status === 'error') {
      st.error = m.error || 'unknown error'; st.processing = false; close();
    } else st.log.push('unknown output message: ' + ev.data);
  };
  ws.onclose = (ev) => {
    st.outputClosed = true;
    if (st.processing && ev.code !== 1000) { st.processing = false; st.error = st.error || 'output closed unexpectedly'; }
  };
}

window.seedTurn = async (kind, payload) => {
  await connectInput();
  if (kind === 'text') {
    inputWs.send(JSON.stringify({ type: 'text', chunk_id: 0, action: 'data_chunk' }));
    inputWs.send(new TextEncoder().encode(payload));
    inputWs.send(JSON.stringify({ action: 'upload_complete' }));
  } else {
    // As MediaRecorder hands them over: a recording in several consecutive slices.
    const rec = await (await fetch(payload)).blob();
    const n = 3, size = Math.ceil(rec.size / n);
    s.processing = true;
    for (let i = 0; i < n; i++) {
      inputWs.send(JSON.stringify({ type: 'audio', chunk_id: i, action: 'data_chunk' }));
      inputWs.send(rec.slice(i * size, (i + 1) * size));
    }
    inputWs.send(JSON.stringify({ action: 'upload_complete' }));
  }
  const st = s;
  const deadline = Date.now() + 60000;
  while (!st.outputClosed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  if (st.decoding) await st.decoding;
  return { taskId: st.taskId, stuck: st.processing || !st.outputClosed, text: st.text, transcript: st.transcript, error: st.error, acks: st.acks, audio: st.audio, log: st.log };
};
</script></body></html>`;

/** Serves the client page at / and `recording` at /recording.webm on 127.0.0.1. */
export async function serveSeedClient(recording: Buffer): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/recording.webm')) {
      res.writeHead(200, { 'content-type': 'audio/webm' }).end(recording);
    } else if (req.url === '/' || req.url?.startsWith('/?')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
