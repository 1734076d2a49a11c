import { describe, expect, it } from 'vitest';
import { REDACTED, Redactor } from './redact.js';

describe('Redactor', () => {
  it('hides URL passwords, key/value secrets, bearer tokens and sk- keys, and keeps JSON valid', () => {
    const r = new Redactor();
    const line = JSON.stringify({
      url: 'redis://user:p%40ss@host:6379/0',
      apiKey: 'abc def',
      max_tokens: 512,
      msg: 'Authorization: Bearer eyJhbGciOi.x.y and sk-ABCDEFGHIJKLMNOPQRST',
    });
    const out = r.redact(line);
    const obj = JSON.parse(out) as Record<string, unknown>;
    expect(obj.url).toBe(`redis://user:${REDACTED}@host:6379/0`);
    expect(obj.apiKey).toBe(REDACTED);
    expect(obj.max_tokens).toBe(512);
    expect(obj.msg).toBe(`Authorization: Bearer ${REDACTED} and sk-${REDACTED}`);
    expect(r.redact('FAV_LLM_API_KEY=xyz123 other')).toBe(`FAV_LLM_API_KEY=${REDACTED} other`);
    expect(r.redact('password: hunter2')).toBe(`password: ${REDACTED}`);
  });

  it('hides registered secrets anywhere, plain and URL-encoded, learning them from a URL', () => {
    const r = new Redactor();
    r.addUrlSecrets('redis://:s3cr%2Ft@127.0.0.1:1');
    expect(r.redact('the bus said s3cr/t twice: s3cr/t')).toBe(`the bus said ${REDACTED} twice: ${REDACTED}`);
    expect(r.redact('encoded s3cr%2Ft')).toBe(`encoded ${REDACTED}`);
    expect(r.redact('nothing secret here')).toBe('nothing secret here');
    r.addSecret('ab'); // too short to be redacted safely: ignored
    expect(r.redact('about')).toBe('about');
  });
});
