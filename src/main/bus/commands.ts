/** Registers every command family in a table. */
import { connectionCommands } from './cmd-connection.js';
import { databaseCommands } from './cmd-databases.js';
import { hashSetCommands } from './cmd-hashes-sets.js';
import { keyCommands } from './cmd-keys.js';
import { listCommands } from './cmd-lists.js';
import { objectCommands } from './cmd-object.js';
import { pubsubMultiCommands } from './cmd-pubsub-multi.js';
import { serverCommands } from './cmd-server.js';
import { streamGroupCommands } from './cmd-stream-groups.js';
import { streamCommands } from './cmd-streams.js';
import { stringCommands } from './cmd-strings.js';
import type { CommandTable } from './command-table.js';

export function registerCommands(table: CommandTable): void {
  table.add(connectionCommands);
  table.add(serverCommands);
  table.add(databaseCommands);
  table.add(stringCommands);
  table.add(keyCommands);
  table.add(objectCommands);
  table.add(listCommands);
  table.add(hashSetCommands);
  table.add(pubsubMultiCommands);
  table.add(streamCommands);
  table.add(streamGroupCommands);
}
