/**
 * Runs the embedded bus alone in this process for the benchmark, so that the load generators and
 * the bus never share an event loop. Started with `fork()`; reports `{ port }` over IPC once it is
 * listening, and closes the bus when the parent disconnects or sends SIGTERM.
 */
import { startBus } from '../../src/main/bus/index.js';

const bus = await startBus({ port: 0, host: '127.0.0.1' });
let closing = false;
const stop = () => {
  if (closing) return;
  closing = true;
  bus.close().finally(() => process.exit(0));
};
process.on('disconnect', stop);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.send?.({ port: bus.port });
