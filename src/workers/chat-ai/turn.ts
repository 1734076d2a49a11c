/**
 * One reply: streams the LLM's answer to a MemoryContext and publishes it as it comes.
 *
 * Per turn, in order on the one command connection (so in order on the bus):
 *   ai_responses  delta*      spoken text (tags removed), tokens of one event-loop turn batched
 *   fav:events    emotion     at once when a tag is read
 *   tts_requests  TtsRequest  one per sentence, LPUSHed the moment the sentence is complete, each
 *   ai_responses  sentence    with the emotion in effect (the last tag before the sentence's end)
 *   tts_requests  last        the final sentence with `last: true`, or an end marker (empty text,
 *                             next index) when the reply ended on a sentence boundary
 *   ai_responses  done        the whole spoken text and the sentence count
 *   fav:memory:replies        one ReplyFinal (status done) for memory to keep the reply
 * Ends other than done, each terminal (nothing of the turn follows):
 *   cancelled  (fav:control, or a newer turn of the session): the HTTP request is aborted, then
 *              `ai_responses cancelled` and a ReplyFinal cancelled, with the text produced so far.
 *              No TtsRequest follows, not even an end marker: tts drops the turn on the same
 *              control event.
 *   failed     one `fav:events error` (stage llm, a code of ErrorCodes, a message that says what to
 *              do), a ReplyFinal error, and a TtsRequest end marker (`last`, empty text) so tts
 *              closes the turn's audio; sentences already sent still play. The dialog engine and
 *              the output handler end the turn on the error event.
 * Output filter (moderation: banned words and names, see common/output-filter.ts): when it has
 * anything to filter, every sentence passes it before its TtsRequest and before any of its text is
 * published. Deltas are then released per filtered sentence instead of per token batch: a token
 * stream cannot be unsaid, and a banned word split over several tokens is only recognisable once
 * its sentence is complete. A skipped sentence takes no index (tts indexes stay contiguous); the
 * done text and the ReplyFinal (what memory keeps) are the filtered text. With nothing to filter
 * (decided at the turn's start), tokens stream exactly as before.
 * Timing: the first-token timer runs from the request until the first content token; after it, a
 * stall timer re-arms lazily (one timer per turn; each chunk only stores its arrival time).
 */
import type { Redis } from 'ioredis';
import { Bus } from '../../shared/contract.js';
import { ErrorCodes, follow, nowMs, type AiResponse, type Body, type Emotion, type MemoryContext, type ReplyFinal, type TtsRequest, type TurnEvent } from '../../shared/voice.js';
import type { OutputFilter } from '../common/output-filter.js';
import { publish, push, type Logger } from '../runtime/index.js';
import { EmotionFilter } from './emotion.js';
import { buildMessages, classify, type Llm, type LlmFailure } from './llm.js';
import { SentenceSplitter, isCjk, type Sentence, type SplitterOptions } from './sentences.js';
import { ThinkFilter } from './think.js';

export type TurnState = 'running' | 'done' | 'cancelled' | 'failed';

export interface TurnDeps {
  redis: Redis;
  log: Logger;
  llm: Llm;
  splitter?: SplitterOptions;
  /** The system prompt of the persona in use ({name} replaced); the configured one when absent. */
  systemPrompt?: string;
  /** Moderation of what is said; absent or inactive: no filtering. */
  output?: OutputFilter;
}

export class Turn {
  state: TurnState = 'running';
  private readonly ac = new AbortController();
  private readonly marks: Record<string, number>;
  private readonly splitter: SentenceSplitter;
  private readonly filter: EmotionFilter;
  private readonly think = new ThinkFilter();
  private readonly tags: Array<{ offset: number; emotion: Emotion }> = [];
  private emotion: Emotion | undefined;
  /** The spoken text published so far (filtered when `output` is set). */
  private spoken = '';
  /** Everything the splitter was given (the reply's text without tags, unfiltered). */
  private heard = '';
  /** The output filter, when it has anything to filter (fixed for the turn). */
  private readonly output: OutputFilter | undefined;
  private sentences = 0;
  /** Sentences the output filter skipped. */
  private skipped = 0;
  private pendingDelta = '';
  private deltaTimer: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private firstTokenAt: number | undefined;
  private lastChunkAt = 0;
  private readonly t0 = performance.now();

  constructor(
    readonly ctx: MemoryContext,
    private readonly deps: TurnDeps,
  ) {
    this.marks = { ...ctx.marks };
    this.splitter = new SentenceSplitter(deps.splitter);
    this.output = deps.output?.active ? deps.output : undefined;
    this.filter = new EmotionFilter((emotion, offset) => {
      this.tags.push({ offset, emotion });
      this.track(publish(this.deps.redis, Bus.events, this.event({ kind: 'emotion', emotion })));
    });
  }

  get turnId(): string {
    return this.ctx.turn_id;
  }

  async run(): Promise<TurnState> {
    if (this.ctx.source === 'say') return this.say();
    const { llm } = this.deps;
    if (!llm.client) {
      this.fail(llm.configError ?? { code: ErrorCodes.llmFailed, message: 'the LLM is not configured' });
      return this.state;
    }
    this.marks.llm_request = nowMs();
    this.timer = setTimeout(() => this.onTimer(), llm.firstTokenTimeoutMs);
    let stream;
    let response: Response;
    try {
      ({ data: stream, response } = await llm.client.chat.completions
        .create(
          { model: llm.model, messages: buildMessages(this.deps.systemPrompt === undefined ? llm : { ...llm, systemPrompt: this.deps.systemPrompt }, this.ctx), stream: true, temperature: llm.temperature, max_tokens: llm.maxTokens },
          { signal: this.ac.signal },
        )
        .withResponse());
    } catch (e) {
      if (this.state === 'running') this.fail(classify(e, llm, 'request'));
      return this.state;
    }
    if (this.state !== 'running') return this.state;
    const type = response.headers.get('content-type') ?? '';
    if (!type.includes('text/event-stream')) {
      this.fail({
        code: ErrorCodes.llmBadStream,
        message: `the LLM at ${llm.baseUrl} answered with ${type.split(';')[0] || 'no content type'}, not an event stream: FAV_LLM_BASE_URL should be the server's OpenAI-compatible URL, usually ending in /v1`,
      });
      return this.state;
    }
    let chunks = 0;
    let finish: string | null = null;
    try {
      for await (const chunk of stream) {
        if (this.state !== 'running') break; // leaving the loop aborts the request
        chunks++;
        this.lastChunkAt = performance.now();
        const choice = chunk.choices?.[0];
        if (choice?.finish_reason) finish = choice.finish_reason;
        const delta = choice?.delta as { content?: string | null; reasoning_content?: string; reasoning?: string } | undefined;
        if (delta?.content) this.onDelta(delta.content);
        else if (delta?.reasoning_content || delta?.reasoning) this.onFirstToken(); // reasoning counts as life
      }
    } catch (e) {
      if (this.state === 'running') this.fail(classify(e, llm, 'stream'));
      return this.state;
    }
    if (this.state === 'running') this.complete(chunks, finish);
    return this.state;
  }

  /**
   * A `say` turn: the context's text is the reply, spoken as is through the same path as the LLM's
   * (emotion tags honoured, sentences to tts, deltas, done, the ReplyFinal memory keeps as the
   * assistant's). No request, so no llm_* marks.
   */
  private say(): TurnState {
    this.onSpoken(this.filter.push(this.ctx.text));
    this.onSpoken(this.filter.flush());
    if (this.heard.trim() === '' && this.splitter.flush().length === 0) {
      this.fail({ code: ErrorCodes.textEmpty, message: 'nothing to say: the text has only emotion tags; add the words to speak, e.g. "[joy] Hello!"' });
      return this.state;
    }
    this.complete(1, 'stop');
    return this.state;
  }

  /** Stops the turn (barge-in, stop button, a newer turn): aborts the request, says so once. */
  cancel(reason: string): boolean {
    if (this.state !== 'running') return false;
    this.state = 'cancelled';
    this.stop();
    // Deltas not yet published are dropped: the clients are told to stop anyway.
    this.pendingDelta = '';
    const p = this.deps.redis.pipeline();
    publish(p, Bus.aiResponses, this.response({ kind: 'cancelled', text: this.spoken.trim() }));
    push(p, Bus.replies, this.final('cancelled'));
    this.exec(p);
    this.deps.log.info({ turn: this.turnId, session: this.ctx.session_id, reason, sentences: this.sentences }, 'turn cancelled');
    return true;
  }

  /** Ends the turn with an error (see the header for what is published). */
  fail(f: LlmFailure): void {
    if (this.state !== 'running') return;
    this.state = 'failed';
    this.stop();
    this.flushDelta();
    const p = this.deps.redis.pipeline();
    push(p, Bus.ttsRequests, this.tts('', this.sentences, true));
    publish(p, Bus.events, this.event({ kind: 'error', stage: 'llm', code: f.code, message: f.message }));
    push(p, Bus.replies, { ...this.final('error'), code: f.code });
    this.exec(p);
    this.deps.log.warn({ turn: this.turnId, session: this.ctx.session_id, code: f.code, sentences: this.sentences }, f.message);
  }

  /**
   * Ends a turn that an earlier chat-ai instance started and lost mid-reply: the error event and a
   * ReplyFinal error, nothing for tts (the sentences it was given are the dead instance's; their
   * audio is dropped when the dialog engine ends the turn on this error).
   */
  lost(f: LlmFailure): void {
    if (this.state !== 'running') return;
    this.state = 'failed';
    const p = this.deps.redis.pipeline();
    publish(p, Bus.events, this.event({ kind: 'error', stage: 'llm', code: f.code, message: f.message }));
    push(p, Bus.replies, { ...this.final('error'), code: f.code });
    this.exec(p);
    this.deps.log.warn({ turn: this.turnId, session: this.ctx.session_id, code: f.code }, f.message);
  }

  private stop(): void {
    clearTimeout(this.timer);
    this.ac.abort();
  }

  private onTimer(): void {
    if (this.state !== 'running') return;
    const { llm } = this.deps;
    if (this.firstTokenAt === undefined) {
      this.fail({
        code: ErrorCodes.llmTimeout,
        message: `no reply from the LLM (${llm.model} at ${llm.baseUrl}) within ${fmtS(llm.firstTokenTimeoutMs)}: the model may still be loading or be too slow for this machine; try a smaller model or raise llm.firstTokenTimeoutMs`,
      });
      return;
    }
    const idle = performance.now() - this.lastChunkAt;
    if (idle >= llm.idleTimeoutMs) {
      this.fail({ code: ErrorCodes.llmTimeout, message: `the LLM (${llm.model} at ${llm.baseUrl}) stopped sending for ${fmtS(idle)} mid-reply; raise llm.idleTimeoutMs if the model is just slow` });
      return;
    }
    this.timer = setTimeout(() => this.onTimer(), llm.idleTimeoutMs - idle);
  }

  /** The first token (text or reasoning): from now on the stall timer watches the stream. */
  private onFirstToken(): void {
    if (this.firstTokenAt !== undefined) return;
    this.firstTokenAt = this.lastChunkAt;
    this.marks.llm_first_token = nowMs();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.onTimer(), this.deps.llm.idleTimeoutMs);
  }

  private onDelta(delta: string): void {
    this.onFirstToken();
    this.onSpoken(this.filter.push(this.think.push(delta)));
  }

  private onSpoken(text: string): void {
    if (!text) return;
    this.heard += text;
    // Filtered: the text is published by sentence() once its sentence has passed the filter.
    if (!this.output) {
      this.spoken += text;
      this.pendingDelta += text;
      this.deltaTimer ??= setImmediate(() => this.flushDelta());
    }
    for (const s of this.splitter.push(text)) this.sentence(s, false);
  }

  private flushDelta(): void {
    if (this.deltaTimer) clearImmediate(this.deltaTimer);
    this.deltaTimer = undefined;
    if (!this.pendingDelta || this.state === 'cancelled') return;
    const text = this.pendingDelta;
    this.pendingDelta = '';
    this.track(publish(this.deps.redis, Bus.aiResponses, this.response({ kind: 'delta', text })));
  }

  /** Publishes one sentence (TtsRequest, sentence response); false when the output filter skipped it. */
  private sentence(s: Sentence, last: boolean): boolean {
    if (this.output) {
      const r = this.output.apply(s.text);
      if ('skip' in r) {
        this.skipped++;
        this.deps.log.info({ turn: this.turnId, session: this.ctx.session_id, reason: r.reason }, 'sentence skipped by the output filter');
        return false;
      }
      s = { ...s, text: r.text };
      // The deltas of a filtered turn: the sentence as it will be spoken, spaced like the reply.
      const sep = this.spoken && !isCjk(this.spoken.at(-1)) && !isCjk(s.text[0]) ? ' ' : '';
      this.spoken += sep + s.text;
      this.pendingDelta += sep + s.text;
    }
    this.flushDelta();
    while (this.tags.length && this.tags[0]!.offset < s.end) this.emotion = this.tags.shift()!.emotion;
    if (this.sentences === 0) this.marks.sentence_0 = nowMs();
    const index = this.sentences++;
    const p = this.deps.redis.pipeline();
    push(p, Bus.ttsRequests, this.tts(s.text, index, last));
    publish(p, Bus.aiResponses, this.response({ kind: 'sentence', text: s.text, index, ...(this.emotion ? { emotion: this.emotion } : {}) }));
    this.exec(p);
    return true;
  }

  private complete(chunks: number, finish: string | null): void {
    const { llm } = this.deps;
    if (this.ctx.source !== 'say') {
      this.onSpoken(this.filter.push(this.think.flush()));
      this.onSpoken(this.filter.flush());
    }
    const rest = this.splitter.flush();
    if (chunks === 0) {
      this.fail({
        code: ErrorCodes.llmBadStream,
        message: `the LLM at ${llm.baseUrl} sent an empty stream (no completion chunks): is FAV_LLM_BASE_URL an OpenAI-compatible /v1 URL?`,
      });
      return;
    }
    if (this.sentences === 0 && this.skipped === 0 && rest.length === 0) {
      const why =
        finish === 'length'
          ? `: it used up llm.maxTokens (${llm.maxTokens}) before any text; raise it`
          : finish === 'content_filter'
            ? ': the provider filtered it'
            : '';
      this.fail({ code: ErrorCodes.llmFailed, message: `the model (${llm.model}) returned an empty reply${why}` });
      return;
    }
    const lastSent = rest.map((s, k) => this.sentence(s, k === rest.length - 1)).at(-1) ?? false;
    // No sentence left with `last` (the reply ended on a boundary, or the filter skipped the last): an end marker.
    if (!lastSent) this.track(push(this.deps.redis, Bus.ttsRequests, this.tts('', this.sentences, true)));
    this.flushDelta();
    this.state = 'done';
    clearTimeout(this.timer);
    const p = this.deps.redis.pipeline();
    publish(p, Bus.aiResponses, this.response({ kind: 'done', text: this.spoken.trim(), sentences: this.sentences }));
    push(p, Bus.replies, this.final('done'));
    this.exec(p);
    this.deps.log.info(
      {
        turn: this.turnId,
        session: this.ctx.session_id,
        sentences: this.sentences,
        chars: this.spoken.length,
        firstTokenMs: this.firstTokenAt !== undefined ? Math.round(this.firstTokenAt - this.t0) : undefined,
        totalMs: Math.round(performance.now() - this.t0),
        finish,
      },
      'turn done',
    );
  }

  // --- messages ---------------------------------------------------------------------------------

  private response(r: Body<AiResponse>): AiResponse {
    return { ...follow(this.ctx, this.marks), ...r };
  }

  private tts(text: string, index: number, last: boolean): TtsRequest {
    return { ...follow(this.ctx, this.marks), text, index, last, ...(this.emotion && text ? { emotion: this.emotion } : {}) };
  }

  private event(e: Body<TurnEvent>): TurnEvent {
    return { ...follow(this.ctx, this.marks), ...e };
  }

  private final(status: ReplyFinal['status']): ReplyFinal {
    return { ...follow(this.ctx, this.marks), status, text: this.spoken.trim(), sentences: this.sentences };
  }

  private track(p: Promise<unknown>): void {
    p.catch((e: Error) => this.deps.log.error({ turn: this.turnId, err: e.message }, 'bus write failed'));
  }

  private exec(p: ReturnType<Redis['pipeline']>): void {
    p.exec().catch((e: Error) => this.deps.log.error({ turn: this.turnId, err: e.message }, 'bus write failed'));
  }
}

function fmtS(ms: number): string {
  return ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`;
}
