/**
 * Differential conformance: non-blocking list commands (LPUSH RPUSH LPOP RPOP with count, LLEN
 * LRANGE LINDEX LREM LTRIM LMOVE RPOPLPUSH), their edge cases and WRONGTYPE. Blocking commands are
 * in blocking.test.ts.
 */
import { conformanceSuite, type Case } from '../lib/differential.js';

const cases: Case[] = [
  {
    name: 'push, pop with counts, missing keys (nil vs empty)',
    async run(s) {
      await s.call('RPUSH', 'l', 'a', 'b', 'c');
      await s.call('LPUSH', 'l', 'z', 'y');
      await s.call('LRANGE', 'l', '0', '-1');
      await s.call('LPOP', 'l');
      await s.call('RPOP', 'l');
      await s.call('LPOP', 'l', '2');
      await s.call('RPOP', 'l', '10');
      await s.call('EXISTS', 'l');
      await s.call('LPOP', 'missing');
      await s.call('RPOP', 'missing');
      await s.call('LPOP', 'missing', '2');
      await s.call('RPOP', 'missing', '2');
      await s.call('RPUSH', 'l', 'a');
      await s.call('LPOP', 'l', '0');
      await s.call('LPOP', 'l', '-1');
      await s.call('LPOP', 'l', 'x');
      await s.call('RPOP', 'l', '1', '2');
      await s.call('LLEN', 'l');
      await s.call('LLEN', 'missing');
      await s.call('LRANGE', 'missing', '0', '-1');
      await s.call('LPUSH', 'l');
    },
  },
  {
    name: 'LRANGE and LINDEX with negative and out-of-range indexes',
    async run(s) {
      await s.call('RPUSH', 'l', '0', '1', '2', '3', '4', '5');
      for (const [a, b] of [['0', '2'], ['-3', '-1'], ['-100', '100'], ['4', '2'], ['5', '10'], ['6', '10'], ['-1', '-1'], ['0', '0'], ['-7', '-6']]) {
        await s.call('LRANGE', 'l', a, b);
      }
      for (const i of ['0', '-1', '5', '6', '-6', '-7']) await s.call('LINDEX', 'l', i);
      await s.call('LINDEX', 'missing', '0');
      await s.call('LRANGE', 'l', 'a', '1');
      await s.call('LINDEX', 'l', 'x');
    },
  },
  {
    name: 'LREM counts positive, negative, zero',
    async run(s) {
      const fill = () => s.quiet('RPUSH', 'l', 'a', 'b', 'a', 'c', 'a', 'b', 'a');
      await fill();
      await s.call('LREM', 'l', '2', 'a');
      await s.call('LRANGE', 'l', '0', '-1');
      await s.call('DEL', 'l');
      await fill();
      await s.call('LREM', 'l', '-2', 'a');
      await s.call('LRANGE', 'l', '0', '-1');
      await s.call('LREM', 'l', '0', 'a');
      await s.call('LRANGE', 'l', '0', '-1');
      await s.call('LREM', 'l', '0', 'nothing');
      await s.call('LREM', 'missing', '0', 'a');
      await s.call('LREM', 'l', '0', 'b');
      await s.call('LREM', 'l', '0', 'c');
      await s.call('EXISTS', 'l');
      await s.call('LREM', 'l', 'x', 'a');
    },
  },
  {
    name: 'LTRIM in and out of range',
    async run(s) {
      const fill = () => s.quiet('RPUSH', 'l', '0', '1', '2', '3', '4', '5');
      await fill();
      await s.call('LTRIM', 'l', '1', '-2');
      await s.call('LRANGE', 'l', '0', '-1');
      await s.call('LTRIM', 'l', '-2', '100');
      await s.call('LRANGE', 'l', '0', '-1');
      await s.call('LTRIM', 'l', '5', '10');
      await s.call('EXISTS', 'l');
      await fill();
      await s.call('LTRIM', 'l', '3', '1');
      await s.call('EXISTS', 'l');
      await fill();
      await s.call('LTRIM', 'l', '-100', '-5');
      await s.call('LRANGE', 'l', '0', '-1');
      await s.call('LTRIM', 'missing', '0', '1');
      await s.call('LTRIM', 'l', '0', 'x');
    },
  },
  {
    name: 'LMOVE all directions, same list rotation, RPOPLPUSH',
    async run(s) {
      await s.call('RPUSH', 'src', 'a', 'b', 'c', 'd');
      await s.call('LMOVE', 'src', 'dst', 'LEFT', 'RIGHT');
      await s.call('LMOVE', 'src', 'dst', 'RIGHT', 'LEFT');
      await s.call('LMOVE', 'src', 'dst', 'left', 'left');
      await s.call('LMOVE', 'src', 'dst', 'RIGHT', 'RIGHT');
      await s.call('LRANGE', 'dst', '0', '-1');
      await s.call('EXISTS', 'src');
      await s.call('LMOVE', 'src', 'dst', 'LEFT', 'RIGHT');
      await s.call('LMOVE', 'dst', 'dst', 'LEFT', 'RIGHT');
      await s.call('LRANGE', 'dst', '0', '-1');
      await s.call('LMOVE', 'dst', 'dst', 'UP', 'RIGHT');
      await s.call('RPOPLPUSH', 'dst', 'other');
      await s.call('RPOPLPUSH', 'missing', 'other');
      await s.call('LRANGE', 'other', '0', '-1');
      await s.call('SET', 'str', 'x');
      await s.call('LMOVE', 'dst', 'str', 'LEFT', 'LEFT');
      await s.call('LRANGE', 'dst', '0', '-1');
      await s.call('RPOPLPUSH', 'str', 'dst');
    },
  },
  {
    name: 'WRONGTYPE on every list command',
    async run(s) {
      await s.call('SET', 'str', 'x');
      for (const cmd of [
        ['LPUSH', 'str', 'a'],
        ['RPUSH', 'str', 'a'],
        ['LPOP', 'str'],
        ['RPOP', 'str', '2'],
        ['LLEN', 'str'],
        ['LRANGE', 'str', '0', '-1'],
        ['LINDEX', 'str', '0'],
        ['LREM', 'str', '0', 'a'],
        ['LTRIM', 'str', '0', '1'],
        ['BLPOP', 'str', '0.01'],
        ['BRPOP', 'str', '0.01'],
      ]) {
        await s.call(...cmd);
      }
    },
  },
];

conformanceSuite(cases);
