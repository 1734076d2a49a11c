import { describe, expect, it } from 'vitest';
import { isLoopbackAddress, isLoopbackOrigin } from './access.js';
import { base64Bytes } from './asr-http.js';

describe('seed access rule', () => {
  it('knows loopback addresses, IPv4-mapped included', () => {
    for (const ip of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) expect(isLoopbackAddress(ip), ip).toBe(true);
    for (const ip of [undefined, '', '10.0.0.1', '192.0.2.2', '::ffff:10.0.0.1', 'fd00::2', '127.0.0.1.evil', '1270.0.0.1']) expect(isLoopbackAddress(ip), String(ip)).toBe(false);
  });

  it('lets in no Origin and loopback origins, not other sites or null', () => {
    for (const o of [undefined, 'http://localhost:5173', 'http://127.0.0.1:8000', 'https://localhost', 'http://[::1]:8000']) expect(isLoopbackOrigin(o), String(o)).toBe(true);
    for (const o of ['null', 'https://evil.example', 'http://localhost.evil.example', 'http://127.0.0.1.nip.io', 'file://', 'chrome-extension://abc', 'garbage']) expect(isLoopbackOrigin(o), o).toBe(false);
  });
});

describe('base64Bytes', () => {
  it('gives the decoded size without decoding', () => {
    for (const n of [0, 1, 2, 3, 4, 5, 100, 1001]) {
      const b64 = Buffer.alloc(n, 7).toString('base64');
      expect(base64Bytes(b64), `${n} bytes`).toBe(n);
    }
  });
});
