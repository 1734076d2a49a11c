/**
 * Pub/sub fan-out load generator, run as its own process by the benchmark:
 *   node --import tsx scripts/lib/pubsub-load.ts PORT SUBSCRIBERS PUBLISHERS SECONDS
 * Opens SUBSCRIBERS sockets subscribed to one channel and PUBLISHERS sockets that pipeline PUBLISH
 * in windows of WINDOW commands (the next window is sent when the previous one's replies are in, so
 * nothing queues without bound). Counts delivered messages for SECONDS after a short warm-up and
 * prints one JSON line: { deliveries, published, seconds, deliveriesPerSec }.
 * Every message frame has the same size, so deliveries are counted as received bytes / frame size.
 */
import net from 'node:net';

const [port, nSubs, nPubs, seconds] = process.argv.slice(2).map(Number);
if (!port || !nSubs || !nPubs || !seconds) {
  console.error('usage: pubsub-load.ts PORT SUBSCRIBERS PUBLISHERS SECONDS');
  process.exit(2);
}
const CHANNEL = 'bench';
const PAYLOAD = 'hello-world-payload';
const WINDOW = 64;
const FRAME = `*3\r\n$7\r\nmessage\r\n$${CHANNEL.length}\r\n${CHANNEL}\r\n$${PAYLOAD.length}\r\n${PAYLOAD}\r\n`.length;
const PUBLISH = `*3\r\n$7\r\nPUBLISH\r\n$${CHANNEL.length}\r\n${CHANNEL}\r\n$${PAYLOAD.length}\r\n${PAYLOAD}\r\n`.repeat(WINDOW);

const sockets: net.Socket[] = [];
const connect = () =>
  new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.setNoDelay(true);
    s.on('error', reject);
    sockets.push(s);
  });

let counting = false;
let bytes = 0;
let published = 0;
let running = true;

async function main(): Promise<void> {
  // Subscribers: wait for every subscribe confirmation before publishing starts.
  const confirm = `*3\r\n$9\r\nsubscribe\r\n$${CHANNEL.length}\r\n${CHANNEL}\r\n:1\r\n`.length;
  await Promise.all(
    Array.from({ length: nSubs }, async () => {
      const s = await connect();
      await new Promise<void>((resolve) => {
        let got = 0;
        s.on('data', (d: Buffer) => {
          if (got < confirm) {
            got += d.length;
            if (got >= confirm) {
              if (counting) bytes += got - confirm;
              resolve();
            }
          } else if (counting) bytes += d.length;
        });
        s.write(`*2\r\n$9\r\nSUBSCRIBE\r\n$${CHANNEL.length}\r\n${CHANNEL}\r\n`);
      });
    }),
  );
  for (let i = 0; i < nPubs; i++) {
    const s = await connect();
    let lines = 0;
    s.on('data', (d: Buffer) => {
      // Each reply is one ":N\r\n" line: count LFs to know when the window is answered.
      for (let j = 0; j < d.length; j++) if (d[j] === 10) lines++;
      if (lines >= WINDOW) {
        lines -= WINDOW;
        if (counting) published += WINDOW;
        if (running) s.write(PUBLISH);
      }
    });
    s.write(PUBLISH);
  }
  await new Promise((r) => setTimeout(r, 300));
  counting = true;
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  counting = false;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  running = false;
  const deliveries = Math.floor(bytes / FRAME);
  console.log(JSON.stringify({ deliveries, published, seconds: secs, deliveriesPerSec: deliveries / secs }));
}

const watchdog = setTimeout(() => {
  console.error('pubsub-load: timed out');
  process.exit(1);
}, (seconds + 30) * 1000);
main()
  .catch((err: unknown) => {
    console.error(`pubsub-load: ${(err as Error).message}`);
    process.exitCode = 1;
  })
  .finally(() => {
    clearTimeout(watchdog);
    for (const s of sockets) s.destroy();
  });
