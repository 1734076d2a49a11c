/**
 * An error reply. `message` is the whole text after the '-' of the RESP error, exactly as Redis 7
 * words it (e.g. "ERR unknown command 'foo', with args beginning with: ",
 * "WRONGTYPE Operation against a key holding the wrong kind of value").
 */
export class RedisError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisError';
  }
}

export const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';
export const NOT_INTEGER = 'ERR value is not an integer or out of range';
export const SYNTAX = 'ERR syntax error';
export const wrongArgs = (cmd: string) => `ERR wrong number of arguments for '${cmd.toLowerCase()}' command`;
