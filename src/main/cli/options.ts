/** Argument parsers shared by the commands: each throws commander's InvalidArgumentError (exit 2). */
import { InvalidArgumentError } from 'commander';

export function parsePort(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`'${value}' is not a port number (0-65535).`);
  const n = Number(value);
  if (n > 65535) throw new InvalidArgumentError(`${n} is out of range (0-65535).`);
  return n;
}

export function parseRedisUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`'${value}' is not a URL; expected redis://[:password@]host:port`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new InvalidArgumentError(`'${value}' must start with redis:// or rediss://`);
  }
  return value;
}

export function parseHost(value: string): string {
  if (!/^[A-Za-z0-9.:\-[\]]+$/.test(value)) throw new InvalidArgumentError(`'${value}' is not a host name or address.`);
  return value;
}
