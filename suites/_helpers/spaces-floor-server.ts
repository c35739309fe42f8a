// The floor the spaces bench compares the relay with: the same path without a relay's work. A
// bare node:http + socket.io server on one port: POST /submit answers `{ request_id }` at once and
// emits `job` to the one connected client; that client's `done` is acknowledged at once. No queue,
// no store, no validation. Run as a child: `node --import tsx spaces-floor-server.ts`; prints
// `listening on PORT` and exits on SIGTERM or when stdin closes (its parent is gone).
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';

let client: Socket | undefined;
const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/submit') {
    res.writeHead(404).end();
    return;
  }
  const parts: Buffer[] = [];
  req.on('data', (d: Buffer) => parts.push(d));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(parts).toString()) as { input: unknown };
    const id = randomUUID();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ request_id: id }));
    client?.emit('job', { request_id: id, input: body.input });
  });
});
const io = new Server(server, { path: '/socket.io', serveClient: false });
io.on('connection', (socket) => {
  client = socket;
  socket.on('done', (_msg: unknown, ack: unknown) => {
    if (typeof ack === 'function') ack({ ok: true });
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on ${(server.address() as AddressInfo).port}\n`);
});
const stop = () => {
  io.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
