/**
 * `npm run bench:chat -- --stand-ins [--quick]`: the real live-chat service under the burst, end to end.
 * The embedded bus, the three platform stand-ins (Twitch IRC over WebSocket, YouTube InnerTube
 * polling, the Bilibili danmaku WebSocket), one live-chat worker process reading all three, and this
 * script playing the dialog engine (each chat turn "speaks" for `turnMs`). The mixed traffic of
 * chat-traffic.ts is pushed through the stand-ins in real time at 2,000 messages/minute.
 * Figures: the worker's CPU per message (its whole process: three protocol clients, the filter,
 * the arbiter, the bus writes; /proc, Linux), ingest latency (pushed into a stand-in -> its feed
 * event on the bus), queue latency (feed event -> picked), the worker's RSS before and after, and
 * how many messages were accepted, refused, picked and dropped.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { CONFIG_KEY, Channels, Queues, newEventId } from '../../src/shared/bus.js';
import { ConfigSchema } from '../../src/shared/config.js';
import { ChatChannels, type ChatFeedEvent, type LiveChatMessage } from '../../src/shared/live-chat.js';
import type { TurnEvent, UserInput } from '../../src/shared/voice.js';
import { startBilibiliServer } from '../../test/helpers/chat/bilibili-server.js';
import { startTwitchServer } from '../../test/helpers/chat/twitch-server.js';
import { startYouTubeServer } from '../../test/helpers/chat/youtube-server.js';
import { startWorker } from '../../test/helpers/worker.js';
import { startBackend, tempDataDir } from '../../test/main/supervisor/helpers.js';
import { chatTraffic, realTime } from './chat-traffic.js';

const SESSION = 'bench';
const CHANNEL = 'streamer';

export interface ServiceBenchOptions {
  perMinute: number;
  durationMs: number;
  /** How long each chat answer "speaks" before its turn ends, ms. */
  turnMs: number;
  minGapMs: number;
}

export interface ServiceBenchFigures {
  sent: number;
  /** Messages that reached the feed (accepted or refused). */
  seen: number;
  accepted: number;
  refused: Record<string, number>;
  droppedLater: Record<string, number>;
  picks: number;
  pickReasons: Record<string, number>;
  wallMs: number;
  workerCpuMsPerMessage: number;
  /** The same less the worker's idle cost over the run. */
  workerCpuAboveIdleMsPerMessage: number;
  workerIdleCpuMsPerS: number;
  ingestMs: { p50: number; p95: number };
  queueMs: { p50: number; p95: number };
  workerRssBytes: { before?: number; after?: number };
}

/** CPU ms used so far by a process (utime + stime), or undefined off Linux. */
function cpuMs(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // Fields after the command: state is [0], utime [11], stime [12], in clock ticks (100 per second on Linux).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

function rssBytes(pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

export async function runServiceBench(o: ServiceBenchOptions): Promise<ServiceBenchFigures> {
  const bus = await startBackend('embedded');
  const redis = new Redis(bus.url);
  const sub = new Redis(bus.url);
  const pop = new Redis(bus.url);
  const [twitch, youtube, bili] = await Promise.all([startTwitchServer(), startYouTubeServer({ timeoutMs: 250 }), startBilibiliServer()]);
  const settings = ConfigSchema.parse({
    dataDir: tempDataDir(),
    persona: { name: 'Aria' },
    liveChat: {
      session: SESSION,
      connections: [{ id: 'tw', platform: 'twitch', channel: CHANNEL, endpoint: twitch.url }, youtube.connection('yt'), bili.connection('bl')],
      arbiter: { minGapMs: o.minGapMs },
    },
  });
  await redis.set(CONFIG_KEY, JSON.stringify(settings));
  const worker = await startWorker('live-chat', bus.url, { env: { FAV_LOG_LEVEL: 'warn' }, graceMs: 5000 });
  const pid = worker.pid!;
  await twitch.waitForJoins(CHANNEL);
  await bili.waitForAuth(1);

  // The feed: when each message was seen (accepted or refused) and picked, on this clock.
  const pushedAt = new Map<string, number>();
  const seenAt = new Map<string, number>();
  const ingest: number[] = [];
  const queue: number[] = [];
  const refused: Record<string, number> = {};
  const droppedLater: Record<string, number> = {};
  const reasons: Record<string, number> = {};
  let accepted = 0;
  let picks = 0;
  await sub.subscribe(ChatChannels.feed);
  sub.on('message', (_c: string, raw: string) => {
    const now = performance.now();
    const e = JSON.parse(raw) as ChatFeedEvent;
    if (e.type === 'message') {
      seenAt.set(e.message.id, now);
      const p = pushedAt.get(e.message.id);
      if (p !== undefined) ingest.push(now - p);
      if (e.dropped) refused[e.dropped] = (refused[e.dropped] ?? 0) + 1;
      else accepted++;
    } else if (e.type === 'dropped') droppedLater[e.reason] = (droppedLater[e.reason] ?? 0) + 1;
    else if (e.type === 'picked') {
      picks++;
      reasons[e.reason] = (reasons[e.reason] ?? 0) + 1;
      for (const id of e.ids) {
        const s = seenAt.get(id);
        if (s !== undefined) queue.push(now - s);
      }
    }
  });

  // The dialog engine's part: each chat input is a turn of turnMs.
  let running = true;
  const event = (input: UserInput, body: Record<string, unknown>) =>
    redis.publish(Channels.events, JSON.stringify({ session_id: SESSION, turn_id: input.turn_id, task_id: input.turn_id, event_id: newEventId(), ts: Date.now(), marks: {}, ...body } as TurnEvent));
  const dialog = (async () => {
    while (running) {
      const got = await pop.brpop(Queues.dialogInputs, 0.2).catch(() => null);
      if (!got) continue;
      const input = JSON.parse(got[1]) as UserInput;
      await event(input, { kind: 'turn_state', state: 'thinking' });
      await new Promise((r) => setTimeout(r, o.turnMs));
      await event(input, { kind: 'turn_end', reason: 'done' });
      await event(input, { kind: 'turn_state', state: 'idle' });
    }
  })();

  const push = (m: LiveChatMessage): string | undefined => {
    const n = m.author.id.replace(/\D/g, '') || '0';
    if (m.platform === 'twitch') {
      const user = { login: `viewer_${n}`, id: n, displayName: m.author.name };
      if (m.kind === 'paid') return `twitch:${twitch.cheer(CHANNEL, user, m.paid!.amount, `Cheer${m.paid!.amount} ${m.text}`)}`;
      if (m.kind === 'sub') return `twitch:${twitch.sub(CHANNEL, user, { text: m.text })}`;
      return `twitch:${twitch.chat(CHANNEL, user, m.text || 'hi')}`;
    }
    if (m.platform === 'youtube') {
      const author = { name: `@${m.author.name}` };
      if (m.kind === 'paid') return `youtube:${youtube.pushSuperChat(author, m.paid!.currency === 'JPY' ? `¥${m.paid!.amount}` : `$${m.paid!.amount}.00`, m.text)}`;
      if (m.kind === 'member') return `youtube:${youtube.pushMembership(author)}`;
      return `youtube:${youtube.pushText(author, m.text || 'hi')}`;
    }
    const uid = Number(n) + 1;
    if (m.kind === 'paid') bili.superChat({ id: Number(m.id.replace(/\D/g, '')), uid, name: m.author.name, message: m.text || '加油', price: m.paid!.amount });
    else if (m.kind === 'gift') bili.gift({ uid, name: m.author.name, gift: m.gift!.name, num: m.gift!.count, price: 100 });
    else bili.danmaku({ uid, name: m.author.name, text: m.text || '你好' });
    return undefined;
  };

  // The worker's own idle cost (heartbeats, status refresh, YouTube polls), to tell it from the chat's.
  await new Promise((r) => setTimeout(r, 3000)); // past the start-up work
  const idle0 = cpuMs(pid);
  const idleT0 = performance.now();
  await new Promise((r) => setTimeout(r, 3000));
  const idleMsPerS = idle0 !== undefined ? ((cpuMs(pid)! - idle0) * 1000) / (performance.now() - idleT0) : NaN;
  const cpu0 = cpuMs(pid);
  const rss0 = rssBytes(pid);
  const wall0 = performance.now();
  let sent = 0;
  for await (const m of realTime(chatTraffic({ perMinute: o.perMinute, durationMs: o.durationMs, startAt: Date.now(), authors: 5000, seed: 77, tag: 'svc' }))) {
    const id = push(m);
    if (id) pushedAt.set(id, performance.now());
    sent++;
  }
  // Let the last ones arrive (YouTube polls every 250 ms).
  await new Promise((r) => setTimeout(r, 1500));
  const wall = performance.now() - wall0;
  const cpu1 = cpuMs(pid);
  const rss1 = rssBytes(pid);
  const seen = seenAt.size;
  running = false;
  await dialog;
  await worker.stop();
  for (const r of [redis, sub, pop]) r.disconnect();
  await Promise.all([twitch.close(), youtube.close(), bili.close()]);
  await bus.stop();

  const cpuPerMsg = cpu0 !== undefined && cpu1 !== undefined && seen > 0 ? (cpu1 - cpu0) / seen : NaN;
  const cpuAboveIdle = cpu0 !== undefined && cpu1 !== undefined && seen > 0 ? (cpu1 - cpu0 - (idleMsPerS * wall) / 1000) / seen : NaN;
  return {
    sent,
    seen,
    accepted,
    refused,
    droppedLater,
    picks,
    pickReasons: reasons,
    wallMs: Math.round(wall),
    workerCpuMsPerMessage: cpuPerMsg,
    workerCpuAboveIdleMsPerMessage: cpuAboveIdle,
    workerIdleCpuMsPerS: idleMsPerS,
    ingestMs: { p50: pct(ingest, 50), p95: pct(ingest, 95) },
    queueMs: { p50: pct(queue, 50), p95: pct(queue, 95) },
    workerRssBytes: { before: rss0, after: rss1 },
  };
}
