import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DATABASES, Keyspace } from './keyspace.js';
import { readSnapshot, SnapshotError, writeSnapshot } from './snapshot.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const tmpFile = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'bus-snapshot-'));
  dirs.push(d);
  return path.join(d, 'bus.snap');
};
const databases = () => Array.from({ length: DATABASES }, (_, i) => new Keyspace(i));

/** A file in the version 1 layout (one database, no database records), as older buses wrote it. */
function versionOneFile(file: string, key: string, value: string): void {
  const bulk = (s: string) => {
    const b = Buffer.alloc(4 + s.length);
    b.writeUInt32LE(s.length);
    b.write(s, 4, 'latin1');
    return b;
  };
  const ttl = Buffer.alloc(8);
  ttl.writeDoubleLE(-1);
  const body = Buffer.concat([Buffer.from('FAVBUS\0', 'latin1'), Buffer.from([1, 0]), bulk(key), ttl, bulk(value), Buffer.from([0xff])]);
  fs.writeFileSync(file, Buffer.concat([body, createHash('sha1').update(body).digest()]));
}

describe('bus snapshot with numbered databases', () => {
  it('keeps each key in its database, TTLs included', () => {
    const file = tmpFile();
    const dbs = databases();
    dbs[0].set('k', 'zero');
    dbs[3].set('k', 'three');
    dbs[15].set('last', 'x');
    dbs[15].setExpire('last', Date.now() + 100_000);
    expect(writeSnapshot(file, dbs)).toBe(3);
    const back = databases();
    expect(readSnapshot(file, back)).toBe(3);
    expect(back.map((db) => db.size)).toEqual(dbs.map((db) => db.size));
    expect(back[0].get('k')).toBe('zero');
    expect(back[3].get('k')).toBe('three');
    expect(back[15].pttl('last')).toBeGreaterThan(90_000);
  });

  it('loads a version 1 file into database 0', () => {
    const file = tmpFile();
    versionOneFile(file, 'old', 'value');
    const dbs = databases();
    expect(readSnapshot(file, dbs)).toBe(1);
    expect(dbs[0].get('old')).toBe('value');
  });

  it('refuses a database number the bus does not have', () => {
    const file = tmpFile();
    const dbs = databases();
    dbs[1].set('k', 'v');
    writeSnapshot(file, dbs);
    expect(() => readSnapshot(file, [new Keyspace(0)])).toThrow(SnapshotError);
    expect(() => readSnapshot(file, [new Keyspace(0)])).toThrow('database 1 is out of range (the bus has 1)');
  });
});
