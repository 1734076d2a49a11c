/**
 * Short-term memory storage: `<dataDir>/memory/memory.db` (see sqlite.ts for WAL, migrations,
 * file modes and the salvage of a damaged file).
 *
 * messages: one row per (session, turn, role). The user's message is written when the turn starts,
 * the assistant's when its reply ends (status complete) or is cut off (status cancelled, the partial
 * text). Rows are ordered by `pos`, the turn's start time: a reply that arrives after the next
 * turn started (barge-in) still sorts right after its own user message.
 * summaries: the running summary of a session's messages up to `upto_pos` (newest row wins).
 *
 * Every statement is prepared once. The hot path (addUser + window) is one single-row insert and a
 * walk over an in-memory tail of the session's history (TailCache below), so the window costs no
 * query. The tail is loaded from the database on a session's first turn (after a restart) and
 * thrown away whenever another connection has written to the file (`PRAGMA data_version`), so a
 * second memory process or a tool editing the file never leaves it stale.
 */
import path from 'node:path';
import type { Logger } from '../runtime/index.js';
import { renderChatQuote, type StoredChatMeta } from '../common/chat-quote.js';
import { openDatabase, type Db, type Migration, type Salvaged } from '../common/sqlite.js';
import { MESSAGE_OVERHEAD_TOKENS, estimateTokens, messageTokens } from './tokens.js';

export type MessageRole = 'user' | 'assistant';
export type MessageStatus = 'complete' | 'cancelled' | 'error';

export interface StoredMessage {
  id: number;
  session_id: string;
  turn_id: string;
  role: MessageRole;
  text: string;
  source: string | null;
  author: string | null;
  /** Source 'chat': the live-chat meta as JSON (StoredChatMeta: platform, kind, paid), to render it again. */
  chat: string | null;
  status: MessageStatus;
  ts: number;
  pos: number;
  tokens: number;
}

export interface Summary {
  session_id: string;
  text: string;
  /** Covers the session's messages with pos <= upto_pos. */
  upto_pos: number;
  tokens: number;
  method: 'llm' | 'extractive';
  ts: number;
}

export interface WindowMessage {
  role: MessageRole;
  content: string;
  tokens: number;
  pos: number;
  turn_id: string;
}

/** The columns the window needs. */
type Row = Pick<StoredMessage, 'id' | 'role' | 'text' | 'author' | 'source' | 'chat' | 'status' | 'tokens' | 'pos' | 'turn_id'>;

export interface HistoryWindow {
  /** Oldest first; the last one is the message at `uptoPos` (this turn's user message). */
  messages: WindowMessage[];
  tokens: number;
  /** pos of the newest message that did not fit (undefined when the whole history fits). */
  firstLeftOutPos: number | undefined;
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up(db) {
      db.exec(`
        CREATE TABLE messages (
          id INTEGER PRIMARY KEY,
          session_id TEXT NOT NULL,
          turn_id TEXT NOT NULL,
          role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
          text TEXT NOT NULL,
          source TEXT,
          author TEXT,
          status TEXT NOT NULL CHECK (status IN ('complete', 'cancelled', 'error')),
          ts REAL NOT NULL,
          pos REAL NOT NULL,
          tokens INTEGER NOT NULL,
          UNIQUE (session_id, turn_id, role)
        );
        CREATE INDEX messages_by_pos ON messages (session_id, pos, id);
        CREATE TABLE summaries (
          id INTEGER PRIMARY KEY,
          session_id TEXT NOT NULL,
          text TEXT NOT NULL,
          upto_pos REAL NOT NULL,
          tokens INTEGER NOT NULL,
          method TEXT NOT NULL CHECK (method IN ('llm', 'extractive')),
          ts REAL NOT NULL
        );
        CREATE INDEX summaries_by_session ON summaries (session_id, id);
      `);
    },
  },
  {
    // Live chat: what a chat message needs besides its author to be rendered as a quote again.
    version: 2,
    up(db) {
      db.exec('ALTER TABLE messages ADD COLUMN chat TEXT');
    },
  },
];

/**
 * How a message appears in the LLM context. A live-chat message (source 'chat') is a quoted block
 * of viewer data (chat-quote.ts), never plain text the model could take as instructions.
 */
export function renderContent(m: Pick<StoredMessage, 'role' | 'text' | 'author' | 'status'> & Partial<Pick<StoredMessage, 'source' | 'chat'>>): string {
  if (m.role === 'user' && m.source === 'chat') return renderChatQuote(m.text, m.author, parseChatMeta(m.chat));
  if (m.role === 'user') return m.author ? `${m.author}: ${m.text}` : m.text;
  // A reply cut off by barge-in or stop: the trailing ellipsis tells the model it was interrupted.
  return m.status === 'cancelled' ? `${m.text.trimEnd()}…` : m.text;
}

function parseChatMeta(json: string | null | undefined): StoredChatMeta | undefined {
  if (!json) return undefined;
  try {
    return JSON.parse(json) as StoredChatMeta;
  } catch {
    return undefined; // rendered without platform and amount rather than not at all
  }
}

/** Gap between a turn's user message and its reply in `pos` (ms): keeps the reply right after it. */
const REPLY_POS_OFFSET = 0.001;

/** (pos, id) order of the history. */
function before(a: Row, b: Row): boolean {
  return a.pos < b.pos || (a.pos === b.pos && a.id < b.id);
}

/**
 * The newest rows of recently active sessions, oldest first, holding at least `keepTokens` worth
 * of messages (or the whole history: `complete`). Least recently used sessions are dropped beyond
 * MAX_CACHED_SESSIONS.
 */
interface Tail {
  rows: Row[];
  tokens: number;
  /** The rows are the session's entire history. */
  complete: boolean;
}
const MAX_CACHED_SESSIONS = 64;

export class MemoryStore {
  private readonly st;
  private readonly tails = new Map<string, Tail>();
  private dataVersion: number;
  /** Tokens of history kept in memory per session: enough for any window of the configured size. */
  private keepTokens = 8000;

  constructor(
    readonly db: Db,
    /** Where an unreadable file was moved, when that happened at open. */
    readonly movedAside?: string,
    /** What was rescued from it (the notice for the user is `salvage.message`). */
    readonly salvage?: Salvaged,
  ) {
    this.st = {
      insertUser: db.prepare<[string, string, string, string | null, string | null, string | null, number, number, number], StoredMessage>(
        `INSERT INTO messages (session_id, turn_id, role, text, source, author, chat, status, ts, pos, tokens)
         VALUES (?, ?, 'user', ?, ?, ?, ?, 'complete', ?, ?, ?)
         ON CONFLICT (session_id, turn_id, role) DO NOTHING RETURNING *`,
      ),
      byTurn: db.prepare<[string, string, string], StoredMessage>('SELECT * FROM messages WHERE session_id = ? AND turn_id = ? AND role = ?'),
      // A late 'cancelled' never downgrades a complete reply; otherwise the newest word wins.
      upsertAssistant: db.prepare<[string, string, string, string, number, number, number], StoredMessage>(
        `INSERT INTO messages (session_id, turn_id, role, text, status, ts, pos, tokens)
         VALUES (?, ?, 'assistant', ?, ?, ?, ?, ?)
         ON CONFLICT (session_id, turn_id, role) DO UPDATE
           SET text = excluded.text, status = excluded.status, ts = excluded.ts, tokens = excluded.tokens
           WHERE messages.status <> 'complete'
         RETURNING *`,
      ),
      windowScan: db.prepare<[string, number], Row>(
        `SELECT id, role, text, author, source, chat, status, tokens, pos, turn_id FROM messages
         WHERE session_id = ? AND pos <= ? ORDER BY pos DESC, id DESC`,
      ),
      dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
      range: db.prepare<[string, number, number], StoredMessage>(
        'SELECT * FROM messages WHERE session_id = ? AND pos > ? AND pos <= ? ORDER BY pos, id',
      ),
      latestPos: db.prepare<[string], { pos: number | null }>('SELECT MAX(pos) AS pos FROM messages WHERE session_id = ?'),
      latestSummary: db.prepare<[string], Summary>(
        'SELECT session_id, text, upto_pos, tokens, method, ts FROM summaries WHERE session_id = ? ORDER BY id DESC LIMIT 1',
      ),
      insertSummary: db.prepare<[string, string, number, number, string, number]>(
        'INSERT INTO summaries (session_id, text, upto_pos, tokens, method, ts) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      trimSummaries: db.prepare<[string, string]>(
        'DELETE FROM summaries WHERE session_id = ? AND id NOT IN (SELECT id FROM summaries WHERE session_id = ? ORDER BY id DESC LIMIT 3)',
      ),
      count: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM messages WHERE session_id = ?'),
    };
    this.dataVersion = this.st.dataVersion.get()!;
  }

  /** Sizes the in-memory tail for windows of up to `tokens` (default 8000). */
  setCacheTokens(tokens: number): void {
    this.keepTokens = Math.max(tokens, 200);
    this.tails.clear();
  }

  /** Drops every cached tail when another connection committed to the file since we last looked. */
  private checkExternalWrites(): void {
    const v = this.st.dataVersion.get()!;
    if (v !== this.dataVersion) {
      this.dataVersion = v;
      this.tails.clear();
    }
  }

  /** The session's cached tail, loading it from the database on first use. */
  private tail(session_id: string): Tail {
    let t = this.tails.get(session_id);
    if (t) {
      // Most recently used last (Map keeps insertion order).
      this.tails.delete(session_id);
      this.tails.set(session_id, t);
      return t;
    }
    const rows: Row[] = [];
    let tokens = 0;
    let complete = true;
    for (const row of this.st.windowScan.iterate(session_id, Infinity)) {
      if (tokens >= this.keepTokens) {
        complete = false;
        break;
      }
      rows.push(row);
      tokens += row.tokens + MESSAGE_OVERHEAD_TOKENS;
    }
    rows.reverse();
    t = { rows, tokens, complete };
    this.tails.set(session_id, t);
    if (this.tails.size > MAX_CACHED_SESSIONS) this.tails.delete(this.tails.keys().next().value!);
    return t;
  }

  /** Puts a written row into the session's tail (when cached), in (pos, id) order. */
  private cacheRow(session_id: string, row: Row): void {
    const t = this.tails.get(session_id);
    if (!t) return;
    const at = t.rows.findLastIndex((r) => r.id === row.id);
    if (at >= 0) {
      t.tokens += row.tokens - t.rows[at]!.tokens;
      t.rows[at] = row;
      return;
    }
    let i = t.rows.length;
    while (i > 0 && before(row, t.rows[i - 1]!)) i--;
    if (i === 0 && !t.complete) return; // older than the cached tail: not part of it
    t.rows.splice(i, 0, row);
    t.tokens += row.tokens + MESSAGE_OVERHEAD_TOKENS;
    while (t.rows.length > 1 && t.tokens - (t.rows[0]!.tokens + MESSAGE_OVERHEAD_TOKENS) >= this.keepTokens) {
      t.tokens -= t.rows.shift()!.tokens + MESSAGE_OVERHEAD_TOKENS;
      t.complete = false;
    }
  }

  /** Opens `<dataDir>/memory/memory.db`. */
  static open(dataDir: string, log: Pick<Logger, 'error' | 'warn' | 'info'>): MemoryStore {
    const { db, movedAside, salvage } = openDatabase(MemoryStore.file(dataDir), { migrations: MIGRATIONS, log });
    return new MemoryStore(db, movedAside, salvage);
  }

  static file(dataDir: string): string {
    return path.join(dataDir, 'memory', 'memory.db');
  }

  /**
   * Stores the user's message of a turn (idempotent: a redelivered turn keeps its first row).
   * `pos` orders the session's history: the turn's start time.
   */
  addUser(m: { session_id: string; turn_id: string; text: string; source?: string; author?: string; chat?: StoredChatMeta; ts: number; pos: number }): StoredMessage {
    this.checkExternalWrites();
    const chat = m.chat ? JSON.stringify(m.chat) : null;
    const row = this.st.insertUser.get(m.session_id, m.turn_id, m.text, m.source ?? null, m.author ?? null, chat, m.ts, m.pos, estimateTokens(m.text));
    if (!row) return this.st.byTurn.get(m.session_id, m.turn_id, 'user')!;
    this.cacheRow(m.session_id, row);
    return row;
  }

  /** Stores (or completes) the assistant's reply of a turn; placed right after the turn's user message. */
  addAssistant(m: { session_id: string; turn_id: string; text: string; status: 'complete' | 'cancelled'; ts: number }): void {
    const user = this.st.byTurn.get(m.session_id, m.turn_id, 'user');
    const pos = user ? user.pos + REPLY_POS_OFFSET : m.ts;
    this.checkExternalWrites();
    const row = this.st.upsertAssistant.get(m.session_id, m.turn_id, m.text, m.status, m.ts, pos, estimateTokens(m.text));
    if (row) this.cacheRow(m.session_id, row);
  }

  message(session_id: string, turn_id: string, role: MessageRole): StoredMessage | undefined {
    return this.st.byTurn.get(session_id, turn_id, role);
  }

  /**
   * The newest messages up to `uptoPos` that fit `budget` tokens, oldest first. The newest one (this
   * turn's user message) is always included, even alone over budget. Stops at the first message
   * that does not fit, so the window is a contiguous tail of the history. Empty texts (a reply
   * cancelled before its first word) are skipped.
   */
  window(session_id: string, uptoPos: number, budget: number): HistoryWindow {
    this.checkExternalWrites();
    const tail = this.tail(session_id);
    const w = this.fill(this.newestFirst(tail.rows, uptoPos), budget);
    // The cached tail ran out before the budget did and older history exists: read the file.
    if (w.firstLeftOutPos === undefined && !tail.complete) return this.fill(this.st.windowScan.iterate(session_id, uptoPos), budget);
    return w;
  }

  private *newestFirst(rows: Row[], uptoPos: number): Generator<Row> {
    for (let i = rows.length - 1; i >= 0; i--) if (rows[i]!.pos <= uptoPos) yield rows[i]!;
  }

  private fill(rows: Iterable<Row>, budget: number): HistoryWindow {
    const out: WindowMessage[] = [];
    let tokens = 0;
    let firstLeftOutPos: number | undefined;
    for (const row of rows) {
      if (row.text === '') continue;
      const content = renderContent(row);
      const t = row.author || row.source === 'chat' || row.status === 'cancelled' ? messageTokens(content) : row.tokens + messageTokens('');
      if (out.length > 0 && tokens + t > budget) {
        firstLeftOutPos = row.pos;
        break;
      }
      out.push({ role: row.role, content, tokens: t, pos: row.pos, turn_id: row.turn_id });
      tokens += t;
    }
    out.reverse();
    return { messages: out, tokens, firstLeftOutPos };
  }

  /** Messages with afterPos < pos <= uptoPos, oldest first. */
  range(session_id: string, afterPos: number, uptoPos: number): StoredMessage[] {
    return this.st.range.all(session_id, afterPos, uptoPos);
  }

  latestPos(session_id: string): number | undefined {
    return this.st.latestPos.get(session_id)?.pos ?? undefined;
  }

  latestSummary(session_id: string): Summary | undefined {
    return this.st.latestSummary.get(session_id);
  }

  /** Stores a new running summary (older ones beyond the last three are dropped). */
  saveSummary(s: Omit<Summary, 'tokens' | 'ts'>): Summary {
    const row: Summary = { ...s, tokens: estimateTokens(s.text), ts: Date.now() };
    this.db.transaction(() => {
      this.st.insertSummary.run(row.session_id, row.text, row.upto_pos, row.tokens, row.method, row.ts);
      this.st.trimSummaries.run(row.session_id, row.session_id);
    })();
    return row;
  }

  count(session_id: string): number {
    return this.st.count.get(session_id)?.n ?? 0;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
