/**
 * A real HTTP reverse-proxy hop, as an ingress or load balancer is: it forwards every request to
 * `target`, appends the address it received the connection from to X-Forwarded-For, and says how
 * the client reached it (X-Forwarded-Proto, default https: a TLS-terminating proxy). It connects
 * upstream from `egressAddress` (any 127.x.y.z on Linux's loopback), so WADI sees the proxy with an
 * address of its own, distinct from the client's. Chain two for a two-hop path.
 */
import http from 'node:http';
import type net from 'node:net';

/** A running proxy hop. */
export interface ForwardingProxy {
  readonly url: string;
  /** The address this hop connects upstream from: what the next hop (or WADI) sees as its peer. */
  readonly egressAddress: string;
  close(): Promise<void>;
}

/** Starts a hop on 127.0.0.1 (random port) in front of `target` (an http:// base URL). */
export async function startForwardingProxy(opts: {
  target: string;
  egressAddress: string;
  proto?: 'http' | 'https';
  /** Replace X-Forwarded-For with the peer address instead of appending to it. */
  overwrite?: boolean;
}): Promise<ForwardingProxy> {
  const target = new URL(opts.target);
  const agent = new http.Agent({ keepAlive: false });
  const server = http.createServer((req, res) => {
    const peer = req.socket.remoteAddress ?? '';
    const prior = req.headers['x-forwarded-for'];
    const headers = { ...req.headers };
    headers['x-forwarded-for'] = prior && !opts.overwrite ? `${prior}, ${peer}` : peer;
    // A hop that is not the first keeps what the first hop said about the client's protocol.
    headers['x-forwarded-proto'] = req.headers['x-forwarded-proto'] ?? opts.proto ?? 'https';
    headers.host = req.headers.host ?? target.host;
    const up = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers,
        localAddress: opts.egressAddress,
        agent,
      },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    egressAddress: opts.egressAddress,
    async close() {
      for (const s of sockets) s.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An answer to `request`. */
export interface HopResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/**
 * One HTTP request from the client address `from` (a 127.x.y.z), so the first hop sees that
 * address as its peer.
 */
export function requestFrom(
  from: string,
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HopResponse> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        method: opts.method ?? 'GET',
        path: `${u.pathname}${u.search}`,
        headers: {
          ...(opts.headers ?? {}),
          ...(opts.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(opts.body)) }),
        },
        localAddress: from,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error(`${url} timed out`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}
