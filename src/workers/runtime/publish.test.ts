/**
 * The typed bus writes: what goes on the wire for each kind of topic, and (checked by tsc, which
 * type-checks this file) that a payload of the wrong shape for a topic does not compile.
 */
import { describe, expect, it } from 'vitest';
import { Channels, newEventId, type ControlEvent } from '../../shared/bus.js';
import { Bus, SERVICE_INPUTS } from '../../shared/contract.js';
import type { AiResponse, LtmWrite, RecallReply, TtsChunk, UserInput } from '../../shared/voice.js';
import { channelFor, publish, push, xadd } from './publish.js';
import { channelInput, checkInputs, queueInput } from './types.js';

function fakeBus() {
  const calls: string[][] = [];
  const redis = {
    publish: async (channel: string, message: string) => (calls.push(['publish', channel, message]), 1),
    lpush: async (key: string, ...values: string[]) => (calls.push(['lpush', key, ...values]), 1),
    xadd: async (key: string, ...args: string[]) => (calls.push(['xadd', key, ...args]), '1-0'),
  };
  return { calls, redis };
}

const envelope = { session_id: 's', turn_id: 't', task_id: 'task-1', event_id: newEventId(), ts: 1, marks: {} };
const delta: AiResponse = { ...envelope, kind: 'delta', text: 'Hel' };
const input: UserInput = { ...envelope, source: 'typed', text: 'hi' };
const cancel: ControlEvent = { action: 'cancel', session_id: 's', ts: 1 };

describe('typed bus writes', () => {
  it('publish sends the JSON to the channel, or to the channel a pattern topic names per message', async () => {
    const { calls, redis } = fakeBus();
    await publish(redis, Bus.aiResponses, delta);
    const chunk: TtsChunk = { ...envelope, kind: 'end', index: 2, audio_ms: 900 };
    await publish(redis, Bus.taskResponse, chunk);
    const reply: RecallReply = { request_id: 'r-7', items: [], mode: 'keyword', took_ms: 1 };
    await publish(redis, Bus.ltmRecallReply, reply);
    expect(calls).toEqual([
      ['publish', 'ai_responses', JSON.stringify(delta)],
      ['publish', 'task_response:task-1', JSON.stringify(chunk)],
      ['publish', 'fav:ltm:recall:r-7', JSON.stringify(reply)],
    ]);
    expect(channelFor(Bus.taskResponse, chunk)).toBe(Channels.taskResponse('task-1'));
  });

  it('push LPUSHes onto the queue; xadd appends one `msg` field to the stream', async () => {
    const { calls, redis } = fakeBus();
    await push(redis, Bus.dialogInputs, input);
    const write: LtmWrite = { session_id: 's', text: 'my cat is Mochi', kind: 'user', ts: 1 };
    await xadd(redis, Bus.ltmWrites, write);
    expect(calls).toEqual([
      ['lpush', 'fav:dialog:inputs', JSON.stringify(input)],
      ['xadd', 'fav:ltm:writes', '*', 'msg', JSON.stringify(write)],
    ]);
  });

  it('accepts only the payload of the named topic, and each kind of write only its kind of topic', () => {
    const { redis } = fakeBus();
    const wrong = (): unknown[] => [
      // @ts-expect-error an AiResponse is not a TurnEvent
      publish(redis, Bus.events, delta),
      // @ts-expect-error a ControlEvent is not a UserInput
      push(redis, Bus.dialogInputs, cancel),
      // @ts-expect-error fav:control is a channel, not a queue
      push(redis, Bus.control, cancel),
      // @ts-expect-error a queue is not published to
      publish(redis, Bus.userInput, input),
      // @ts-expect-error the AiResponse kinds are delta, sentence, done and cancelled
      publish(redis, Bus.aiResponses, { ...envelope, kind: 'error', text: '' }),
      // @ts-expect-error a done reply carries its sentence count
      publish(redis, Bus.aiResponses, { ...envelope, kind: 'done', text: 'Hi.' }),
      // @ts-expect-error a TurnEvent error's code is one of ErrorCodes
      publish(redis, Bus.events, { ...envelope, kind: 'error', stage: 'llm', code: 'oops', message: 'failed' }),
    ];
    expect(typeof wrong).toBe('function'); // never called: the checks above are tsc's
  });
});

describe('the contract table', () => {
  it('gives each service the inputs it consumes, for the manifest', () => {
    expect(SERVICE_INPUTS['input-handler']).toEqual([{ kind: 'queue', name: 'fav:input' }]);
    expect(SERVICE_INPUTS.memory).toEqual([
      { kind: 'queue', name: 'user_input_queue' },
      { kind: 'queue', name: 'fav:memory:replies' },
      { kind: 'channel', name: 'fav:events' },
      { kind: 'channel', name: 'fav:persona' },
    ]);
    expect(SERVICE_INPUTS['long-term-memory'].map((i) => `${i.kind} ${i.name}`)).toEqual(['channel fav:ltm:recall', 'stream fav:ltm:writes', 'stream fav:ltm:turns', 'channel fav:ltm:admin']);
    expect(SERVICE_INPUTS['output-handler'].map((i) => `${i.kind} ${i.name}`)).toEqual(['channel ai_responses', 'pattern task_response:*', 'channel fav:events', 'channel fav:control']);
    // Nothing of ours reads the seed's transcript mirror.
    expect(Object.values(SERVICE_INPUTS).flat().some((i) => i.name === 'asr_results')).toBe(false);
  });

  it('refuses a service whose inputs drift from the table, naming what differs and the fix', () => {
    const handle = async () => undefined;
    const tts = [queueInput({ topic: Bus.ttsRequests, handle }), channelInput({ topic: Bus.control, handle }), channelInput({ topic: Bus.ttsAdmin, handle })];
    expect(() => checkInputs({ name: 'tts', inputs: tts })).not.toThrow();
    expect(() => checkInputs({ name: 'tts', inputs: [tts[0]!, tts[2]!] })).toThrow(/service tts: its inputs differ from the contract table .*; not consumed: channel fav:control: fix the table's consumers or the service's inputs/);
    expect(() => checkInputs({ name: 'tts', inputs: [...tts, channelInput({ topic: Bus.asrResults, handle })] })).toThrow(/not listed as a consumer: channel asr_results/);
  });
});
