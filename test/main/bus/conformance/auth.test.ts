/**
 * Differential conformance: AUTH with a password set on both servers (requirepass vs the bus's
 * `password` option): NOAUTH before authenticating, WRONGPASS for a wrong password, then OK;
 * HELLO 2 AUTH; per-connection state. AUTH without a configured password is in connection.test.ts.
 */
import { conformanceSuite, type Case } from '../lib/differential.js';
import { flatMap, shape, within } from '../lib/normalise.js';

const PASSWORD = 'c0rrect horse';

const cases: Case[] = [
  {
    name: 'NOAUTH before AUTH, WRONGPASS on a wrong password, then OK',
    async run(s) {
      await s.call('GET', 'k');
      await s.call('SET', 'k', 'v');
      await s.call('PING');
      await s.call('NOSUCHCMD');
      await s.call('AUTH', 'wrong');
      await s.call('AUTH', 'default', 'wrong');
      await s.call('AUTH', 'nobody', PASSWORD);
      await s.call('GET', 'k');
      await s.call('AUTH', PASSWORD);
      await s.call('SET', 'k', 'v');
      await s.call('GET', 'k');
      await s.call('AUTH', 'a', 'b', 'c');
      await s.call('AUTH');
      // A failed AUTH after a good one keeps the connection authenticated.
      await s.call('AUTH', 'wrong-again');
      await s.call('GET', 'k');
      const other = await s.conn('c2');
      await other.call('GET', 'k');
      await other.call('AUTH', 'default', PASSWORD);
      await other.call('GET', 'k');
    },
  },
  {
    name: 'HELLO before and with AUTH; QUIT allowed unauthenticated',
    async run(s) {
      await s.call('HELLO', '2');
      await s.call('HELLO', '2', 'AUTH', 'default', 'wrong');
      await s.callAs(flatMap({ version: shape, id: within(1, 1e12) }), 'HELLO', '2', 'AUTH', 'default', PASSWORD);
      await s.call('DBSIZE');
      const other = await s.conn('c2');
      await other.call('QUIT');
    },
  },
];

conformanceSuite(cases, { password: PASSWORD });
