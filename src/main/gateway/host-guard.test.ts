import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { extraAllowedHosts, hostnameOf, isLoopbackHostname } from './host-guard.js';

// The rules of the Host check; test/main/gateway/host-guard.test.ts drives them over real HTTP.
describe('host guard rules', () => {
  it('reads the hostname of a Host header as a browser would have written it', () => {
    expect(hostnameOf('LocalHost:8000')).toBe('localhost');
    expect(hostnameOf('[::1]:8000')).toBe('[::1]');
    expect(hostnameOf('localhost.')).toBe('localhost');
    expect(hostnameOf('0x7f.1')).toBe('127.0.0.1');
    for (const bad of ['evil.example@localhost', 'localhost/x', 'a b', '', 'localhost:99999']) expect(hostnameOf(bad), bad).toBeUndefined();
  });

  it('knows the loopback names and nothing that only looks like one', () => {
    for (const n of ['localhost', 'studio.localhost', '127.0.0.1', '127.9.8.7', '[::1]']) expect(isLoopbackHostname(n), n).toBe(true);
    for (const n of ['localhost.evil.example', '127.0.0.1.nip.io', '0.0.0.0', '[::2]', 'evil.example']) expect(isLoopbackHostname(n), n).toBe(false);
  });

  it('adds the address the gateway is bound to, and every address of the machine for a wildcard bind', () => {
    expect([...extraAllowedHosts('192.168.1.5')]).toEqual(['192.168.1.5']);
    expect([...extraAllowedHosts('fd00::5')]).toEqual(['[fd00::5]']);
    expect([...extraAllowedHosts('127.0.0.1', ['Studio.LAN', 'studio.lan:8000', ' '])]).toEqual(['studio.lan', '127.0.0.1']);
    const machine = Object.values(os.networkInterfaces())
      .flatMap((l) => l ?? [])
      .map((a) => (a.family === 'IPv6' ? `[${a.address.replace(/%.*$/, '')}]` : a.address));
    for (const bind of ['0.0.0.0', '::']) {
      const names = extraAllowedHosts(bind);
      for (const a of machine) expect(names.has(a), `${bind}: ${a}`).toBe(true);
      expect(names.has(os.hostname().toLowerCase())).toBe(true);
    }
  });
});
