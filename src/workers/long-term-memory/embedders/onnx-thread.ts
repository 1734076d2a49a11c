/**
 * One ONNX sentence model in a worker thread. onnxruntime-node's `InferenceSession.run` (and the
 * model load) compute on the calling JS thread (the promise only defers the call by a
 * setImmediate; intra-op threads speed it up but the caller waits), so a batch would stall the
 * service's recalls and bus traffic for its whole duration; here it runs beside them.
 *
 * The thread loads the graph from its path, takes padded token ids + mask (transferred), feeds the
 * inputs the graph declares (input_ids, attention_mask, token_type_ids of zeros), and answers with
 * the output (last_hidden_state, or the first output) as a flat Float32Array and its dims. Pooling
 * stays with the caller. A thread that dies rejects what it was running; `OnnxThread.start` makes
 * a new one.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** The thread's code (CommonJS, evaluated: runs the same from sources and bundles). */
const THREAD_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
let session;
let ort;
const fail = (id, e) => parentPort.postMessage({ id, ok: false, error: String((e && e.message) || e) });
(async () => {
  try {
    ort = require(workerData.ort);
    session = await ort.InferenceSession.create(workerData.model, {
      intraOpNumThreads: workerData.threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
    });
    parentPort.postMessage({ id: 0, ok: true, inputNames: session.inputNames, outputNames: session.outputNames });
  } catch (e) {
    fail(0, e);
  }
})();
parentPort.on('message', async (m) => {
  try {
    const feeds = {};
    const shape = [m.n, m.len];
    for (const name of session.inputNames) {
      if (name === 'input_ids') feeds[name] = new ort.Tensor('int64', m.ids, shape);
      else if (name === 'attention_mask') feeds[name] = new ort.Tensor('int64', m.mask, shape);
      else if (name === 'token_type_ids') feeds[name] = new ort.Tensor('int64', new BigInt64Array(m.n * m.len), shape);
      else throw new Error('the graph wants an input "' + name + '" this embedder does not know');
    }
    const name = session.outputNames.includes('last_hidden_state') ? 'last_hidden_state' : session.outputNames[0];
    const out = (await session.run(feeds))[name];
    const data = Float32Array.from(out.data);
    parentPort.postMessage({ id: m.id, ok: true, data, dims: out.dims.map(Number) }, [data.buffer]);
  } catch (e) {
    fail(m.id, e);
  }
});
`;

interface Reply {
  id: number;
  ok: boolean;
  error?: string;
  inputNames?: string[];
  outputNames?: string[];
  data?: Float32Array;
  dims?: number[];
}

export interface GraphOutput {
  data: Float32Array;
  dims: number[];
}

export class OnnxThread {
  private readonly waiting = new Map<number, { resolve(r: Reply): void; reject(e: Error): void }>();
  private nextId = 1;
  private dead: Error | undefined;

  private constructor(
    private readonly worker: Worker,
    readonly inputNames: string[],
  ) {}

  /** Loads `modelPath` in a new thread; rejects with onnxruntime's message when it cannot. */
  static async start(modelPath: string, threads: number): Promise<OnnxThread> {
    const ort = createRequire(import.meta.url).resolve('onnxruntime-node');
    const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { ort, model: modelPath, threads }, stdout: false, stderr: false });
    worker.unref();
    const first = new Promise<Reply>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the onnx thread exited (code ${code})`)));
    });
    let hello: Reply;
    try {
      hello = await first;
    } catch (e) {
      await worker.terminate();
      throw e;
    }
    if (!hello.ok) {
      await worker.terminate();
      throw new Error(hello.error ?? 'the model did not load');
    }
    const t = new OnnxThread(worker, hello.inputNames ?? []);
    worker.on('message', (r: Reply) => {
      const w = t.waiting.get(r.id);
      t.waiting.delete(r.id);
      w?.resolve(r);
    });
    const die = (e: Error) => {
      t.dead ??= e;
      for (const w of t.waiting.values()) w.reject(e);
      t.waiting.clear();
    };
    worker.on('error', (e) => die(new Error(`the onnx thread failed: ${e.message}`)));
    worker.on('exit', (code) => die(new Error(`the onnx thread exited (code ${code})`)));
    return t;
  }

  get alive(): boolean {
    return this.dead === undefined;
  }

  /** One padded batch (`ids` and `mask` are [n, len], row-major; both are transferred). */
  async run(ids: BigInt64Array, mask: BigInt64Array, n: number, len: number): Promise<GraphOutput> {
    if (this.dead) throw this.dead;
    const id = this.nextId++;
    const r = await new Promise<Reply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, ids, mask, n, len }, [ids.buffer as ArrayBuffer, mask.buffer as ArrayBuffer]);
    });
    if (!r.ok || !r.data || !r.dims) throw new Error(r.error ?? 'no output');
    return { data: r.data, dims: r.dims };
  }

  /** For tests: ends the thread as a crash would. */
  async kill(): Promise<void> {
    await this.close();
  }

  async close(): Promise<void> {
    const e = new Error('the onnx thread was closed');
    this.dead ??= e;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
    await this.worker.terminate();
  }
}
