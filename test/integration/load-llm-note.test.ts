/**
 * `wadi load` against a sandbox WADI says whether the fake LLM's latency applied: the default
 * `wadi start` answers with the offline assistant (it never calls the fake LLM), so the report
 * says its time-to-reply is the pipeline alone; with WADI_SANDBOX_LLM=true it names the latency
 * model and how many completions the fake LLM answered.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, runWadi, spawnWadi, tempDir, type WadiProcess, waitFor } from '../helpers/cli.ts';
import { closeBeforeDrop, createPostgresDatabase, postgresUrl } from '../helpers/db.ts';

const KEY = 'test-admin-key-0123456789abcdefghijklmnop';

describe.runIf(postgresUrl())('wadi load and the fake LLM', () => {
  let wadi: WadiProcess | undefined;
  let drop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    wadi?.child.kill('SIGTERM');
    await wadi?.exited;
    wadi = undefined;
    await drop?.();
    drop = undefined;
  });

  async function start(extra: Record<string, string>) {
    const db = await createPostgresDatabase();
    drop = db.drop;
    closeBeforeDrop(db.url, async () => {});
    const port = await freePort();
    const env = {
      DATABASE_URL: db.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      ADMIN_API_KEY: KEY,
      LOG_LEVEL: 'warn',
      ...extra,
    };
    wadi = spawnWadi(['start'], { env, cwd: tempDir() });
    const url = `http://127.0.0.1:${port}`;
    await waitFor(`${url}/health/ready`, { timeoutMs: 90_000 });
    return { url, env };
  }

  it('the offline assistant: the report says no LLM latency applied', async () => {
    const { url, env } = await start({});
    const r = await runWadi(['load', 'smoke', '--duration', '3', '--drain', '20', '--url', url], {
      env,
      timeoutMs: 120_000,
    });
    expect(r.stdout).toMatch(/NOTE: the target did not call the fake LLM \(WADI_SANDBOX_LLM is off/);
    expect(r.stdout).not.toMatch(/fake LLM latency:/);
  });

  it('the fake LLM: the report names its latency model and the completions it answered', async () => {
    const { url, env } = await start({ WADI_SANDBOX_LLM: 'true' });
    const r = await runWadi(
      [
        'load',
        'smoke',
        '--duration',
        '3',
        '--drain',
        '30',
        '--llm-median-ms',
        '50',
        '--llm-p95-ms',
        '100',
        '--url',
        url,
      ],
      { env, timeoutMs: 120_000 },
    );
    const m = /fake LLM latency: (\{.*\}) \((\d+) calls\)/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(JSON.parse(m?.[1] ?? '{}')).toMatchObject({ mode: 'lognormal', median_ms: 50, p95_ms: 100 });
    expect(Number(m?.[2])).toBeGreaterThan(0);
    expect(r.stdout).not.toMatch(/NOTE: the target did not call the fake LLM/);
  });
});
