/**
 * A small stand-in for the long-term-memory service's admin side, for the gateway and memory page
 * tests: it subscribes to fav:ltm:admin, validates each request with the contract's schema, keeps
 * memories in an array and answers on fav:ltm:admin:<request_id> as the real service would (search
 * by words in the text, newest first when the query is ''). It records the requests it got, and can
 * be told to answer a request with a failure or not at all.
 */
import { Redis } from 'ioredis';
import { LtmAdminRequest, LtmChannels, type LtmAdminReply, type LtmStatus, type MemoryRecord } from '../../../src/shared/long-term.js';

export const FAKE_PERSONA = 'Aria';

export class FakeLtm {
  memories: MemoryRecord[] = [];
  readonly requests: LtmAdminRequest[] = [];
  status: LtmStatus = { engine: 'use-lite:512', engine_state: 'ready', memories: 0, vectors: 0, extraction: 'llm' };
  /** Answer the next request of this op with this failure. */
  failNext: Partial<Record<LtmAdminRequest['op'], Pick<LtmAdminReply, 'code' | 'error' | 'fix'>>> = {};
  /** Requests of these ops are left unanswered. */
  readonly silent = new Set<LtmAdminRequest['op']>();
  private nextId = 1;

  private constructor(
    private readonly sub: Redis,
    private readonly pub: Redis,
  ) {}

  static async start(url: string): Promise<FakeLtm> {
    const sub = new Redis(url, { lazyConnect: true });
    const pub = new Redis(url, { lazyConnect: true });
    await Promise.all([sub.connect(), pub.connect()]);
    const f = new FakeLtm(sub, pub);
    sub.on('message', (_channel: string, raw: string) => void f.onRequest(raw));
    await sub.subscribe(LtmChannels.admin);
    return f;
  }

  /** Adds a memory directly (as extraction would have). */
  seed(m: Partial<MemoryRecord> & Pick<MemoryRecord, 'text'>): MemoryRecord {
    const now = Date.now();
    const r: MemoryRecord = {
      id: this.nextId++,
      persona: FAKE_PERSONA,
      subject: 'streamer',
      kind: 'fact',
      importance: 0.5,
      pinned: false,
      access_count: 0,
      created_at: now,
      updated_at: now,
      ...m,
    };
    r.effective_importance ??= r.importance;
    this.memories.push(r);
    return r;
  }

  private async onRequest(raw: string): Promise<void> {
    const parsed = LtmAdminRequest.safeParse(JSON.parse(raw));
    if (!parsed.success) return;
    const req = parsed.data;
    this.requests.push(req);
    if (this.silent.has(req.op)) return;
    const fail = this.failNext[req.op];
    let reply: Omit<LtmAdminReply, 'request_id'>;
    if (fail) {
      delete this.failNext[req.op];
      reply = { ok: false, ...fail };
    } else reply = this.answer(req);
    await this.pub.publish(LtmChannels.adminReply(req.request_id), JSON.stringify({ request_id: req.request_id, ...reply }));
  }

  private mine(persona: string | undefined): MemoryRecord[] {
    return this.memories.filter((m) => m.persona === (persona ?? FAKE_PERSONA));
  }

  private answer(req: LtmAdminRequest): Omit<LtmAdminReply, 'request_id'> {
    const newest = (a: MemoryRecord, b: MemoryRecord) => b.updated_at - a.updated_at || b.id - a.id;
    switch (req.op) {
      case 'status':
        return { ok: true, status: { ...this.status, memories: this.memories.length } };
      case 'search': {
        const words = req.query.toLowerCase().split(/\s+/).filter(Boolean);
        const hits = this.mine(req.persona)
          .filter((m) => !req.subject || m.subject === req.subject)
          .filter((m) => words.length === 0 || words.some((w) => m.text.toLowerCase().includes(w)))
          .sort(newest)
          .slice(0, req.limit);
        return { ok: true, memories: hits, mode: 'keyword', total: hits.length };
      }
      case 'list': {
        const all = this.mine(req.persona)
          .filter((m) => !req.subject || m.subject === req.subject)
          .sort(newest);
        return { ok: true, memories: all.slice(req.offset, req.offset + req.limit), total: all.length };
      }
      case 'subjects': {
        const counts = new Map<string, { subject: string; subject_name?: string; count: number }>();
        for (const m of this.mine(req.persona)) {
          const c = counts.get(m.subject) ?? { subject: m.subject, ...(m.subject_name ? { subject_name: m.subject_name } : {}), count: 0 };
          c.count++;
          counts.set(m.subject, c);
        }
        return { ok: true, subjects: [...counts.values()] };
      }
      case 'add':
        return { ok: true, memory: this.seed({ ...req.memory, persona: req.persona ?? FAKE_PERSONA }) };
      case 'update': {
        const m = this.memories.find((x) => x.id === req.id);
        if (!m) return { ok: false, code: 'not_found', error: `no memory ${req.id}`, fix: 'reload the list: it was deleted' };
        Object.assign(m, req.patch, { updated_at: Date.now() });
        if (req.patch.importance !== undefined) m.effective_importance = req.patch.importance;
        return { ok: true, memory: m };
      }
      case 'delete': {
        const before = this.memories.length;
        this.memories = this.memories.filter((x) => x.id !== req.id);
        return { ok: true, changed: before - this.memories.length };
      }
      case 'forget': {
        const persona = req.persona ?? FAKE_PERSONA;
        const before = this.memories.length;
        this.memories = this.memories.filter((x) => !(x.persona === persona && x.subject === req.subject));
        return { ok: true, changed: before - this.memories.length };
      }
      case 'export': {
        const rows = (req.persona ? this.mine(req.persona) : this.memories).map(({ id: _id, effective_importance: _e, has_vector: _v, ...rest }) => rest);
        return { ok: true, export: { format: 'fav-memories', version: 1, exported_at: Date.now(), memories: rows } };
      }
      case 'import': {
        if (req.mode === 'replace') {
          const personas = new Set(req.data.memories.map((m) => m.persona));
          this.memories = this.memories.filter((m) => !personas.has(m.persona));
        }
        let added = 0;
        for (const m of req.data.memories) {
          if (this.memories.some((x) => x.persona === m.persona && x.text === m.text)) continue;
          this.seed(m);
          added++;
        }
        return { ok: true, changed: added };
      }
    }
  }

  async close(): Promise<void> {
    this.sub.disconnect();
    this.pub.disconnect();
  }
}
