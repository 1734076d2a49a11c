/** createEmbedder: the engine the settings resolve to, nothing loaded until ready(). */
import { describe, expect, it } from 'vitest';
import { ConfigSchema, resolveEmbedder } from '../../../../src/shared/config.js';
import { createEmbedder } from '../../../../src/workers/long-term-memory/embedders/index.js';
import { OnnxEmbedder } from '../../../../src/workers/long-term-memory/embedders/onnx.js';
import { OpenAiEmbedder } from '../../../../src/workers/long-term-memory/embedders/openai.js';
import { UseLiteEmbedder } from '../../../../src/workers/long-term-memory/embedders/use-lite.js';

const deps = { dataDir: '/nonexistent', log: { info: () => undefined, warn: () => undefined, debug: () => undefined } };
const embedder = (memory: Record<string, unknown>) => createEmbedder(resolveEmbedder(ConfigSchema.parse({ dataDir: '/tmp/x', memory })), deps);

describe('createEmbedder', () => {
  it('makes the engine the settings name, and none for off', async () => {
    expect(embedder({ embedder: { engine: 'off' } })).toBeUndefined();
    const lite = embedder({});
    expect(lite).toBeInstanceOf(UseLiteEmbedder);
    const onnx = embedder({ embedder: { engine: 'onnx', onnxModel: 'multilingual-e5-small' } });
    expect(onnx).toBeInstanceOf(OnnxEmbedder);
    expect(onnx!.id).toBe('onnx:multilingual-e5-small:0');
    const openai = embedder({ embedder: { engine: 'openai', model: 'bge-m3', baseUrl: 'http://127.0.0.1:11434/v1' } });
    expect(openai).toBeInstanceOf(OpenAiEmbedder);
    expect(openai!.id).toBe('openai:bge-m3:0');
    // Created, not loaded: no thread started, no model read until ready().
    expect(lite!.dim).toBe(0);
    expect((lite as UseLiteEmbedder).threadStarts).toBe(0);
    for (const e of [lite, onnx, openai]) await e!.close();
  });

  it('still reads the legacy memory.embeddingModel as the OpenAI-compatible engine', () => {
    expect(embedder({ embeddingModel: 'nomic-embed-text' })).toBeInstanceOf(OpenAiEmbedder);
  });
});
