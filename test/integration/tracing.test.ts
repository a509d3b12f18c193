import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, spawnWadi, type WadiProcess, waitFor } from '../helpers/cli.ts';
import { createPostgresDatabase, postgresUrl } from '../helpers/db.ts';

interface OtlpSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
}

/** A minimal OTLP/HTTP JSON collector: records every span it receives. */
async function collector(): Promise<{ url: string; spans: { scope: string; span: OtlpSpan }[]; close(): void }> {
  const spans: { scope: string; span: OtlpSpan }[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => {
      raw += d;
    });
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const body = JSON.parse(raw) as {
          resourceSpans: { scopeSpans: { scope: { name: string }; spans: OtlpSpan[] }[] }[];
        };
        for (const rs of body.resourceSpans)
          for (const ss of rs.scopeSpans) for (const span of ss.spans) spans.push({ scope: ss.scope.name, span });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    spans,
    close: () => server.close(),
  };
}

describe.runIf(postgresUrl())('wadi start with OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  let otel: Awaited<ReturnType<typeof collector>>;
  let db: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let proc: WadiProcess;
  let base: string;
  beforeAll(async () => {
    otel = await collector();
    db = await createPostgresDatabase();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    proc = spawnWadi(['start', '--port', String(port)], {
      env: {
        DATABASE_URL: db.url,
        HOST: '127.0.0.1',
        OTEL_EXPORTER_OTLP_ENDPOINT: otel.url,
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
    });
    await waitFor(`${base}/health/ready`, { timeoutMs: 60_000 });
  });
  afterAll(async () => {
    proc?.child.kill('SIGTERM');
    await proc?.exited;
    otel?.close();
    await db?.drop();
  });

  it('exports http, fastify and pg spans of one request in one trace, and logs carry its trace id', async () => {
    await (await fetch(`${base}/no/such/route`)).text();
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && !otel.spans.some((s) => s.scope.includes('http'))) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const scopes = new Set(otel.spans.map((s) => s.scope));
    expect(
      [...scopes].some((s) => s.includes('instrumentation-http')),
      [...scopes].join(),
    ).toBe(true);
    expect(
      [...scopes].some((s) => s.includes('fastify')),
      [...scopes].join(),
    ).toBe(true);
    // pg is patched too: migrations and readiness ran queries through the instrumented driver.
    expect(
      [...scopes].some((s) => s.includes('instrumentation-pg')),
      [...scopes].join(),
    ).toBe(true);
    // The request's http server span and its fastify spans share one trace (other http spans,
    // such as outbound calls made at start-up, may arrive first, so match by trace id).
    const http = otel.spans.filter((s) => s.scope.includes('instrumentation-http'));
    const fastify = otel.spans.filter((s) => s.scope.includes('fastify'));
    expect(fastify.some((f) => http.some((h) => h.span.traceId === f.span.traceId))).toBe(true);
    // Probes are not traced.
    expect(otel.spans.some((s) => s.span.name.includes('/health/'))).toBe(false);
    // The request's log line is written after its response: wait for it.
    for (let i = 0; i < 50 && !/"route":"unknown"|no\/such\/route/.test(proc.output()); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const line = proc
      .output()
      .split('\n')
      .find((l) => l.includes('"route":"unknown"') || l.includes('no/such/route'));
    const traceId = /"trace_id":"([0-9a-f]{32})"/.exec(line ?? '')?.[1];
    // Spans leave in batches: wait for the one of this request's trace.
    for (let i = 0; i < 50 && !otel.spans.some((h) => h.span.traceId === traceId); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(
      otel.spans.some((h) => h.scope.includes('instrumentation-http') && h.span.traceId === traceId),
      line ?? proc.output(),
    ).toBe(true);
  });
});
