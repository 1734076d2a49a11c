/**
 * Live chat through the whole studio, as a streamer runs it: Twitch (anonymous), a YouTube stream and
 * a Bilibili room connected from the settings, the nine services, the OpenAI stand-in as the LLM and
 * Debian flite as the voice. The test acts as the studio page (StudioClient on the session live chat
 * answers in) and as the viewers (the three platform stand-ins).
 *
 * While the avatar answers a typed line, chat arrives on all three platforms: a Super Chat on
 * YouTube, a greeting on Twitch, a Bilibili danmaku with a banned word, and a Twitch spammer. Then:
 *   - the Super Chat is answered first, aloud (its reply's audio reaches the studio), then the greeting;
 *   - the banned message never reaches the LLM; the spammer's messages past the per-user limit neither;
 *   - a banned word in the LLM's own reply is never spoken nor shown;
 *   - the studio's chat feed (GET /api/chat) says what became of each message and why.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStudio, type Studio } from '../../src/main/app.js';
import { loadConfig } from '../../src/main/config/load-config.js';
import { ChatPaths, type ChatSnapshot } from '../../src/shared/chat-api.js';
import { startBilibiliServer, type BilibiliServer } from '../helpers/chat/bilibili-server.js';
import { startTwitchServer, type TwitchServer } from '../helpers/chat/twitch-server.js';
import { startYouTubeServer, type YouTubeServer } from '../helpers/chat/youtube-server.js';
import { startOpenAiServer, type OpenAiServer } from '../helpers/openai-server.js';
import { waitFor } from '../main/supervisor/helpers.js';
import { HAVE_FLITE, StudioClient } from './helpers.js';

const CHANNEL = 'streamer';
const BANNED = 'grapefruitz';
const SUPER_CHAT = 'Aria, what is your favourite food?';
const GREETING = 'hello from twitch chat';

/** The stand-in LLM: answers by what the last user message quotes. */
function reply(messages: Array<{ role: string; content?: unknown }>): string {
  const last = String(messages.at(-1)?.content ?? '');
  if (last.includes('favourite food')) return '[joy] Thank you for the Super Chat! I love ramen.';
  if (last.includes(GREETING)) return `Hello Twitch! I never say ${BANNED} on stream. Welcome in.`;
  return 'Sure, here I am.';
}

describe.skipIf(!HAVE_FLITE)(`live chat through the studio${HAVE_FLITE ? '' : ' (skipped: flite is not installed: apt install flite)'}`, () => {
  let ai: OpenAiServer;
  let twitch: TwitchServer;
  let youtube: YouTubeServer;
  let bili: BilibiliServer;
  let studio: Studio;
  let dataDir: string;
  let client: StudioClient | undefined;

  const snapshot = async () => {
    const res = await fetch(`${studio.gatewayUrl}${ChatPaths.chat}`, { headers: { authorization: `Bearer ${studio.token}` } });
    return (await res.json()) as ChatSnapshot;
  };
  /** The text of every LLM request's messages, in the order the stand-in received them. */
  const prompts = () => ai.requests.filter((r) => r.path.endsWith('/chat/completions')).map((r) => JSON.stringify((r.body as { messages: unknown[] }).messages));

  beforeAll(async () => {
    ai = await startOpenAiServer({ reply });
    [twitch, youtube, bili] = await Promise.all([startTwitchServer(), startYouTubeServer({ timeoutMs: 200 }), startBilibiliServer()]);
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'fav-live-chat-'));
    const { config } = loadConfig(
      {
        port: 0,
        dataDir,
        llm: { preset: 'custom', baseUrl: ai.url, model: 'test-model' },
        tts: { engine: 'flite' },
        memory: { summarise: false },
        persona: { name: 'Aria' },
        liveChat: {
          connections: [{ id: 'tw', platform: 'twitch', channel: CHANNEL, endpoint: twitch.url }, youtube.connection('yt'), bili.connection('bl')],
          arbiter: { minGapMs: 200, thanksBatchMs: 0, perUserMax: 2 },
          moderation: { bannedWords: [BANNED], outputAction: 'replace', replacement: '' },
        },
      },
      {},
    );
    studio = await startStudio({ config });
    await waitFor(async () => {
      const s = await snapshot();
      return s.connections.length === 3 && s.connections.every((c) => c.state === 'live') ? true : undefined;
    }, 'all three chat connections live', 60_000);
  }, 180_000);

  afterAll(async () => {
    client?.close();
    await studio?.stop();
    await Promise.all([twitch?.close(), youtube?.close(), bili?.close(), ai?.close()]);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('answers the Super Chat first and aloud, then the greeting; the banned and the rate-limited never reach the LLM', { timeout: 120_000 }, async () => {
    client = await StudioClient.open(studio.gatewayUrl, studio.token, config().liveChat.session);
    // The avatar is busy with a typed line (a slow first token) while the chat comes in.
    ai.setOptions({ reply, firstTokenDelayMs: 1500 });
    const before = prompts().length;
    client.send({ type: 'text', text: 'Say something while chat warms up.' });
    await waitFor(() => (prompts().length > before ? true : undefined), 'the typed turn at the LLM', 30_000);
    ai.setOptions({ reply, firstTokenDelayMs: 0 });

    twitch.chat(CHANNEL, { login: 'viewer1', displayName: 'Viewer1' }, GREETING);
    bili.danmaku({ uid: 42, name: '观众', text: `我喜欢${BANNED}和你` });
    for (let i = 1; i <= 4; i++) twitch.chat(CHANNEL, { login: 'spammy', displayName: 'Spammy' }, `buy my thing number ${i}`);
    youtube.pushSuperChat({ name: 'Generous' }, '$5.00', SUPER_CHAT);

    // Every message reached the feed, with its fate, before the typed turn ended.
    const feed = await waitFor(async () => {
      const s = await snapshot();
      return s.feed.length >= 7 ? s.feed : undefined;
    }, 'the seven chat messages in the feed', 30_000);
    const byText = (t: string) => feed.filter((e) => e.message.text.includes(t));
    expect(byText(BANNED)).toEqual([expect.objectContaining({ fate: 'dropped', dropped: 'banned_word' })]);
    expect(byText('buy my thing').map((e) => e.dropped ?? e.fate)).toEqual(['waiting', 'waiting', 'rate_limited', 'rate_limited']);
    expect(byText(SUPER_CHAT)[0]!.message).toMatchObject({ platform: 'youtube', kind: 'paid', paid: { amount: 5, currency: 'USD' } });

    // The chat turns: the Super Chat first, then the greeting (and the spammer's two allowed lines).
    const superTurn = await client.waitFor('reply_done', (e) => e.text.includes('I love ramen'), 60_000);
    const greetTurn = await client.waitFor('reply_done', (e) => e.text.includes('Hello Twitch'), 60_000);
    const order = prompts().slice(before);
    const at = (t: string) => order.findIndex((p) => p.includes(t));
    expect(at('favourite food')).toBeGreaterThan(0);
    expect(at(GREETING)).toBeGreaterThan(at('favourite food'));
    // Aloud: the Super Chat's answer has real speech in the studio.
    await client.waitFor('turn_end', (e) => e.turn_id === superTurn.turn_id, 30_000);
    const pcm = client.of('audio', (a) => a.turn_id === superTurn.turn_id).reduce((n, a) => n + (a.pcm?.length ?? 0), 0);
    expect(pcm).toBeGreaterThan(16000);
    // The spammer's two allowed lines are answered too; by then every prompt there will be was sent.
    await waitFor(() => (prompts().filter((p) => p.includes('buy my thing number 2')).length > 0 ? true : undefined), 'the spammer\'s second line answered', 60_000);
    for (const p of prompts()) {
      expect(p).not.toContain(BANNED);
      expect(p).not.toContain('buy my thing number 3');
      expect(p).not.toContain('buy my thing number 4');
    }
    // The banned word in the LLM's own reply was never spoken nor shown.
    expect(greetTurn.text).not.toContain(BANNED);
    expect(JSON.stringify(client.events.filter((e) => 'turn_id' in e && e.turn_id === greetTurn.turn_id))).not.toContain(BANNED);
    // The feed says why each was picked.
    const after = (await snapshot()).feed;
    expect(after.find((e) => e.message.text === SUPER_CHAT)).toMatchObject({ fate: 'picked', picked: { reason: 'paid', turn_id: superTurn.turn_id } });
    expect(after.find((e) => e.message.text === GREETING)).toMatchObject({ fate: 'picked', picked: { turn_id: greetTurn.turn_id } });
    expect(client.protocolErrors).toEqual([]);
  });

  const config = () => studio.config;
});
