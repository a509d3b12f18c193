/**
 * The baseline for bench/whatsapp-ingest.ts: a WhatsApp webhook receiver written the usual
 * Express 5 way (helmet, cors, express-prom-bundle, pino-http, express.raw, HMAC check, one INSERT
 * per message through pg). Run as a child process by the benchmark:
 *   PORT=… DATABASE_URL=… APP_SECRET=… node --import tsx bench/express-receiver.ts
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import cors from 'cors';
import express from 'express';
import promBundle from 'express-prom-bundle';
import helmet from 'helmet';
import pg from 'pg';
import { pinoHttp } from 'pino-http';

const secret = process.env.APP_SECRET ?? '';
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const app = express();
app.use(helmet());
app.use(cors());
app.use(promBundle({ includeMethod: true, includePath: true }));
app.use(pinoHttp());

type Msg = { id: string; from: string; timestamp: string; type: string };
type Body = { entry?: { changes?: { value?: { messages?: Msg[] } }[] }[] };

app.post('/webhooks/whatsapp', express.raw({ type: 'application/json', limit: '3mb' }), async (req, res) => {
  const raw = req.body as Buffer;
  const header = String(req.headers['x-hub-signature-256'] ?? '');
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`);
  if (header.length !== expected.length || !timingSafeEqual(Buffer.from(header), expected)) {
    res.status(401).json({ error: 'invalid signature' });
    return;
  }
  let body: Body;
  try {
    body = JSON.parse(raw.toString('utf8')) as Body;
  } catch {
    res.status(400).json({ error: 'malformed json' });
    return;
  }
  try {
    for (const entry of body.entry ?? []) {
      for (const change of entry.changes ?? []) {
        for (const m of change.value?.messages ?? []) {
          await pool.query(
            `insert into express_inbox (wamid, sender, kind, payload, sent_at)
             values ($1, $2, $3, $4, to_timestamp($5)) on conflict (wamid) do nothing`,
            [m.id, m.from, m.type, JSON.stringify(m), Number(m.timestamp)],
          );
        }
      }
    }
    res.sendStatus(200);
  } catch (err) {
    req.log.error({ err }, 'insert failed');
    res.sendStatus(503);
  }
});

const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => {
  server.close(() => void pool.end().then(() => process.exit(0)));
});
