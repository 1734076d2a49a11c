/**
 * The Bus section's check: connect to a Redis URL once, PING it, and say why it failed. A URL must
 * pass this before the app may be pointed at it (an app that cannot reach its bus does not start).
 */
import { isBusAuthError } from '../../shared/bus-client.js';
import { ConfigSchema } from '../../shared/config.js';
import type { ProbeFailure, ProbeResult } from '../../shared/settings-api.js';
import { connectCoreBus, createCoreBusClient } from '../bus-client.js';
import { redactUrl } from '../config/load-config.js';

function fail(code: ProbeFailure['code'], error: string, fix: string, params: Record<string, string>): ProbeFailure {
  return { ok: false, code, error, fix, params };
}

function where(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '6379'}`;
  } catch {
    return redactUrl(url);
  }
}

export async function probeBus(url: string, timeoutMs = 3000): Promise<ProbeResult> {
  const masked = redactUrl(url);
  const shape = ConfigSchema.shape.redisUrl.unwrap().safeParse(url);
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    // reported below
  }
  if (!shape.success || !parsed?.hostname) {
    return fail('bad_url', `'${masked}' is not a Redis URL`, 'write it as redis://host:6379, or redis://:PASSWORD@host:6379 when it has a password', { url: masked });
  }
  const params = { url: masked, where: where(url) };
  const client = createCoreBusClient(url, { role: 'settings-check', once: true, connectTimeout: timeoutMs });
  let timer: NodeJS.Timeout | undefined;
  try {
    const attempt = (async () => {
      await connectCoreBus(client);
      return client.ping();
    })();
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, timeoutMs + 500, 'timeout')));
    const answer = await Promise.race([attempt, timeout]);
    attempt.catch(() => {});
    if (answer === 'timeout') return fail('timeout', `no answer from ${params.where} within ${timeoutMs / 1000} s`, 'check the host and port, and any firewall between', params);
    if (answer !== 'PONG') return fail('bad_response', `${params.where} answered '${String(answer).slice(0, 40)}' to PING`, 'check that the port is a Redis server\'s', params);
    return { ok: true };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const message = e.message.replace(url, masked);
    if (isBusAuthError(message)) return fail('unauthorized', `${params.where} refused the credentials (${message.split(' (')[0]})`, 'put the password it was started with into the URL: redis://:PASSWORD@host:port', params);
    if (e.code === 'ECONNREFUSED') return fail('unreachable', `nothing listens at ${params.where}`, 'start Redis there (redis-server) or check the host and port', params);
    if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return fail('unreachable', `no such host: ${parsed.hostname}`, 'check the host name', params);
    if (e.code === 'ETIMEDOUT' || /timeout/i.test(message)) return fail('timeout', `no answer from ${params.where} within ${timeoutMs / 1000} s`, 'check the host and port, and any firewall between', params);
    return fail('unreachable', `cannot use ${params.where}: ${message}`, 'check the URL and that Redis runs there', params);
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}
