/**
 * Summaries of what falls out of the window: with the LLM (the real `openai` SDK against the local
 * OpenAI-compatible stand-in) and the extractive fallback when the LLM is down or failing.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema, type Config } from '../../../src/shared/config.js';
import { MemoryStore } from '../../../src/workers/memory/store.js';
import { Summariser, extractiveSummary, firstSentence, summaryBudget } from '../../../src/workers/memory/summariser.js';
import { estimateTokens } from '../../../src/workers/memory/tokens.js';
import { freePort } from '../../helpers/redis-server.js';
import { startOpenAiServer, type OpenAiServer } from '../../helpers/openai-server.js';

const log = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as never;

function settings(baseUrl: string, memory: Partial<Config['memory']> = {}): Config {
  return ConfigSchema.parse({
    dataDir: mkdtempSync(path.join(tmpdir(), 'fav-sum-')),
    llm: { preset: 'custom', baseUrl, model: 'summary-model' },
    persona: { name: 'Aria' },
    memory: { maxContextTokens: 200, ...memory },
  });
}

const stores: MemoryStore[] = [];
function fill(s: Config, turns: number, from = 0): MemoryStore {
  const store = stores.find((x) => x.db.name === MemoryStore.file(s.dataDir)) ?? MemoryStore.open(s.dataDir, log);
  if (!stores.includes(store)) stores.push(store);
  for (let i = from; i < from + turns; i++) {
    store.addUser({ session_id: 's', turn_id: `t${i}`, text: `Question ${i} about my cat Mochi. And some more words to make it longer.`, ts: i, pos: i });
    store.addAssistant({ session_id: 's', turn_id: `t${i}`, text: `Answer ${i}: Mochi sounds lovely! Tell me more about her.`, status: i % 5 === 4 ? 'cancelled' : 'complete', ts: i });
  }
  return store;
}
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

describe('summaries', () => {
  let ai: OpenAiServer;
  beforeAll(async () => {
    ai = await startOpenAiServer({ reply: '<think>hmm</think>The viewer talks about their cat Mochi, and Aria asks about her.' });
  });
  afterAll(async () => {
    await ai?.close();
  });

  it('with the LLM: summarises only what fell out of the window, then merges the next overflow into it', async () => {
    const s = settings(ai.url);
    const store = fill(s, 20);
    const sum = new Summariser(store, s, log);
    const before = ai.requests.length;
    const r = await sum.schedule('s');
    expect(r?.summary.method).toBe('llm');
    expect(r?.summary.text).toBe('The viewer talks about their cat Mochi, and Aria asks about her.');
    const req = ai.requests.slice(before).find((x) => x.path === '/v1/chat/completions')!;
    expect(req.body).toMatchObject({ model: 'summary-model' });
    expect(req.body!.max_tokens as number).toBeLessThanOrEqual(Math.ceil(summaryBudget(200) * 1.5));
    const prompt = (req.body!.messages as Array<{ role: string; content: string }>)[1]!.content;
    expect(prompt).toContain('User: Question 0 about my cat Mochi.');
    expect(prompt).toContain('Aria: Answer 4: Mochi sounds lovely! Tell me more about her. (interrupted)');
    expect(prompt).not.toContain('Summary so far');
    // Covered: everything up to just before the window (with the summary's room reserved).
    const win = store.window('s', 19, sum.messageBudget);
    expect(r!.summary.upto_pos).toBeLessThan(win.messages[0]!.pos);
    expect(store.range('s', r!.summary.upto_pos, win.messages[0]!.pos - 1e-9)).toEqual([]);
    expect(prompt).not.toContain(win.messages[0]!.content);
    expect(store.latestSummary('s')).toMatchObject({ method: 'llm', upto_pos: r!.summary.upto_pos });

    // Nothing new out of the window: no second request.
    const n = ai.requests.length;
    expect(await sum.schedule('s')).toBeUndefined();
    expect(ai.requests.length).toBe(n);

    // More turns push more out: the next request carries the summary so far and only the new ones.
    fill(s, 6, 20);
    const r2 = await sum.schedule('s');
    expect(r2?.summary.upto_pos).toBeGreaterThan(r!.summary.upto_pos);
    const prompt2 = (ai.requests.at(-1)!.body!.messages as Array<{ content: string }>)[1]!.content;
    expect(prompt2).toContain('Summary so far:\nThe viewer talks about their cat Mochi');
    expect(prompt2).not.toContain('Question 0 ');
    await sum.dispose();
  });

  it('extractive when the LLM is unreachable: first sentences, within the summary budget', async () => {
    const s = settings(`http://127.0.0.1:${await freePort()}/v1`);
    const store = fill(s, 20);
    const sum = new Summariser(store, s, log);
    const r = await sum.schedule('s');
    expect(r?.summary.method).toBe('extractive');
    const text = r!.summary.text;
    expect(estimateTokens(text)).toBeLessThanOrEqual(summaryBudget(200));
    // Newest lines kept, oldest dropped to fit; each line is a first sentence.
    const lines = text.split('\n');
    expect(lines.some((l) => /^Aria: Answer \d+: Mochi sounds lovely!( \(interrupted\))?$/.test(l))).toBe(true);
    expect(lines.some((l) => /^User: Question \d+ about my cat Mochi\.$/.test(l))).toBe(true);
    expect(lines.every((l) => /^(Aria|User): /.test(l))).toBe(true);
    // The newest uncovered message is the last line; the oldest ones were dropped to fit.
    const newest = store.range('s', -Infinity, r!.summary.upto_pos).at(-1)!;
    expect(lines.at(-1)).toContain(firstSentence(newest.text));
    expect(text).not.toContain('Question 0 ');
    expect(text).not.toContain('And some more words');
    await sum.dispose();
  });

  it('extractive when the LLM fails (HTTP 500), and the LLM is left alone for a while after', async () => {
    const bad = await startOpenAiServer({ status: 500 });
    try {
      let clock = 1_000_000;
      const s = settings(bad.url);
      const store = fill(s, 20);
      const sum = new Summariser(store, s, log, { now: () => clock });
      expect((await sum.schedule('s'))?.summary.method).toBe('extractive');
      expect(bad.requests.filter((r) => r.path === '/v1/chat/completions')).toHaveLength(1);
      fill(s, 6, 20);
      expect((await sum.schedule('s'))?.summary.method).toBe('extractive');
      expect(bad.requests.filter((r) => r.path === '/v1/chat/completions')).toHaveLength(1); // backed off
      clock += 60_000;
      bad.setOptions({ status: undefined, reply: 'Back online summary.' });
      fill(s, 6, 26);
      const r = await sum.schedule('s');
      expect(r?.summary).toMatchObject({ method: 'llm', text: 'Back online summary.' });
      // The LLM got the extractive summary so far to merge.
      expect((bad.requests.at(-1)!.body!.messages as Array<{ content: string }>)[1]!.content).toMatch(/^Summary so far:\n(User|Aria): /);
      await sum.dispose();
    } finally {
      await bad.close();
    }
  });

  it('does nothing when summaries are off or the history fits', async () => {
    const off = settings(ai.url, { summarise: false });
    const n = ai.requests.length;
    expect(await new Summariser(fill(off, 20), off, log).schedule('s')).toBeUndefined();
    const roomy = settings(ai.url, { maxContextTokens: 100_000 });
    expect(await new Summariser(fill(roomy, 20), roomy, log).schedule('s')).toBeUndefined();
    expect(ai.requests.length).toBe(n);
  });

  it('first sentences and trimming', () => {
    expect(firstSentence('Hello there. How are you?')).toBe('Hello there.');
    expect(firstSentence('我的猫叫麻糬。它很可爱。')).toBe('我的猫叫麻糬。');
    expect(firstSentence('no end mark at all')).toBe('no end mark at all');
    expect(firstSentence('Version 2.5 is out! Great.')).toBe('Version 2.5 is out!');
    const long = extractiveSummary(undefined, [{ role: 'user', text: 'x'.repeat(2000), author: null, status: 'complete' } as never], 'Aria', 60);
    expect(estimateTokens(long)).toBeLessThanOrEqual(60);
  });
});
