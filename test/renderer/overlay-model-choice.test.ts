/**
 * Which model the overlay shows (src/renderer/overlay/model-choice.ts): ?model= or the studio's
 * selection from the gateway's list, the built-in shizuku when the gateway has no list, and the
 * query's scale/position over the saved transform; the list fetched and checked at the edge.
 */
import { describe, expect, it } from 'vitest';
import type { ModelInfo, ModelListResponse } from '../../src/shared/models.js';
import { BUILTIN_SHIZUKU, chooseModel, fetchModelList } from '../../src/renderer/overlay/model-choice.js';

const haru: ModelInfo = { ...BUILTIN_SHIZUKU, id: 'haru', name: 'Haru', url: '/live2d/models/haru/haru01.model.json', transform: { x: 0.1, y: -0.2, scale: 0.8 } };
const list: ModelListResponse = { models: [BUILTIN_SHIZUKU, haru], selected: 'haru' };

describe('chooseModel', () => {
  it('the selected model with its saved transform when nothing is asked for', () => {
    expect(chooseModel(list, {})).toEqual({ model: haru });
  });

  it('?model= wins; the query overrides the transform field by field', () => {
    expect(chooseModel(list, { model: 'shizuku', scale: 1.5 }).model).toEqual({ ...BUILTIN_SHIZUKU, transform: { x: 0, y: 0, scale: 1.5 } });
    expect(chooseModel(list, { x: 0.3 }).model.transform).toEqual({ x: 0.3, y: -0.2, scale: 0.8 });
  });

  it('an unknown ?model= falls back to the selection and says which ids exist', () => {
    expect(chooseModel(list, { model: 'nope' })).toEqual({ model: haru, problem: 'model=nope is not in the model list (shizuku, haru): showing the selected model' });
  });

  it('no list (an older gateway): the built-in shizuku', () => {
    expect(chooseModel(undefined, {}).model).toEqual(BUILTIN_SHIZUKU);
  });
});

describe('fetchModelList', () => {
  const answer = (status: number, body: unknown) => (async () => new Response(JSON.stringify(body), { status })) as unknown as typeof fetch;

  it('parses the list, and treats 404 or an empty list as none', async () => {
    await expect(fetchModelList(answer(200, list))).resolves.toEqual(list);
    await expect(fetchModelList(answer(404, { error: 'not found' }))).resolves.toBeUndefined();
    await expect(fetchModelList(answer(200, { models: [], selected: '' }))).resolves.toBeUndefined();
  });

  it('sends the token when the page has one', async () => {
    const seen: (string | null)[] = [];
    const spy = (async (_url: string, init: RequestInit) => {
      seen.push(new Headers(init.headers).get('authorization'));
      return new Response(JSON.stringify(list));
    }) as unknown as typeof fetch;
    await fetchModelList(spy);
    await fetchModelList(spy, 'tok');
    expect(seen).toEqual([null, 'Bearer tok']);
  });

  it('an error status or a wrong shape is an error naming the endpoint', async () => {
    await expect(fetchModelList(answer(500, {}))).rejects.toThrow('GET /api/models answered 500');
    await expect(fetchModelList(answer(200, { models: 'x' }))).rejects.toThrow('GET /api/models answered an unexpected shape');
  });
});

describe('chooseModel fallback', () => {
  it("no list: the avatar module's built-in model when it gives one", () => {
    const mapped: ModelInfo = { ...BUILTIN_SHIZUKU, emotionMap: { joy: { expression: 'f04' } } };
    expect(chooseModel(undefined, { scale: 2 }, mapped).model).toEqual({ ...mapped, transform: { x: 0, y: 0, scale: 2 } });
  });
});
