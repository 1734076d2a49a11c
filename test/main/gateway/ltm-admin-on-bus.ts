/**
 * The long-term-memory service's REAL admin handler (src/workers/long-term-memory/admin.ts) over a
 * real SQLite store in a temp data dir, answering fav:ltm:admin on a real bus the way the service
 * does (reply on fav:ltm:admin:<request_id>), with the real on-device embedder (USE-lite) so that a
 * search runs the same hybrid query a reply's recall uses. For the memory page test: everything the
 * page does goes through the gateway, the bus, the handler and the store. It records the requests,
 * and lets a test lay fields over the status (e.g. a download in progress).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { LtmAdminRequest, LtmChannels, type LtmStatus } from '../../../src/shared/long-term.js';
import { handleAdmin, type AdminDeps } from '../../../src/workers/long-term-memory/admin.js';
import { UseLiteEmbedder } from '../../../src/workers/long-term-memory/embedders/use-lite.js';
import { MemoryStore } from '../../../src/workers/long-term-memory/store/memory-store.js';

const quiet = { error: () => {}, warn: () => {}, info: () => {} };

export class LtmAdminOnBus {
  readonly requests: LtmAdminRequest[] = [];

  private constructor(
    private readonly over: { status: Partial<LtmStatus> },
    readonly store: MemoryStore,
    readonly embedder: UseLiteEmbedder,
    readonly deps: AdminDeps,
    private readonly sub: Redis,
    private readonly pub: Redis,
    private readonly dir: string,
  ) {}

  static async start(url: string, persona = 'Aria'): Promise<LtmAdminOnBus> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fav-ltm-admin-'));
    const store = MemoryStore.open(dir, { log: quiet, defaultPersona: persona });
    const embedder = new UseLiteEmbedder();
    await embedder.ready();
    store.activeSpace = embedder.id;
    const sub = new Redis(url, { lazyConnect: true });
    const pub = new Redis(url, { lazyConnect: true });
    await Promise.all([sub.connect(), pub.connect()]);
    const over = { status: {} as Partial<LtmStatus> };
    const deps: AdminDeps = {
      store,
      embedder,
      activePersona: () => persona,
      status: () => ({
        engine: embedder.id,
        ...embedder.state(),
        memories: store.size(),
        vectors: store.vectorCount(embedder.id),
        extraction: 'rules',
        ...over.status,
      }),
    };
    const self = new LtmAdminOnBus(over, store, embedder, deps, sub, pub, dir);
    sub.on('message', (_channel: string, raw: string) => void self.onRequest(raw));
    await sub.subscribe(LtmChannels.admin);
    return self;
  }

  /** Laid over the status the handler answers. */
  set statusOver(fields: Partial<LtmStatus>) {
    this.over.status = fields;
  }

  /** Asks the handler directly (seeding), as a request from the gateway would. */
  ask(r: Record<string, unknown>) {
    return handleAdmin(LtmAdminRequest.parse({ request_id: `seed-${Date.now()}`, ts: Date.now(), ...r }), this.deps);
  }

  private async onRequest(raw: string): Promise<void> {
    const parsed = LtmAdminRequest.safeParse(JSON.parse(raw));
    if (!parsed.success) return;
    this.requests.push(parsed.data);
    const reply = await handleAdmin(parsed.data, this.deps);
    await this.pub.publish(LtmChannels.adminReply(parsed.data.request_id), JSON.stringify({ request_id: parsed.data.request_id, ...reply }));
  }

  /** Stops answering (as if the service stopped); the store stays open for reading. */
  async stopAnswering(): Promise<void> {
    await this.sub.unsubscribe(LtmChannels.admin);
  }

  async close(): Promise<void> {
    this.sub.disconnect();
    this.pub.disconnect();
    await this.embedder.close();
    this.store.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
