/**
 * How full the bus is, for the manager: every queue and stream the contract declares
 * (src/shared/contract.ts). A queue: LLEN of the queue, of the processing lists of the instances
 * that consume it (SMEMBERS of its consumers set) and of its dead-letter list. A stream: XLEN, and
 * the entries each consuming service's group has not acknowledged (the XPENDING summary).
 * One pipeline per step: a few round trips whatever the number of queues.
 */
import type { Redis } from 'ioredis';
import { consumersKey, deadLetterList, processingList, streamGroup } from '../../shared/bus.js';
import { Bus, type Topic } from '../../shared/contract.js';
import type { BusLength } from '../../shared/manager-api.js';

export type BusReader = Pick<Redis, 'pipeline'>;

interface Declared {
  name: string;
  kind: 'queue' | 'stream';
  consumers: string[];
}

/** The queues and streams of the contract, in table order. */
export function declaredQueuesAndStreams(): Declared[] {
  return Object.values(Bus as Record<string, Topic>)
    .filter((t) => t.kind === 'queue' || t.kind === 'stream')
    .map((t) => ({ name: t.name, kind: t.kind as 'queue' | 'stream', consumers: [...t.consumers] }));
}

type Results = Array<[Error | null, unknown]> | null;

function value(results: Results, i: number): unknown {
  const r = results?.[i];
  if (!r) throw new Error('the bus answered fewer replies than asked');
  if (r[0]) throw r[0];
  return r[1];
}

/** The XPENDING summary's count, or undefined when the group does not exist yet (NOGROUP). */
function pendingCount(results: Results, i: number): number | undefined {
  const r = results?.[i];
  if (!r || r[0]) return undefined;
  const summary = r[1] as [number | string, ...unknown[]] | null;
  return summary ? Number(summary[0]) : undefined;
}

export async function readBusLengths(redis: BusReader): Promise<BusLength[]> {
  const declared = declaredQueuesAndStreams();
  const queues = declared.filter((d) => d.kind === 'queue');
  const streams = declared.filter((d) => d.kind === 'stream');

  // 1. Lengths, dead letters, consumer sets, stream lengths and pending counts.
  const first = redis.pipeline();
  for (const q of queues) first.llen(q.name).llen(deadLetterList(q.name)).smembers(consumersKey(q.name));
  for (const s of streams) {
    first.xlen(s.name);
    for (const svc of s.consumers) first.xpending(s.name, streamGroup(svc));
  }
  const r1 = (await first.exec()) as Results;

  let i = 0;
  const out: BusLength[] = [];
  const instances: string[][] = [];
  for (const q of queues) {
    const length = Number(value(r1, i++));
    const dead = Number(value(r1, i++));
    const ids = (value(r1, i++) as string[]).slice().sort();
    instances.push(ids);
    out.push({ name: q.name, kind: 'queue', length, dead, processing: 0, consumers: q.consumers });
  }
  for (const s of streams) {
    const length = Number(value(r1, i++));
    let pending: number | undefined;
    for (let k = 0; k < s.consumers.length; k++) {
      const n = pendingCount(r1, i++);
      if (n !== undefined) pending = (pending ?? 0) + n;
    }
    out.push({ name: s.name, kind: 'stream', length, ...(pending !== undefined ? { pending } : {}), consumers: s.consumers });
  }

  // 2. The processing lists of every instance known to consume each queue.
  if (instances.every((ids) => ids.length === 0)) return out;
  const second = redis.pipeline();
  queues.forEach((q, qi) => {
    for (const id of instances[qi]!) second.llen(processingList(q.name, id));
  });
  const r2 = (await second.exec()) as Results;
  let j = 0;
  queues.forEach((_q, qi) => {
    let processing = 0;
    for (let k = 0; k < instances[qi]!.length; k++) processing += Number(value(r2, j++));
    out[qi]!.processing = processing;
  });
  return out;
}
