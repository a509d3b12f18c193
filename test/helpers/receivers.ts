/**
 * Local stand-ins for where alerts go: a Telegram-Bot-API-compatible `sendMessage` endpoint and a
 * Slack-compatible incoming webhook, on 127.0.0.1 random ports. Each records what it accepted and
 * can be told to fail (HTTP 500) to simulate an outage.
 */
import { createServer, type Server } from 'node:http';

/** A recorded notification. */
export interface Received {
  readonly path: string;
  readonly body: Record<string, unknown>;
  readonly text: string;
}

/** A running receiver. */
export interface Receiver {
  readonly url: string;
  readonly received: Received[];
  /** Answer the next `n` requests with HTTP 500 (Infinity: until reset). */
  failNext(n: number): void;
  close(): Promise<void>;
}

async function start(kind: 'telegram' | 'slack'): Promise<Receiver> {
  const received: Received[] = [];
  let failures = 0;
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => {
      raw += d;
    });
    req.on('end', () => {
      if (failures > 0) {
        failures--;
        res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error');
        return;
      }
      const body = JSON.parse(raw || '{}') as Record<string, unknown>;
      if (kind === 'telegram') {
        if (req.method !== 'POST' || !/^\/bot[^/]+\/sendMessage$/.test(req.url ?? '')) {
          res.writeHead(404, { 'content-type': 'application/json' }).end('{"ok":false,"error_code":404}');
          return;
        }
        received.push({ path: req.url ?? '', body, text: String(body.text ?? '') });
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ ok: true, result: { message_id: received.length, chat: { id: body.chat_id } } }));
        return;
      }
      received.push({ path: req.url ?? '', body, text: String(body.text ?? '') });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: kind === 'telegram' ? `http://127.0.0.1:${port}` : `http://127.0.0.1:${port}/services/T000/B000/XXXX`,
    received,
    failNext(n) {
      failures = n;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A Telegram Bot API receiver: `url` is the API base (`${url}/bot<token>/sendMessage`). */
export const telegramReceiver = () => start('telegram');
/** A Slack incoming-webhook receiver: `url` is the webhook URL. */
export const slackReceiver = () => start('slack');
