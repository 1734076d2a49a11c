/**
 * `npm run bench:memory`: the long-term memory store (store/memory-store.ts) at 1k, 10k and 100k
 * memories, and the paraphrase hit rate of each embedding engine.
 *
 *   - insert throughput: in transactions of 500 (as an import writes), and the time of one `add` in
 *     its own transaction (as the service writes a memory after a turn), at each size;
 *   - recall p50/p95 for hybrid, vector-only and keyword-only, EXCLUDING the query's embedding,
 *     which is measured on its own per engine (USE-lite here, in-process; keyword needs none);
 *   - database size per memory (after a WAL checkpoint);
 *   - top-3 hit rate on the labelled paraphrase set (scripts/lib/paraphrase-set.ts), English and
 *     Chinese apart, per engine: keyword-only, USE-lite (hybrid through the store, and vector only),
 *     ONNX and OpenAI-compatible where available.
 *
 * Vectors, honestly: USE-lite takes ~11-40 ms a text here, so embedding 100k memories would take
 * over an hour. `--real` distinct English memories (default 2000) are embedded for real; every other
 * English memory gets the vector of a real-embedded memory of the SAME template plus seeded
 * Gaussian noise (cosine ~0.85 to it), normalised — so the vectors cluster by topic as real ones do,
 * and the KNN scan does the same work. Chinese memories get no vector (USE-lite is English-only) and
 * are found by keywords, as in the app. Query vectors are all real.
 *
 * Flags: --sizes=1000,10000,100000 --queries=200 --real=2000 --seed=11 --quick (1k and 10k, 500 real).
 * ONNX: set BENCH_ONNX_DATA_DIR (a data dir holding, or allowed to download, the model; BENCH_ONNX_MODEL
 * to pick one). OpenAI-compatible: set BENCH_OPENAI_BASE_URL (+ BENCH_OPENAI_MODEL, BENCH_OPENAI_API_KEY).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigSchema, resolveEmbedder } from '../src/shared/config.js';
import { recallScope } from '../src/shared/long-term.js';
import { createEmbedder } from '../src/workers/long-term-memory/embedders/index.js';
import type { Embedder } from '../src/workers/long-term-memory/embedders/types.js';
import { UseLiteEmbedder } from '../src/workers/long-term-memory/embedders/use-lite.js';
import { MemoryStore } from '../src/workers/long-term-memory/store/memory-store.js';
import type { SearchQuery } from '../src/workers/long-term-memory/store/types.js';
import { synthMemory, type SynthMemory } from './lib/memory-corpus.js';
import { paraphraseCorpus, topKHitRate, type ParaphraseLang } from './lib/paraphrase-set.js';
import { prng } from './lib/prng.js';

const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };
const arg = (name: string, dflt: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const quick = process.argv.includes('--quick');
const SIZES = arg('sizes', quick ? '1000,10000' : '1000,10000,100000').split(',').map(Number);
const QUERIES = Number(arg('queries', '200'));
const REAL = Number(arg('real', quick ? '500' : '2000'));
const SEED = Number(arg('seed', '11'));
const NOW = Date.UTC(2026, 0, 1);
/** Memories added one by one (own transaction each) at the end of each size step. */
const SINGLE_ADDS = 300;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const ms = (x: number) => (Number.isNaN(x) ? '   -  ' : x.toFixed(2).padStart(6));

function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

function normalise(v: Float32Array): Float32Array {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

async function embedAll(e: Embedder, texts: string[], purpose: 'query' | 'document'): Promise<Array<Float32Array | undefined>> {
  const out: Array<Float32Array | undefined> = [];
  for (let i = 0; i < texts.length; i += 16) out.push(...(await e.embed(texts.slice(i, i + 16), { purpose })));
  return out;
}

async function main(): Promise<void> {
  console.log(`bench:memory  sizes ${SIZES.join(', ')}  queries ${QUERIES}  real-embedded ${REAL}  seed ${SEED}  node ${process.version}`);
  const useLite = new UseLiteEmbedder({ thread: false });
  let t = performance.now();
  await useLite.ready();
  console.log(`USE-lite loaded in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // 1. Real vectors for the first REAL distinct English memories: the bases of the derived ones.
  const bases = new Map<string, Float32Array[]>();
  const realVec = new Map<string, Float32Array>();
  const realTexts: SynthMemory[] = [];
  for (let i = 0; realTexts.length < REAL && i < REAL * 20; i++) {
    const m = synthMemory(SEED, i);
    if (m.lang === 'en' && !realVec.has(m.text)) {
      realVec.set(m.text, new Float32Array(0));
      realTexts.push(m);
    }
  }
  t = performance.now();
  const realVectors = await embedAll(useLite, realTexts.map((m) => m.text), 'document');
  const perDoc = (performance.now() - t) / realTexts.length;
  realTexts.forEach((m, i) => {
    const v = realVectors[i]!;
    realVec.set(m.text, v);
    bases.set(m.template, [...(bases.get(m.template) ?? []), v]);
  });
  console.log(`embedded ${realTexts.length} memories for real: ${perDoc.toFixed(1)} ms a text (batches of 16); the rest derive from them (see the file comment)\n`);

  const vectorOf = (m: SynthMemory, i: number): Float32Array | undefined => {
    if (m.lang !== 'en') return undefined;
    const real = realVec.get(m.text);
    if (real && real.length > 0) return real;
    const r = prng(SEED * 7919 + i);
    const pool = bases.get(m.template)!;
    const base = pool[Math.floor(r() * pool.length)]!;
    const sigma = 0.6 / Math.sqrt(base.length);
    return normalise(base.map((x) => x + sigma * gaussian(r)));
  };

  // 2. Queries about memories among the first 1000 (present at every size), embedded for real.
  const qr = prng(SEED + 1);
  const queries: Array<{ text: string; target: SynthMemory; targetIndex: number; vec?: Float32Array; embedMs: number }> = [];
  const seenQ = new Set<string>();
  while (queries.length < QUERIES && seenQ.size < 5000) {
    const idx = Math.floor(qr() * Math.min(1000, SIZES[0]!));
    const target = synthMemory(SEED, idx);
    if (target.persona !== 'Mika' || seenQ.has(target.question)) continue;
    seenQ.add(target.question);
    queries.push({ text: target.question, target, targetIndex: idx, embedMs: 0 });
  }
  for (const q of queries) {
    const s = performance.now();
    q.vec = (await useLite.embed([q.text], { purpose: 'query' }))[0];
    q.embedMs = performance.now() - s;
  }
  const embedded = queries.filter((q) => q.vec);
  console.log(
    `query embedding, USE-lite in-process, one text a call: p50 ${ms(pct(embedded.map((q) => q.embedMs), 50))} ms  p95 ${ms(pct(embedded.map((q) => q.embedMs), 95))} ms` +
      `  (${queries.length - embedded.length} of ${queries.length} queries are Chinese: no vector, keyword path)`,
  );
  console.log('query embedding, keyword-only: none.  ONNX and OpenAI-compatible: see the paraphrase section (measured only when configured)\n');

  // 3. The store, grown to each size.
  const dir = mkdtempSync(path.join(tmpdir(), 'fav-bench-memory-'));
  const store = MemoryStore.open(dir, { log: quiet, defaultPersona: 'Mika' });
  const space = useLite.id;
  let count = 0;
  const rows: string[] = [];
  for (const size of SIZES) {
    const unembeddable: number[] = [];
    const addOne = () => {
      const m = synthMemory(SEED, count);
      const vec = vectorOf(m, count);
      const id = store.add(
        { persona: m.persona, subject: m.subject, subject_name: m.subject_name, kind: m.kind, text: m.text, importance: 0.5, pinned: false, at: NOW - (size - count) * 60_000 },
        vec ? { space, vec } : undefined,
      );
      if (!vec) unembeddable.push(id);
      count++;
    };
    // Most in transactions of 500 (as an import writes); the last SINGLE_ADDS one by one, each its
    // own transaction (as the service writes a memory after a turn).
    const s = performance.now();
    const bulkEnd = size - Math.min(SINGLE_ADDS, size - count);
    const bulk = store.db.transaction((n: number) => {
      for (let i = 0; i < n; i++) addOne();
    });
    while (count < bulkEnd) bulk(Math.min(500, bulkEnd - count));
    const bulkS = (performance.now() - s) / 1000;
    const bulkN = bulkEnd - (rows.length === 0 ? 0 : SIZES[rows.length - 1]!);
    const s1 = performance.now();
    const singles = size - count;
    while (count < size) addOne();
    const singleMs = (performance.now() - s1) / Math.max(1, singles);
    store.markUnembeddable(space, unembeddable);
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    const bytes = statSync(MemoryStore.file(dir)).size;

    const run = (mode: SearchQuery['mode']) => {
      const times: number[] = [];
      let hits = 0;
      let asked = 0;
      for (const q of queries) {
        if (mode === 'vector' && !q.vec) continue;
        const query: SearchQuery = {
          persona: 'Mika',
          subjects: recallScope(q.target.subject),
          text: q.text,
          vector: q.vec ? { space, vec: q.vec } : undefined,
          k: 5,
          mode,
          now: NOW,
        };
        const st = performance.now();
        const found = store.search(query);
        times.push(performance.now() - st);
        asked++;
        if (found.items.slice(0, 3).some((f) => f.text === q.target.text)) hits++;
      }
      return { p50: pct(times, 50), p95: pct(times, 95), hit3: asked ? hits / asked : NaN };
    };
    run('hybrid'); // warm the caches
    const h = run('hybrid');
    const v = run('vector');
    const k = run('keyword');
    rows.push(
      `${String(size).padStart(7)} | ${ms(h.p50)} ${ms(h.p95)} | ${ms(v.p50)} ${ms(v.p95)} | ${ms(k.p50)} ${ms(k.p95)} | ` +
        `${(bytes / size).toFixed(0).padStart(6)} B | ${bulkN > 0 ? (bulkN / bulkS).toFixed(0).padStart(6) : '     -'}/s ${singleMs.toFixed(2).padStart(6)} ms | ` +
        `${(h.hit3 * 100).toFixed(0)}% ${(v.hit3 * 100).toFixed(0)}% ${(k.hit3 * 100).toFixed(0)}%`,
    );
    console.log(`  ${size} memories: ${rows.at(-1)}`);
  }
  console.log('\nrecall, ms, EXCLUDING the query embedding (k = 5, scope = the asker + streamer/avatar/world, persona Mika)');
  console.log(' memories |  hybrid p50 p95 | vector p50 p95 | keyword p50 p95 | db/memory | insert: bulk, one add | synthetic top-3 (h/v/k)');
  for (const r of rows) console.log(` ${r}`);
  console.log('target: hybrid p95 <= 30 ms at 100k excluding the embedding; with it add the USE-lite query embedding above');
  store.close();
  rmSync(dir, { recursive: true, force: true });

  // 4. Paraphrase hit rate per engine.
  console.log('\nparaphrase top-3 hit rate (scripts/lib/paraphrase-set.ts; facts + distractors of the query language)');
  const engines: Array<{ name: string; embedder?: Embedder; missing?: string }> = [{ name: 'keyword-only' }, { name: 'use-lite', embedder: useLite }];
  // ONNX downloads its model on first use: measured only in a data dir the user names (where the
  // app keeps it, or where it may be downloaded), never fetched by surprise.
  const onnxDir = process.env.BENCH_ONNX_DATA_DIR;
  if (onnxDir) {
    try {
      const resolved = resolveEmbedder(ConfigSchema.parse({ dataDir: onnxDir, memory: { embedder: { engine: 'onnx', ...(process.env.BENCH_ONNX_MODEL ? { onnxModel: process.env.BENCH_ONNX_MODEL } : {}) } } }));
      const onnx = createEmbedder(resolved, { dataDir: onnxDir, log: quiet });
      await onnx!.ready();
      engines.push({ name: `onnx (${resolved.engine === 'onnx' ? resolved.model : '?'})`, embedder: onnx });
    } catch (e) {
      engines.push({ name: 'onnx', missing: (e as Error).message });
    }
  } else {
    engines.push({ name: 'onnx', missing: 'set BENCH_ONNX_DATA_DIR to a data dir that holds (or may download) the ONNX model to measure it' });
  }
  const base = process.env.BENCH_OPENAI_BASE_URL;
  if (base) {
    const oa = createEmbedder({ engine: 'openai', baseUrl: base, model: process.env.BENCH_OPENAI_MODEL ?? 'nomic-embed-text', apiKey: process.env.BENCH_OPENAI_API_KEY }, { dataDir: dir, log: quiet });
    try {
      await oa!.ready();
      engines.push({ name: `openai (${process.env.BENCH_OPENAI_MODEL ?? 'nomic-embed-text'})`, embedder: oa });
    } catch (e) {
      engines.push({ name: 'openai', missing: (e as Error).message });
    }
  } else {
    engines.push({ name: 'openai', missing: 'no OpenAI-compatible server here (set BENCH_OPENAI_BASE_URL to measure one)' });
  }
  for (const eng of engines) {
    if (eng.missing) {
      console.log(`  ${eng.name.padEnd(14)} not available here: ${eng.missing}`);
      continue;
    }
    for (const lang of ['en', 'zh'] as ParaphraseLang[]) {
      const pdir = mkdtempSync(path.join(tmpdir(), 'fav-bench-para-'));
      const ps = MemoryStore.open(pdir, { log: quiet, defaultPersona: 'Mika' });
      const corpus = paraphraseCorpus(lang);
      const vecs = eng.embedder ? await embedAll(eng.embedder, corpus.map((c) => c.text), 'document') : [];
      const idOf = new Map<number, string>();
      corpus.forEach((c, i) => {
        const v = vecs[i];
        const id = ps.add({ persona: 'Mika', subject: 'streamer', kind: 'fact', importance: 0.5, pinned: false, text: c.text, at: NOW }, v && eng.embedder ? { space: eng.embedder.id, vec: v } : undefined);
        idOf.set(id, c.id);
      });
      const modes: Array<SearchQuery['mode']> = eng.embedder ? ['hybrid', 'vector'] : ['keyword'];
      const parts: string[] = [];
      const embedTimes: number[] = [];
      for (const mode of modes) {
        const r = await topKHitRate(lang, 3, async (query) => {
          const st = performance.now();
          const qv = eng.embedder ? (await eng.embedder.embed([query], { purpose: 'query' }))[0] : undefined;
          if (eng.embedder) embedTimes.push(performance.now() - st);
          const found = ps.search({ persona: 'Mika', text: query, vector: qv && eng.embedder ? { space: eng.embedder.id, vec: qv } : undefined, k: 3, mode, now: NOW });
          return found.items.map((f) => idOf.get(f.id)!);
        });
        parts.push(`${mode} ${(r.rate * 100).toFixed(0)}% (${r.hits}/${r.total})`);
      }
      // The second mode asks the same queries again: a cached vector would time nothing.
      const firstPass = embedTimes.slice(0, embedTimes.length / modes.length);
      const embedNote = eng.embedder ? `   query embedding p50 ${ms(pct(firstPass, 50))} p95 ${ms(pct(firstPass, 95))} ms` : '';
      console.log(`  ${eng.name.padEnd(14)} ${lang}: ${parts.join('   ')}${embedNote}`);
      ps.close();
      rmSync(pdir, { recursive: true, force: true });
    }
  }
  for (const e of engines) if (e.embedder && e.embedder !== useLite) await e.embedder.close();
  await useLite.close();
}

await main();
