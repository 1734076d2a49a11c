/** Public entry of the embedded Redis-compatible bus server. */
export { BusServer, startBus, type BusOptions } from './bus-server.js';
