/**
 * The layering rule of eslint.config.js, exercised through the real ESLint Node API with the
 * project's own config: source text is linted as if it lived at a given path, and the test checks
 * that `no-restricted-imports` fires for every forbidden direction and stays quiet for allowed ones
 * (including a look-alike import that stays inside its own layer).
 */
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({ cwd: root });
});

/** Messages of the layering rule for `source` placed at `filePath` (relative to the repo root). */
async function layeringErrors(filePath: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${source}\nexport const _keep = 1;\n`, { filePath: `${root}${filePath}` });
  expect(result, `${filePath} was not linted (ignored?)`).toBeDefined();
  // A parse error would hide every rule: make sure the probe itself is valid.
  expect(result!.messages.filter((m) => m.fatal)).toEqual([]);
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

let probeCount = 0;
const importOf = (spec: string) => {
  const name = `_m${probeCount++}`;
  return `import * as ${name} from '${spec}';\nvoid ${name};`;
};

/** Path from a file at `depth` folders below src/<layer>/ back up to src/. */
const toSrc = (depth: number) => '../'.repeat(depth + 1);

const LAYERS = ['shared', 'main', 'workers', 'renderer'] as const;
const allowed = (from: string, to: string) => from === to || to === 'shared';

describe('layering: src layers', () => {
  for (const from of LAYERS) {
    for (const to of LAYERS) {
      for (const depth of [0, 1, 3]) {
        const file = `src/${from}/${'sub/'.repeat(depth)}probe.ts`;
        const spec = `${toSrc(depth)}${to}/thing.js`;
        const verdict = allowed(from, to) ? 'allows' : 'forbids';
        it(`${verdict} ${file} -> ${spec}`, async () => {
          const errors = await layeringErrors(file, importOf(spec));
          if (allowed(from, to)) expect(errors).toEqual([]);
          else expect(errors.join('\n')).toMatch(new RegExp(`src/${from} must not import`));
        });
      }
    }
  }

  it('forbids climbing to the repo root and back into another layer', async () => {
    const errors = await layeringErrors('src/main/bus/probe.ts', importOf('../../../src/workers/common/x.js'));
    expect(errors).toHaveLength(1);
  });

  it('forbids src layers importing electron/', async () => {
    const errors = await layeringErrors('src/main/probe.ts', importOf('../../electron/windows.js'));
    expect(errors.join('\n')).toMatch(/must not import electron\//);
  });

  it('does not confuse a same-named folder inside the layer with another layer', async () => {
    // src/main/supervisor/probe.ts -> src/main/workers/pool.ts stays inside src/main.
    expect(await layeringErrors('src/main/supervisor/probe.ts', importOf('../workers/pool.js'))).toEqual([]);
    // src/workers/asr/probe.ts -> src/workers/main.ts (a file called main) is inside src/workers.
    expect(await layeringErrors('src/workers/asr/probe.ts', importOf('../main.js'))).toEqual([]);
  });
});

describe('layering: the electron package', () => {
  for (const file of ['src/main/probe.ts', 'src/shared/probe.ts', 'src/workers/x/probe.ts', 'src/renderer/probe.ts', 'test/probe.test.ts', 'scripts/probe.ts']) {
    it(`forbids importing electron from ${file}`, async () => {
      for (const spec of ['electron', 'electron/main']) {
        const errors = await layeringErrors(file, importOf(spec));
        expect(errors.join('\n'), spec).toMatch(/Only electron\/ may import `electron`/);
      }
    });
  }

  it('allows electron/ to import electron, src/main and src/shared', async () => {
    const source = [importOf('electron'), importOf('../src/main/app.js'), importOf('../src/shared/renderer-api.js')].join('\n');
    expect(await layeringErrors('electron/main.ts', source)).toEqual([]);
  });

  it('forbids electron/ to import src/renderer or src/workers', async () => {
    expect(await layeringErrors('electron/main.ts', importOf('../src/renderer/main.js'))).toHaveLength(1);
    expect(await layeringErrors('electron/sub/x.ts', importOf('../../src/workers/main.js'))).toHaveLength(1);
  });
});

describe('the project itself', () => {
  it('has no layering violations in its current files', async () => {
    const results = await eslint.lintFiles(['src', 'electron', 'test']);
    const violations = results.flatMap((r) =>
      r.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => `${r.filePath}:${m.line} ${m.message}`),
    );
    expect(violations).toEqual([]);
  }, 180_000); // lints the whole tree: slow on a busy 2-core machine
});
