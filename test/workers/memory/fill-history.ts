/** Filling a short-term memory database for the damaged-file tests (the damage: test/workers/common/damaged-db.ts). */
import { MemoryStore } from '../../../src/workers/memory/store.js';

const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined };

/** `turns` user messages of session s1 in `<dir>/memory/memory.db`, the i-th at `now + i`. */
export function fillHistory(dir: string, turns: number, now: number): void {
  const store = MemoryStore.open(dir, quiet);
  for (let i = 0; i < turns; i++) {
    const text = `turn ${i}: ${'a fairly long line of what the viewer said, to fill the pages '.repeat(2)}`;
    store.addUser({ session_id: 's1', turn_id: `t${i}`, text, ts: now + i, pos: now + i });
  }
  store.close();
}
