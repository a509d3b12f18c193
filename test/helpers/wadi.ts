/** Builds configs and whole in-process WADIs for integration tests, with captured logs. */
import { Writable } from 'node:stream';
import { createWadi, type Wadi, type WadiOptions } from '../../src/app/wadi.ts';
import { type Config, loadConfig } from '../../src/config/config.ts';
import type { Database } from '../../src/db/client.ts';
import type { Role } from '../../src/kernel/module.ts';
import { createLogger } from '../../src/observability/logging/logger.ts';

/** A 32+ character admin key used by tests. */
export const TEST_ADMIN_KEY = 'test-admin-key-0123456789abcdefghijklmnop';

/** A development config with test defaults; `env` overrides anything. */
export function testConfig(env: Record<string, string | undefined> = {}): Config {
  return loadConfig(
    {
      NODE_ENV: 'test',
      LOG_LEVEL: 'debug',
      LOG_FORMAT: 'json',
      ADMIN_API_KEY: TEST_ADMIN_KEY,
      PORT: '0',
      HOST: '127.0.0.1',
      // Shedding answers 503 when this shared, busy test machine stalls; tests of shedding turn it on.
      SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
      SHED_MAX_HEAP_PERCENT: '0',
      ...env,
    },
    { persistGeneratedKey: false, cwd: process.cwd() },
  );
}

/** Lines written by a WADI's logger. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.lines.push(...chunk.toString().split('\n').filter(Boolean));
    cb();
  }
  /** Parsed records. */
  records(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
  text(): string {
    return this.lines.join('\n');
  }
}

/** A started in-process WADI and its captured log. */
export interface TestWadi {
  readonly wadi: Wadi;
  readonly url: string;
  readonly logs: LogCapture;
  stop(): Promise<void>;
}

/** Builds and starts a WADI on a random port against `database`. */
export async function startTestWadi(
  database: Database,
  opts: {
    env?: Record<string, string | undefined>;
    role?: Role;
    features?: WadiOptions['features'];
    extraModules?: WadiOptions['extraModules'];
    senders?: WadiOptions['senders'];
    admin?: WadiOptions['admin'];
    security?: WadiOptions['security'];
    config?: Config;
    /** Listen on this port (0, the default: any free one); a restarted WADI reuses its predecessor's. */
    port?: number;
  } = {},
): Promise<TestWadi> {
  const config = opts.config ?? testConfig(opts.env);
  const logs = new LogCapture();
  const logKit = createLogger({
    level: config.env.LOG_LEVEL,
    format: 'json',
    secrets: config.secrets,
    destination: logs,
  });
  const wadi = await createWadi(config, {
    database,
    logKit,
    role: opts.role,
    features: opts.features,
    extraModules: opts.extraModules,
    senders: opts.senders,
    admin: opts.admin,
    security: opts.security,
    migrate: true,
  });
  const url = await wadi.start(opts.port ?? 0);
  return { wadi, url, logs, stop: () => wadi.stop() };
}
