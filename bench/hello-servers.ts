/**
 * The floor rows of bench/whatsapp-ingest.ts: servers that read the POST body and answer
 * `{"received":true}` with nothing else (no signature, no parsing beyond Fastify's own, no
 * database, no metrics, no logging). `node` is bare node:http; `fastify` is a Fastify hello route.
 *
 *   PORT=3000 node --import tsx bench/hello-servers.ts node|fastify
 */
import { createServer } from 'node:http';
import Fastify from 'fastify';

const port = Number(process.env.PORT ?? 3000);
const kind = process.argv[2];
const BODY = '{"received":true}';

if (kind === 'node') {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      Buffer.concat(chunks);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length });
      res.end(BODY);
    });
  });
  server.keepAliveTimeout = 72_000;
  server.listen(port, '127.0.0.1');
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
} else if (kind === 'fastify') {
  const app = Fastify({ logger: false, bodyLimit: 3 * 1024 * 1024 });
  app.get('/health', async () => ({ ok: true }));
  app.post('/webhooks/whatsapp', async () => ({ received: true }));
  await app.listen({ port, host: '127.0.0.1' });
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
} else {
  throw new Error('usage: hello-servers.ts node|fastify');
}
