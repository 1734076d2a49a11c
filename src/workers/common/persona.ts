/**
 * The persona a previous switch left on the bus (ACTIVE_PERSONA_KEY, a PersonaNotice as JSON), for
 * the services that follow it: chat-ai speaks as it, memory and long-term-memory keep memories per
 * persona. Undefined when no switch was made (the configured `persona.name` is in use); an
 * unreadable value is logged and ignored the same way.
 */
import type { Redis } from 'ioredis';
import { ACTIVE_PERSONA_KEY, PersonaNotice } from '../../shared/bus.js';
import type { Logger } from '../runtime/index.js';

export async function readActivePersona(redis: Pick<Redis, 'get'>, log: Pick<Logger, 'warn'>): Promise<PersonaNotice | undefined> {
  const raw = await redis.get(ACTIVE_PERSONA_KEY);
  if (!raw) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = undefined;
  }
  const p = PersonaNotice.safeParse(value);
  if (p.success) return p.data;
  log.warn({ key: ACTIVE_PERSONA_KEY }, 'unreadable persona on the bus: using the configured one');
  return undefined;
}
