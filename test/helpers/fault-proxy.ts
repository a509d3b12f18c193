/**
 * A TCP proxy for fault tests: sits between WADI and PostgreSQL (or Redis) and can pass traffic,
 * delay it, cut every open connection, or refuse new ones — the outages a real network produces.
 */
import net from 'node:net';

/** What the proxy does with traffic right now. */
export type ProxyMode = 'pass' | 'refuse' | 'blackhole';

/** A running fault proxy. */
export class FaultProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private mode: ProxyMode = 'pass';
  private delayMs = 0;
  /** Connections accepted since start. */
  connections = 0;
  readonly port: number;

  private constructor(server: net.Server, port: number) {
    this.server = server;
    this.port = port;
  }

  /** Starts a proxy on 127.0.0.1 (random port) forwarding to `target`. */
  static async start(target: { host: string; port: number }): Promise<FaultProxy> {
    let proxy: FaultProxy | undefined;
    const server = net.createServer((client) => proxy?.accept(client, target));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new FaultProxy(server, (server.address() as net.AddressInfo).port);
    return proxy;
  }

  /** Rewrites a connection URL (postgres://, redis://) to go through this proxy. */
  url(original: string): string {
    const u = new URL(original);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  /** Adds latency to every chunk in both directions. */
  setDelay(ms: number): void {
    this.delayMs = ms;
  }

  /** pass: forward; refuse: close new connections at once; blackhole: accept and never answer. */
  setMode(mode: ProxyMode): void {
    this.mode = mode;
  }

  /** Cuts every open connection (a database restart, a network partition). */
  cutAll(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** An outage: cut everything and refuse new connections; `restore()` ends it. */
  outage(): void {
    this.setMode('refuse');
    this.cutAll();
  }

  /** Back to normal. */
  restore(): void {
    this.setMode('pass');
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket, target: { host: string; port: number }): void {
    this.connections++;
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
    if (this.mode === 'refuse') {
      client.destroy();
      return;
    }
    if (this.mode === 'blackhole') return;
    const upstream = net.connect(target.port, target.host);
    this.sockets.add(upstream);
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    const pipe = (from: net.Socket, to: net.Socket) =>
      from.on('data', (chunk) => {
        if (this.delayMs > 0) setTimeout(() => to.writable && to.write(chunk), this.delayMs);
        else if (to.writable) to.write(chunk);
      });
    pipe(client, upstream);
    pipe(upstream, client);
  }
}
