/**
 * Which running parts a changed setting reaches only through a restart. Every worker reads its
 * settings once, at start, from the bus key CONFIG_KEY (src/workers/runtime/runtime.ts loadSettings);
 * the table lists, per settings path, the services that read it (found by reading the workers'
 * `settings.<section>` uses). The gateway, the bus and the supervisor take theirs when the app
 * starts: those paths need the whole app restarted.
 */
import type { ServiceName } from '../../shared/bus.js';
import type { RestartNeeds } from '../../shared/settings-api.js';

type Reader = ServiceName | 'app';

/** Longest matching prefix wins. */
const READERS: ReadonlyArray<readonly [string, readonly Reader[]]> = [
  ['port', ['app']],
  ['host', ['app']],
  ['redisUrl', ['app']],
  ['bus', ['app']],
  ['gateway', ['app']],
  // The endpoint is shared: chat-ai talks to it, memory summarises with it, long-term memory embeds
  // through it by default, and the OpenAI ASR engine falls back to its URL and key.
  ['llm', ['chat-ai', 'memory', 'long-term-memory', 'asr']],
  ['llm.temperature', ['chat-ai']],
  ['llm.maxTokens', ['chat-ai']],
  ['llm.firstTokenTimeoutMs', ['chat-ai']],
  ['llm.idleTimeoutMs', ['chat-ai']],
  ['persona', ['chat-ai', 'memory']],
  ['asr', ['asr']],
  // input-handler stamps the language on typed and uploaded input.
  ['asr.language', ['asr', 'input-handler']],
  ['tts', ['tts']],
  ['memory', ['memory', 'long-term-memory']],
  ['dialog', ['dialog-engine']],
  ['output', ['output-handler']],
  ['liveChat', ['live-chat']],
  // chat-ai filters what the avatar says with the same banned words and names.
  ['liveChat.moderation', ['live-chat', 'chat-ai']],
  // The gateway checks uploads against the same limits before they reach the bus.
  ['input', ['input-handler', 'asr', 'app']],
];

function readersOf(path: string): readonly Reader[] {
  let best: readonly [string, readonly Reader[]] | undefined;
  for (const entry of READERS) {
    const [prefix] = entry;
    if ((path === prefix || path.startsWith(`${prefix}.`)) && (!best || prefix.length > best[0].length)) best = entry;
  }
  // An unlisted path is a new setting nobody mapped yet: restarting the app is the safe answer.
  return best?.[1] ?? ['app'];
}

/** What applies the changed paths (locked ones are left out: no restart applies them while locked). */
export function restartNeeds(changed: readonly string[], locked: Readonly<Record<string, unknown>> = {}): RestartNeeds {
  const services = new Set<string>();
  const app: string[] = [];
  for (const p of changed) {
    if (p in locked) continue;
    for (const r of readersOf(p)) {
      if (r === 'app') app.push(p);
      else services.add(r);
    }
  }
  return { services: [...services].sort(), app: [...new Set(app)].sort() };
}
