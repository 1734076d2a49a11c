/**
 * A typed or uploaded input that the dialog engine merged into another waiting input (input policy
 * `merge`) gets a turn_end `merged` for its own turn (engine.test.ts proves the engine side). Here,
 * against the real gateway on a real bus with a fake pipeline: that turn_end answers a waiting
 * `POST /api/asr` at once (no time-out) and reaches the session's sockets as it is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pcm, startRig, WsClient, type Json } from './helpers.js';
import { BACKENDS } from '../supervisor/helpers.js';

const KIND = BACKENDS.includes('embedded') ? 'embedded' : 'redis-server';

describe(`a merged input's turn on ${KIND}`, () => {
  let rig: Awaited<ReturnType<typeof startRig>>;
  beforeAll(async () => {
    // A time-out far beyond the test's own: an answer can only come from the turn_end.
    rig = await startRig(KIND, { asrTimeoutMs: 60_000 });
  });
  afterAll(async () => {
    await rig?.stop();
  });

  it('answers /api/asr at once with 409 merged, naming the turn that answers it; the studio sees the turn_end', async () => {
    const s = 'm-asr';
    const studio = await WsClient.open(`${rig.rig.ws}/api/session?token=${rig.rig.token}&session=${s}`);
    await rig.pipe.deliver({ type: 'turn_state', session_id: s, turn_id: '-', state: 'idle' });
    expect((await studio.json()).type).toBe('turn_state');
    const res = fetch(rig.rig.gateway.url + '/api/asr', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sessionId: s, audio: Buffer.concat([Buffer.from('RIFF'), pcm(400)]).toString('base64'), contentType: 'audio/wav' }),
    });
    const task = await rig.pipe.nextInput();
    const end = { type: 'turn_end', session_id: s, turn_id: task.turn_id, task_id: task.task_id, reason: 'merged', merged_into: 'turn-b' } as const;
    await rig.pipe.deliver(end);
    const r = await res;
    expect(r.status).toBe(409);
    expect((await r.json()) as Json).toMatchObject({ code: 'merged', error: expect.stringMatching(/merged into turn turn-b/), sessionId: s, taskId: task.task_id });
    expect(await studio.json()).toEqual(end);
    studio.close();
  });
});
