/**
 * The asr service's live microphone path as a real worker process on a real bus (redis-server and
 * the embedded bus): 20 ms frames of flite speech and silence sent in real time; the order and
 * timing of speech_start / speech_end / transcript, two utterances in one stream, and a session
 * claimed by another asr instance.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channels } from '../../../src/shared/bus.js';
import { ownerKey } from '../../../src/workers/asr/mic.js';
import type { Received } from '../dialog-engine/harness.js';
import { BACKENDS } from '../../main/supervisor/helpers.js';
import { AsrRig, FRAME, installed, waitCount } from './service-harness.js';
import { SENTENCES, concat, mostlyHeard, say, silence, speechSpan } from './speech.js';

describe.skipIf(!installed).each(BACKENDS)('asr service: live mic (%s)', (kind) => {
  let rig: AsrRig;
  beforeAll(async () => {
    rig = await AsrRig.start(kind);
  }, 90_000);
  afterAll(async () => {
    await rig?.stop();
  });

  it('live mic: speech_start at once, speech_end ~300 ms after the speech, then the transcript', async () => {
    const session = `mic-${randomUUID().slice(0, 6)}`;
    const speech = say(SENTENCES[2], 'slt');
    const span = speechSpan(speech, 0.01);
    const lead = silence(600);
    const audio = concat(lead, speech, silence(1200));
    const sentAt = await rig.stream(session, audio);
    await rig.end(session, sentAt.length + 1);
    const result = await rig.tap.next(Channels.asrResults, (m) => m.session_id === session, 30_000);
    const final = await rig.tap.next(Channels.events, (m) => m.session_id === session && m.kind === 'transcript' && m.final === true, 10_000);
    const evs = rig.events(session);
    expect(evs.filter((e) => e.msg.kind !== 'transcript' || e.msg.final).map((e) => e.msg.kind)).toEqual(['speech_start', 'speech_end', 'transcript']);
    const [start, end] = evs as [Received, Received];
    expect(start.msg.turn_id).toBe('-');
    const turn = end.msg.turn_id as string;
    expect(turn).toMatch(/^[0-9a-f-]{36}$/);
    expect(end.msg.task_id).toBe(turn);
    expect(result.msg).toMatchObject({ turn_id: turn, task_id: turn, source: 'mic', engine: 'pocketsphinx' });
    expect(final.msg.turn_id).toBe(turn);
    expect(final.msg.text).toBe(result.msg.text);
    expect(mostlyHeard(SENTENCES[2], result.msg.text as string), result.msg.text as string).toBe(true);
    // Timing against the frames that carried the speech's first and last sample.
    const onsetSent = sentAt[Math.floor((lead.length + span.start) / FRAME)]!;
    const endSent = sentAt[Math.floor((lead.length + span.end) / FRAME)]!;
    const startLag = start.at - onsetSent;
    const endLag = end.at - endSent;
    const marks = result.msg.marks as Record<string, number>;
    console.log(
      `asr mic (${kind}): speech_start ${Math.round(startLag)} ms after the onset was sent (minSpeechMs 150), ` +
        `speech_end ${Math.round(endLag)} ms after the last speech was sent (minSilenceMs 300), ` +
        `transcript ${Math.round(marks.transcript! - marks.speech_end!)} ms after speech_end (engine ${Math.round(marks.asr_engine_ms!)} ms)`,
    );
    expect(startLag).toBeLessThan(150 + 64 + 150);
    expect(endLag).toBeGreaterThan(250);
    expect(endLag).toBeLessThan(300 + 32 + 150);
    expect(marks.speech_end).toBeGreaterThan(endSent);
  }, 60_000);


  it('two utterances in one mic stream make two turns, in order', async () => {
    const session = `mic2-${randomUUID().slice(0, 6)}`;
    const audio = concat(silence(300), say(SENTENCES[9], 'slt'), silence(900), say(SENTENCES[10], 'slt'), silence(900));
    const sentAt = await rig.stream(session, audio);
    await rig.end(session, sentAt.length + 1);
    const results = await waitCount(() => rig.tap.on(Channels.asrResults, (m) => m.session_id === session), 2, 30_000);
    expect(mostlyHeard(SENTENCES[9], results[0]!.msg.text as string), results[0]!.msg.text as string).toBe(true);
    expect(mostlyHeard(SENTENCES[10], results[1]!.msg.text as string), results[1]!.msg.text as string).toBe(true);
    const evs = rig.events(session);
    expect(evs.filter((e) => e.msg.kind === 'speech_start' || e.msg.kind === 'speech_end').map((e) => e.msg.kind)).toEqual(['speech_start', 'speech_end', 'speech_start', 'speech_end']);
    // Transcripts follow their own speech_end (the first may come after the second utterance began)
    // and keep the utterances' order, as do the results.
    const ends = evs.filter((e) => e.msg.kind === 'speech_end');
    const finals = await waitCount(() => rig.events(session).filter((e) => e.msg.kind === 'transcript' && e.msg.final), 2, 10_000);
    expect(finals.map((e) => e.msg.turn_id)).toEqual(ends.map((e) => e.msg.turn_id));
    expect(results.map((r) => r.msg.turn_id)).toEqual(ends.map((e) => e.msg.turn_id));
    for (let i = 0; i < 2; i++) expect(finals[i]!.at).toBeGreaterThan(ends[i]!.at);
  }, 60_000);


  it('leaves a mic session claimed by another instance alone', async () => {
    const session = `mic-other-${randomUUID().slice(0, 6)}`;
    await rig.redis.set(ownerKey(session), 'asr@elsewhere#1', 'PX', 60_000);
    const sentAt = await rig.stream(session, concat(silence(300), say(SENTENCES[11], 'slt'), silence(800)));
    await rig.end(session, sentAt.length + 1);
    expect(await rig.redis.get(ownerKey(session))).toBe('asr@elsewhere#1');
    // A session of our own streamed after it: the mic frames are handled in the order they were
    // published, so once its result is here, every frame of the claimed session was seen too.
    const mine = `mic-mine-${randomUUID().slice(0, 6)}`;
    const sent = await rig.stream(mine, concat(silence(300), say(SENTENCES[2], 'slt'), silence(800)));
    expect(await rig.redis.get(ownerKey(mine))).toBe(rig.worker.instanceId);
    await rig.end(mine, sent.length + 1);
    await rig.tap.next(Channels.asrResults, (m) => m.session_id === mine, 30_000);
    expect(rig.events(session)).toEqual([]);
    expect(rig.tap.on(Channels.asrResults, (m) => m.session_id === session)).toEqual([]);
    expect(await rig.redis.get(ownerKey(session))).toBe('asr@elsewhere#1');
    // Our own claim is released at the end of a stream.
    await waitCount(async () => ((await rig.redis.get(ownerKey(mine))) === null ? [1] : []), 1, 5000);
  }, 60_000);
});
