import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LogHub } from './log-hub.js';
import { LineSplitter, parseLine } from './log-record.js';

describe('parseLine / LineSplitter', () => {
  it('lifts pino fields and wraps plain lines by stream', () => {
    const j = parseLine('{"level":40,"time":5,"service":"asr","instance":"asr@h#0","msg":"hi","queue":"q"}', {
      service: 'asr',
      instance: 'x',
      stream: 'stdout',
    });
    expect(j).toEqual({ ts: 5, service: 'asr', instance: 'asr@h#0', level: 'warn', msg: 'hi', stream: 'stdout', fields: { queue: 'q' } });
    expect(parseLine('boom', { service: 'asr', instance: 'i', stream: 'stderr' }, 7)).toMatchObject({ level: 'error', msg: 'boom', ts: 7 });
    expect(parseLine('{not json', { service: 'asr', instance: 'i', stream: 'stdout' }).msg).toBe('{not json');
  });

  it('joins lines split across chunks', () => {
    const s = new LineSplitter();
    expect(s.push('ab')).toEqual([]);
    expect(s.push('c\nde\r\nf')).toEqual(['abc', 'de']);
    expect(s.flush()).toEqual(['f']);
  });
});

describe('LogHub', () => {
  it('keeps bounded rings per service and globally, and notifies subscribers until they leave', () => {
    const hub = new LogHub({ capacity: 3 });
    const seen: string[] = [];
    const off = hub.subscribe((r) => seen.push(r.msg));
    for (let i = 0; i < 5; i++) hub.ingest('asr', 'asr@h#0', 'stdout', `a${i}\n`);
    hub.ingest('tts', 'tts@h#0', 'stderr', 't0\n');
    off();
    hub.ingest('tts', 'tts@h#0', 'stderr', 't1\n');
    expect(hub.tail(10, 'asr').map((r) => r.msg)).toEqual(['a2', 'a3', 'a4']);
    expect(hub.tail(10).map((r) => r.msg)).toEqual(['a4', 't0', 't1']);
    expect(hub.tail(1, 'tts')[0]).toMatchObject({ msg: 't1', level: 'error', stream: 'stderr' });
    expect(seen).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 't0']);
    expect(hub.tail(5, 'nobody')).toEqual([]);
    const seqs = hub.tail(10).map((r) => r.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it('writes JSON lines to <dir>/<service>.log and rotates by size, keeping a bounded number of files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fav-logs-'));
    const hub = new LogHub({ files: { dir, size: '1K', maxFiles: 2 } });
    hub.redactor.addSecret('topsecret');
    for (let i = 0; i < 60; i++) {
      hub.ingest('memory', 'memory@h#0', 'stdout', `{"level":30,"time":${i},"msg":"line ${i} with topsecret inside"}\n`);
      // rotating-file-stream rotates between writes; give it turns of the event loop.
      await new Promise((r) => setImmediate(r));
    }
    await hub.close();
    const files = readdirSync(dir).sort();
    expect(files).toContain('memory.log');
    expect(files.some((f) => /^memory\.log\.\d+$/.test(f))).toBe(true);
    expect(files.filter((f) => /^memory\.log\.\d+$/.test(f)).length).toBe(2);
    const text = readFileSync(join(dir, 'memory.log'), 'utf8');
    expect(text).not.toContain('topsecret');
    const last = text.trim().split('\n').map((l) => JSON.parse(l) as { msg: string }).pop()!;
    expect(last.msg).toBe('line 59 with [REDACTED] inside');
    // A name that is not a safe file name is kept in memory but never written.
    const hub2 = new LogHub({ files: { dir } });
    hub2.note('../evil', 'info', 'x');
    await hub2.close();
    expect(existsSync(join(dir, '..', 'evil.log'))).toBe(false);
    expect(hub2.tail(1, '../evil')).toHaveLength(1);
  });
});
