/**
 * Aedes 1.x on a TCP port, in its own process, as a benchmark peer.
 * Usage: node --import tsx bench/peers/aedes-server.ts <port>   (prints "ready <port>" when listening)
 */
import net from 'node:net';
import { Aedes } from 'aedes';

const port = Number(process.argv[2] ?? 0);
const aedes = await Aedes.createBroker();
const server = net.createServer((socket) => {
  // Same socket option the load generator and the other peers use, so latency compares like for like.
  socket.setNoDelay(true);
  aedes.handle(socket);
});
server.listen(port, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`ready ${typeof addr === 'object' && addr ? addr.port : port}\n`);
});

const shutdown = () => {
  server.close();
  aedes.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
