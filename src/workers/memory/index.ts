/**
 * memory: the conversation's short-term memory and the context of every turn.
 *
 *   user_input_queue (UserInput, a turn that starts now)
 *     1. store the user's message FIRST (it stays in memory whatever happens to the turn later)
 *     2. recall long-term memories of the active persona within the speaker's scope (a chat viewer's
 *        own, then the shared ones: long-term.ts recallScope) on fav:ltm:recall, reply on
 *        fav:ltm:recall:<id>, at most settings.memory.recallTimeoutMs; without them when
 *        long-term-memory is slow or down. How it went is MemoryContext.recall and marks.recall.
 *     3. build the window: newest messages that fit settings.memory.maxContextTokens (minus the
 *        summary and the recalled memories), always ending with this turn's user message
 *     4. publish MemoryContext on memory_updates (marks.context)
 *   fav:events, final transcripts only: a spoken turn's transcript is known a hop before its turn
 *     arrives (via the dialog engine, which may also hold it while a reply plays): its recall
 *     starts then (a prefetch keyed by turn id), so the turn waits only for what is left of it.
 *   A `say` turn (source 'say', the avatar's own line) skips 1-3 and goes on with an empty window.
 *   fav:memory:replies (ReplyFinal, one per turn from chat-ai)
 *     done: store the reply (complete); cancelled: store the partial text (status cancelled, shown
 *     to the model with a trailing "…"); error: nothing (the user's message stays). Then, for each
 *     of the three, the finished turn (LtmTurn: user text, reply, speaker, persona, recalled ids) is
 *     XADDed to the durable stream fav:ltm:turns, from which long-term-memory extracts memories
 *     (ltm-turns.ts); and a background summary job looks at what fell out of the window
 *     (summariser.ts).
 *   fav:persona (and ACTIVE_PERSONA_KEY at start): the persona in use; memories are per persona.
 *
 * When the database fails (disk full, locked for longer than the busy timeout) the turn still gets
 * a context with its own message only: the conversation goes on, the error is logged.
 */
import type { PersonaNotice } from '../../shared/bus.js';
import { Bus } from '../../shared/contract.js';
import { follow, nowMs, type ChatMessage, type MemoryContext, type ReplyFinal, type TurnEvent, type UserInput } from '../../shared/voice.js';
import { recallScope, type RecalledMemory, type Subject } from '../../shared/long-term.js';
import { channelInput, publish, push, queueInput, xadd, type JobContext, type ServiceDefinition, type WorkerContext } from '../runtime/index.js';
import { chatMetaOf } from '../common/chat-quote.js';
import { readActivePersona } from '../common/persona.js';
import { RecallClient, recallInfo, type RecallOutcome } from './recall-client.js';
import { TurnMemos, ltmTurnOf, memoFromStore, speakerOf, storedChatMeta } from './ltm-turns.js';
import { MemoryStore, renderContent, type HistoryWindow } from './store.js';
import { Summariser } from './summariser.js';
import { messageTokens } from './tokens.js';

interface State {
  store: MemoryStore;
  summariser: Summariser;
  recall: RecallClient;
  /** Recalls started from transcripts, by turn id (bounded; an unused one is dropped after 10 s). */
  prefetched: Map<string, { text: string; persona: string; outcome: Promise<RecallOutcome>; at: number }>;
  /** The persona in use (its memories are recalled and written); ts of the notice that set it. */
  persona: { name: string; ts: number };
  /** What each turn in flight needs for its LtmTurn when its reply comes. */
  turns: TurnMemos;
}

/** A persona notice (the channel, or the key at start); an older one than the one in use is ignored. */
function onPersona(state: State, p: PersonaNotice, log: WorkerContext['log']): void {
  if (p.ts < state.persona.ts) return;
  state.persona = { name: p.name, ts: p.ts };
  log.info({ persona: p.name }, 'persona in use for long-term memory');
}

async function loadPersona(state: State, ctx: WorkerContext): Promise<void> {
  const p = await readActivePersona(ctx.redis, ctx.log);
  if (p) onPersona(state, p, ctx.log);
}

/** Recalled texts that the window already carries add nothing: dropped. */
function freshRecalls(items: RecalledMemory[], win: HistoryWindow): RecalledMemory[] {
  const inWindow = new Set(win.messages.map((m) => m.content.trim()));
  const out: RecalledMemory[] = [];
  for (const m of items) {
    const t = m.text.trim();
    if (t && !inWindow.has(t) && !out.some((o) => o.text.trim() === t)) out.push(m);
  }
  return out;
}

/** Fits recalled memories into the budget: the oldest window messages (never the last) make room. */
function fitRecalls(win: HistoryWindow, recalled: RecalledMemory[], budget: number): { messages: HistoryWindow['messages']; recalled: RecalledMemory[] } {
  const messages = [...win.messages];
  let used = win.tokens;
  const kept: RecalledMemory[] = [];
  for (const r of recalled) {
    const t = messageTokens(r.text);
    // A memory may push out older messages but never claim more than a quarter of the budget.
    if (kept.reduce((n, k) => n + messageTokens(k.text), 0) + t > budget / 4) break;
    while (used + t > budget && messages.length > 1) used -= messages.shift()!.tokens;
    if (used + t > budget) break;
    kept.push(r);
    used += t;
  }
  return { messages, recalled: kept };
}

const PREFETCH_MAX = 64;
const PREFETCH_TTL_MS = 10_000;

function handleEvent(state: State, r: TurnEvent, job: JobContext): Promise<void> {
  const { recallK, recallTimeoutMs } = job.settings.memory;
  if (r.kind !== 'transcript' || !r.final || r.text.trim() === '' || recallK <= 0 || recallTimeoutMs <= 0) return Promise.resolve();
  const { prefetched } = state;
  const now = Date.now();
  for (const [id, p] of prefetched) if (prefetched.size >= PREFETCH_MAX || now - p.at > PREFETCH_TTL_MS) prefetched.delete(id);
  // A transcript is the mic's: the streamer speaks. The turn may take longer than the recall's own
  // deadline to arrive: give the prefetch room.
  const persona = state.persona.name;
  const outcome = state.recall.recall({ session_id: r.session_id, query: r.text, k: recallK, persona, scope: recallScope('streamer'), ts: now }, recallTimeoutMs * 4);
  prefetched.set(r.turn_id, { text: r.text, persona, outcome, at: now });
  return Promise.resolve();
}

/** The turn's recall: the prefetched one when the text, persona and speaker are the same, else a new request. */
async function recallFor(state: State, turn: UserInput, k: number, timeoutMs: number, persona: string, speaker: Subject): Promise<RecallOutcome & { prefetched?: boolean }> {
  const { prefetched, recall } = state;
  const p = prefetched.get(turn.turn_id);
  prefetched.delete(turn.turn_id);
  if (p && p.text === turn.text && p.persona === persona && speaker === 'streamer') {
    let t: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((r) => (t = setTimeout(() => r(undefined), timeoutMs)));
    const r = await Promise.race([p.outcome, late]);
    clearTimeout(t);
    if (r) return { ...r, prefetched: true };
    return { items: [], status: 'timeout', waited_ms: timeoutMs, prefetched: true };
  }
  return recall.recall({ session_id: turn.session_id, query: turn.text, k, persona, scope: recallScope(speaker), ts: Date.now() }, timeoutMs);
}

/**
 * A `say` turn (the control API's line for the avatar) is not the user's: nothing is stored or
 * recalled for it, and chat-ai speaks its text as is. The line is kept as the assistant's when
 * chat-ai's ReplyFinal comes back (handleReply), like any reply.
 */
async function handleSay(state: State, turn: UserInput, job: JobContext): Promise<void> {
  state.turns.set(turn.turn_id, { say: true, persona: state.persona.name, speaker: 'avatar', source: 'say', user: '', recalled_ids: [] });
  const ctx: MemoryContext = { ...follow(turn, { ...turn.marks, context: nowMs() }), source: turn.source, text: turn.text, messages: [], memories: [] };
  await Promise.all([push(job.redis, Bus.chatContexts, ctx), publish(job.redis, Bus.memoryUpdates, ctx)]);
}

async function handleTurn(state: State, turn: UserInput, job: JobContext): Promise<void> {
  if (turn.source === 'say') return handleSay(state, turn, job);
  const { store } = state;
  const { settings, redis, log } = job;
  const started = performance.now();
  const pos = turn.marks.turn_start ?? turn.ts;
  const persona = state.persona.name;
  const speaker = speakerOf(turn);

  // 1. The user's message first.
  let stored = true;
  try {
    store.addUser({ session_id: turn.session_id, turn_id: turn.turn_id, text: turn.text, source: turn.source, author: turn.author, chat: storedChatMeta(chatMetaOf(turn.chat), turn), ts: turn.ts, pos });
  } catch (e) {
    stored = false;
    log.error({ session_id: turn.session_id, turn_id: turn.turn_id, err: (e as Error).message }, 'could not store the user message; the turn goes on without history');
  }
  const storeMs = performance.now() - started;

  // 2. Long-term recall (bounded wait).
  const { recallK, recallTimeoutMs, maxContextTokens } = settings.memory;
  const outcome =
    recallK > 0 && recallTimeoutMs > 0
      ? await recallFor(state, turn, recallK, recallTimeoutMs, persona, speaker)
      : { items: [], status: 'skipped' as const, waited_ms: 0 };
  const afterRecall = performance.now();
  const recallMark: Record<string, number> = outcome.status === 'skipped' ? {} : { recall: nowMs() };

  // 3. The window.
  let summary: string | undefined;
  let win: HistoryWindow;
  const own = renderContent({ role: 'user', text: turn.text, author: turn.author ?? null, status: 'complete', source: turn.source, chat: turn.chat ? JSON.stringify(chatMetaOf(turn.chat)) : null });
  try {
    if (!stored) throw new Error('no history');
    const s = settings.memory.summarise ? store.latestSummary(turn.session_id) : undefined;
    summary = s?.text;
    win = store.window(turn.session_id, pos, maxContextTokens - (s ? s.tokens + messageTokens('') : 0));
  } catch (e) {
    if (stored) log.error({ session_id: turn.session_id, err: (e as Error).message }, 'could not read the history window');
    win = { messages: [{ role: 'user', content: own, tokens: messageTokens(own), pos, turn_id: turn.turn_id }], tokens: messageTokens(own), firstLeftOutPos: undefined };
  }
  const budget = maxContextTokens - (summary ? messageTokens(summary) : 0);
  const fitted = fitRecalls(win, freshRecalls(outcome.items, win), budget);
  const messages: ChatMessage[] = fitted.messages.map((m) => ({ role: m.role, content: m.content }));

  // What the turn's LtmTurn needs when its reply comes.
  state.turns.set(turn.turn_id, {
    persona,
    speaker,
    ...(turn.author ? { speaker_name: turn.author } : {}),
    source: turn.source,
    user: turn.text,
    recalled_ids: fitted.recalled.map((m) => m.id),
  });

  // 4. Publish the context (one pipelined round trip).
  const ctx: MemoryContext = {
    ...follow(turn, { ...turn.marks, ...recallMark, context: nowMs() }),
    source: turn.source,
    text: turn.text,
    messages,
    ...(summary ? { summary } : {}),
    memories: fitted.recalled,
    recall: recallInfo(outcome, fitted.recalled.length),
  };
  const ownMs = performance.now() - afterRecall + storeMs;
  await Promise.all([push(redis, Bus.chatContexts, ctx), publish(redis, Bus.memoryUpdates, ctx)]);
  log.debug(
    {
      session_id: turn.session_id,
      turn_id: turn.turn_id,
      messages: messages.length,
      tokens: win.tokens,
      recalled: fitted.recalled.length,
      recall: ctx.recall!.status,
      recall_ms: Math.round(outcome.waited_ms * 100) / 100,
      ...(outcome.receivers !== undefined ? { recall_receivers: outcome.receivers } : {}),
      own_ms: Math.round(ownMs * 1000) / 1000,
    },
    'context published',
  );
}

async function handleReply(state: State, msg: ReplyFinal, job: JobContext): Promise<void> {
  const { store, summariser } = state;
  if (msg.status === 'done' || msg.status === 'cancelled') {
    const status = msg.status === 'done' ? 'complete' : 'cancelled';
    try {
      store.addAssistant({ session_id: msg.session_id, turn_id: msg.turn_id, text: msg.text, status, ts: msg.ts });
    } catch (e) {
      job.log.error({ session_id: msg.session_id, turn_id: msg.turn_id, err: (e as Error).message }, 'could not store the reply');
    }
  }
  await writeLtmTurn(state, msg, job);
  // The turn is over: summarise what fell out of the window, in the background.
  void summariser.schedule(msg.session_id);
}

/**
 * The finished turn to fav:ltm:turns (durable: long-term-memory reads it with a consumer group, so a
 * killed one loses nothing). The memo is dropped only once the XADD is done. A memory killed before
 * that gets the reply again after its restart (requeued) and rebuilds the turn from the stored user
 * message; a failed XADD throws (the reply is dead-lettered, with the error in the log).
 */
async function writeLtmTurn(state: State, msg: ReplyFinal, job: JobContext): Promise<void> {
  let memo = state.turns.get(msg.turn_id);
  if (!memo) {
    try {
      memo = memoFromStore(state.store.message(msg.session_id, msg.turn_id, 'user'), state.persona.name);
    } catch (e) {
      job.log.error({ session_id: msg.session_id, turn_id: msg.turn_id, err: (e as Error).message }, 'could not read the turn for long-term memory');
    }
  }
  if (!memo || memo.say) {
    state.turns.delete(msg.turn_id);
    return;
  }
  let turn;
  try {
    turn = ltmTurnOf(msg, memo, Date.now());
  } catch (e) {
    state.turns.delete(msg.turn_id);
    job.log.error({ session_id: msg.session_id, turn_id: msg.turn_id, err: (e as Error).message }, 'the finished turn does not make a long-term memory entry: skipped');
    return;
  }
  await xadd(job.redis, Bus.ltmTurns, turn);
  state.turns.delete(msg.turn_id);
}

const service: ServiceDefinition = {
  name: 'memory',
  async create(ctx: WorkerContext) {
    const store = MemoryStore.open(ctx.settings.dataDir, ctx.log);
    if (store.salvage) ctx.notify(store.salvage.message);
    // Windows are at most maxContextTokens: keep twice that in memory per active session.
    store.setCacheTokens(Math.max(4000, 2 * ctx.settings.memory.maxContextTokens));
    const recall = new RecallClient(ctx.connect('recall-sub'), ctx.instanceId, ctx.redis, ctx.log);
    try {
      await recall.open();
    } catch (e) {
      store.close();
      await recall.close();
      throw e;
    }
    const state: State = {
      store,
      recall,
      summariser: new Summariser(store, ctx.settings, ctx.log),
      prefetched: new Map(),
      persona: { name: ctx.settings.persona.name, ts: 0 },
      turns: new TurnMemos(),
    };
    try {
      await loadPersona(state, ctx);
    } catch (e) {
      ctx.log.warn({ err: (e as Error).message }, 'could not read the persona in use: using the configured one');
    }
    ctx.log.info({ file: MemoryStore.file(ctx.settings.dataDir), movedAside: store.movedAside }, 'memory store open');
    return {
      inputs: [
        queueInput({ topic: Bus.userInput, handle: (turn, job) => handleTurn(state, turn, job) }),
        queueInput({ topic: Bus.replies, handle: (msg, job) => handleReply(state, msg, job) }),
        channelInput({ topic: Bus.events, concurrent: true, handle: (ev, job) => handleEvent(state, ev, job) }),
        channelInput({ topic: Bus.persona, concurrent: true, handle: async (p, job) => onPersona(state, p, job.log) }),
      ],
      async dispose() {
        await state.summariser.dispose();
        await state.recall.close();
        state.store.close();
      },
    };
  },
};
export default service;
