/**
 * The chat panel's routes (src/shared/chat-api.ts), every one token-guarded: the recent feed and
 * connection statuses, the live feed over a WebSocket, the panel's buttons (answer, ban, unban)
 * published for live-chat, and the banned-word import. Bans and banned words are saved through the
 * settings service, so they survive a restart and live-chat reads them at start like any setting.
 */
import type { FastifyInstance } from 'fastify';
import { bannedUserKey, ChatPaths, type BannedWordsResult, type ChatCommandResult, type ChatSnapshot } from '../../shared/chat-api.js';
import { ChatCommand } from '../../shared/live-chat.js';
import { SettingsRejected, type SettingsService } from '../settings/index.js';
import { requireToken, tokenFromRequest, tokensEqual } from './auth.js';
import type { ChatFeed } from './chat-feed.js';
import type { ConnectionRegistry } from './connections.js';

export interface ChatRoutesOptions {
  busUrl: string;
  /** Messages kept for the panel (default 500). */
  capacity?: number;
  log?: (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;
}

/** Limits of an imported word list: a word list, not a novel. */
export const BANNED_WORDS_LIMITS = { words: 5000, wordChars: 100 } as const;

export class BannedWordsFileError extends Error {}

/** The words of a plain text file: one per line, `#` starts a comment, blanks and repeats (any case) left out. */
export function parseBannedWords(text: string): string[] {
  if (text.includes('\u0000') || text.includes('\uFFFD')) {
    throw new BannedWordsFileError('this is not a text file: save the list as UTF-8 plain text, one word or phrase per line');
  }
  const words: string[] = [];
  const seen = new Set<string>();
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n|\r/);
  for (const [i, line] of lines.entries()) {
    const hash = line.indexOf('#');
    const word = (hash >= 0 ? line.slice(0, hash) : line).trim();
    if (!word) continue;
    if (word.length > BANNED_WORDS_LIMITS.wordChars) {
      throw new BannedWordsFileError(`line ${i + 1} is ${word.length} characters long: put one word or short phrase per line (at most ${BANNED_WORDS_LIMITS.wordChars})`);
    }
    const key = word.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    words.push(word);
  }
  if (words.length === 0) throw new BannedWordsFileError('the file has no words: put one word or phrase per line (lines starting with # are comments)');
  if (words.length > BANNED_WORDS_LIMITS.words) {
    throw new BannedWordsFileError(`the file has ${words.length} words, more than the ${BANNED_WORDS_LIMITS.words} the filter takes: shorten the list`);
  }
  return words;
}

function mergeWords(before: readonly string[], words: readonly string[]): string[] {
  const seen = new Set(before.map((w) => w.toLowerCase()));
  return [...before, ...words.filter((w) => !seen.has(w.toLowerCase()))];
}

export function chatPlugin(feed: ChatFeed, token: string, connections: ConnectionRegistry, settings?: SettingsService) {
  const auth = requireToken(token);

  const noSettings = 'this gateway has no settings service: bans and banned words cannot be saved';

  return async (app: FastifyInstance): Promise<void> => {
    app.addContentTypeParser(['text/plain', 'application/octet-stream'], { parseAs: 'buffer', bodyLimit: 2 * 1024 * 1024 }, (_req, body, done) =>
      // Decoded without throwing: a binary file becomes replacement characters parseBannedWords refuses.
      done(null, new TextDecoder('utf-8').decode(body as Buffer)),
    );

    app.get(ChatPaths.chat, { preHandler: auth }, (): Promise<ChatSnapshot> => feed.snapshot());

    app.register(async (scoped) => {
      scoped.get(ChatPaths.feed, { websocket: true }, (socket, req) => {
        if (!tokensEqual(tokenFromRequest(req), token)) {
          socket.close(4401, 'unauthorized');
          return;
        }
        const forget = connections.add(ChatPaths.feed, req.ip);
        // The snapshot first, then the events after it: events that come while the snapshot is
        // being prepared wait (the snapshot already holds them, and the page's merge is idempotent).
        let pending: string[] | undefined = [];
        const send = (frame: string) => {
          if (socket.readyState === socket.OPEN) socket.send(frame);
        };
        const unsubscribe = feed.subscribe((event) => {
          const frame = JSON.stringify(event);
          if (pending) pending.push(frame);
          else send(frame);
        });
        socket.on('close', () => {
          unsubscribe();
          forget();
        });
        void feed
          .snapshot()
          .catch(() => feed.buffer.snapshot())
          .then((snapshot) => {
            send(JSON.stringify({ type: 'snapshot', ...snapshot }));
            const queued = pending ?? [];
            pending = undefined;
            for (const frame of queued) send(frame);
          });
      });
    });

    app.post(ChatPaths.command, { preHandler: auth }, async (req, reply) => {
      const parsed = ChatCommand.safeParse(req.body);
      if (!parsed.success) {
        const why = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
        return reply.code(400).send({ error: `expected {"action":"answer","id"} or {"action":"ban"|"unban","platform","user_id"}: ${why}` });
      }
      const cmd = parsed.data;
      let bannedUsers: string[] | undefined;
      if (cmd.action !== 'answer') {
        if (!settings) return reply.code(501).send({ error: noSettings });
        const key = bannedUserKey(cmd.platform, cmd.user_id);
        const before = settings.current().liveChat.moderation.bannedUsers;
        const next = cmd.action === 'ban' ? (before.includes(key) ? before : [...before, key]) : before.filter((u) => u !== key);
        if (next !== before) {
          const saved = await settings.save({ liveChat: { moderation: { bannedUsers: next } } });
          bannedUsers = saved.view.settings.liveChat?.moderation?.bannedUsers ?? next;
        } else bannedUsers = before;
      }
      let delivered: boolean;
      try {
        if (cmd.action === 'answer' && !(await feed.running())) {
          return reply.code(503).send({ error: 'the live-chat service is not running, so nothing can be answered: start it in the manager' });
        }
        delivered = (await feed.command(cmd)) > 0;
      } catch (err) {
        if (bannedUsers) return { ok: true, delivered: false, bannedUsers } satisfies ChatCommandResult;
        return reply.code(503).send({ error: `the bus did not take the command (${(err as Error).message}): check the bus in the manager` });
      }
      return { ok: true, delivered, ...(bannedUsers ? { bannedUsers } : {}) } satisfies ChatCommandResult;
    });

    app.post(ChatPaths.bannedWords, { preHandler: auth }, async (req, reply) => {
      if (!settings) return reply.code(501).send({ error: noSettings });
      const mode = (req.query as Record<string, unknown>).mode ?? 'merge';
      if (mode !== 'merge' && mode !== 'replace') return reply.code(400).send({ error: `mode must be merge or replace, not '${String(mode)}'` });
      if (typeof req.body !== 'string') {
        return reply.code(400).send({ error: 'send the word list as the body with Content-Type: text/plain (one word or phrase per line)' });
      }
      let words: string[];
      try {
        words = parseBannedWords(req.body);
      } catch (err) {
        if (err instanceof BannedWordsFileError) return reply.code(400).send({ error: err.message });
        throw err;
      }
      const before = settings.current().liveChat.moderation.bannedWords;
      const next = mode === 'replace' ? words : mergeWords(before, words);
      const known = new Set(before.map((w) => w.toLowerCase()));
      try {
        const saved = await settings.save({ liveChat: { moderation: { bannedWords: next } } });
        const result: BannedWordsResult = {
          ok: true,
          mode,
          read: words.length,
          added: words.filter((w) => !known.has(w.toLowerCase())).length,
          words: saved.view.settings.liveChat?.moderation?.bannedWords ?? next,
        };
        return result;
      } catch (err) {
        if (err instanceof SettingsRejected) return reply.code(400).send({ error: err.message });
        throw err;
      }
    });
  };
}
