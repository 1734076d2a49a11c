/**
 * A small in-memory MemoryStoreApi for the fact pipeline's tests, until the real store (store/
 * memory-store.ts) is on this branch: what the pipeline uses (add, update, delete, get, list,
 * search, touch) behaves as the interface says; search ranks by shared terms (text.ts, as FTS5 would
 * match them) and, given a query vector of the same space, by cosine, within persona and subjects.
 * Everything else throws, so a test that leans on it fails loudly instead of passing on a stub.
 */
import type { MemoryRecord } from '../../../../src/shared/long-term.js';
import type { AddMemory, MemoryStoreApi, SearchQuery, SearchResult, Vector } from '../../../../src/workers/long-term-memory/store/types.js';
import { termSet } from '../../../../src/workers/long-term-memory/text.js';

interface Row {
  m: MemoryRecord;
  vectors: Map<string, Float32Array>;
}

export class FakeStore implements MemoryStoreApi {
  readonly rows = new Map<number, Row>();
  /** Every search the pipeline made, as asked. */
  readonly searches: SearchQuery[] = [];
  private seq = 0;

  add(m: AddMemory, vector?: Vector): number {
    const id = ++this.seq;
    const at = m.at ?? Date.now();
    const rec: MemoryRecord = {
      id,
      persona: m.persona,
      subject: m.subject,
      ...(m.subject_name ? { subject_name: m.subject_name } : {}),
      kind: m.kind,
      text: m.text,
      importance: m.importance,
      pinned: m.pinned,
      access_count: 0,
      created_at: at,
      updated_at: at,
      ...(m.source_session ? { source_session: m.source_session } : {}),
      ...(m.source_turn ? { source_turn: m.source_turn } : {}),
    };
    this.rows.set(id, { m: rec, vectors: new Map(vector ? [[vector.space, vector.vec]] : []) });
    return id;
  }

  update(id: number, patch: Parameters<MemoryStoreApi['update']>[1], vector?: Vector, at = Date.now()): MemoryRecord | undefined {
    const row = this.rows.get(id);
    if (!row) return undefined;
    const textChanged = patch.text !== undefined && patch.text !== row.m.text;
    row.m = { ...row.m, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)), updated_at: at };
    // A new text makes the old vectors wrong: they go, and the given one (if any) comes in.
    if (textChanged) row.vectors.clear();
    if (vector) row.vectors.set(vector.space, vector.vec);
    return { ...row.m };
  }

  delete(id: number): boolean {
    return this.rows.delete(id);
  }

  get(id: number): MemoryRecord | undefined {
    const row = this.rows.get(id);
    return row ? { ...row.m } : undefined;
  }

  list(q: { persona?: string; subject?: string }): { memories: MemoryRecord[]; total: number } {
    const memories = [...this.rows.values()].map((r) => ({ ...r.m })).filter((m) => (!q.persona || m.persona === q.persona) && (!q.subject || m.subject === q.subject));
    return { memories, total: memories.length };
  }

  search(q: SearchQuery): SearchResult {
    this.searches.push(q);
    const qt = termSet(q.text);
    const scored: Array<{ row: Row; score: number }> = [];
    for (const row of this.rows.values()) {
      if (row.m.persona !== q.persona || (q.subjects && !q.subjects.includes(row.m.subject))) continue;
      const terms = termSet(row.m.text);
      let shared = 0;
      for (const t of qt) if (terms.has(t)) shared++;
      const v = q.vector && row.vectors.get(q.vector.space);
      const cos = v && q.vector ? v.reduce((s, x, i) => s + x * q.vector!.vec[i]!, 0) : 0;
      const score = Math.max(shared / Math.max(qt.size, 1), cos);
      if (score > 0) scored.push({ row, score });
    }
    scored.sort((a, b) => b.score - a.score);
    return {
      items: scored.slice(0, q.k).map(({ row, score }) => ({
        id: row.m.id,
        text: row.m.text,
        subject: row.m.subject,
        kind: row.m.kind,
        score,
        updated_at: row.m.updated_at,
        importance: row.m.importance,
        pinned: row.m.pinned,
      })),
      mode: q.vector ? 'vector' : 'keyword',
    };
  }

  touch(ids: readonly number[], at = Date.now()): void {
    for (const id of ids) {
      const row = this.rows.get(id);
      if (row) row.m = { ...row.m, access_count: row.m.access_count + 1, last_accessed_at: at };
    }
  }

  /** The vector spaces a memory has a vector in (for the tests). */
  spaces(id: number): string[] {
    return [...(this.rows.get(id)?.vectors.keys() ?? [])];
  }

  missingVectors(): never {
    throw new Error('FakeStore: missingVectors is not faked');
  }
  setVectors(): never {
    throw new Error('FakeStore: setVectors is not faked');
  }
  markUnembeddable(): never {
    throw new Error('FakeStore: markUnembeddable is not faked');
  }
  vectorCount(): never {
    throw new Error('FakeStore: vectorCount is not faked');
  }
  dropOtherSpaces(): never {
    throw new Error('FakeStore: dropOtherSpaces is not faked');
  }
  forgetSubject(): never {
    throw new Error('FakeStore: forgetSubject is not faked');
  }
  subjects(): never {
    throw new Error('FakeStore: subjects is not faked');
  }
  exportAll(): never {
    throw new Error('FakeStore: exportAll is not faked');
  }
  importAll(): never {
    throw new Error('FakeStore: importAll is not faked');
  }
  size(persona?: string): number {
    return [...this.rows.values()].filter((r) => !persona || r.m.persona === persona).length;
  }
  close(): void {
    this.rows.clear();
  }
}
