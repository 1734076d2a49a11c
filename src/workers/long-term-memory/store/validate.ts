/**
 * What the memory store accepts: checks that name what is wrong, for the admin's bad_request reply
 * and the fact pipeline's log.
 */
import { MEMORY_TEXT_MAX, MemoryKind, Subject } from '../../../shared/long-term.js';

/** Bad input to the store (empty text, unknown subject...): the message says what is wrong. */
export class MemoryInputError extends Error {
  override readonly name = 'MemoryInputError';
}

export function checkText(text: string): string {
  const t = text.trim();
  if (t === '') throw new MemoryInputError('a memory needs some text');
  if (t.length > MEMORY_TEXT_MAX) throw new MemoryInputError(`a memory is at most ${MEMORY_TEXT_MAX} characters (this one has ${t.length}); shorten it`);
  return t;
}

export function checkSubject(subject: string): string {
  const r = Subject.safeParse(subject);
  if (!r.success) throw new MemoryInputError(`unknown subject "${subject}": ${r.error.issues[0]?.message ?? 'invalid'}`);
  return subject;
}

export function checkImportance(x: number): number {
  if (!(x >= 0 && x <= 1)) throw new MemoryInputError(`importance is between 0 and 1 (got ${x})`);
  return x;
}

export function checkKind(kind: string): MemoryKind {
  const r = MemoryKind.safeParse(kind);
  if (!r.success) throw new MemoryInputError(`unknown kind "${kind}"`);
  return r.data;
}
