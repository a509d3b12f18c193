/**
 * The image replay: what deploy/Dockerfile ships, run the way Kubernetes and docker compose run it,
 * without a container engine. The runtime stage's file set is rebuilt in a temporary folder from the
 * Dockerfile itself (its COPY lines, `npm ci --omit=dev --ignore-scripts` from the lockfile, the
 * dashboard its build stage builds), then `node bin/wadi.js start --role web|worker` runs on Node 24
 * as uid 1000 with NODE_ENV=production, the Dockerfile's ENV lines and the variables the manifests
 * give (secrets filled with strong random values), against real PostgreSQL and Redis, behind a small
 * proxy that adds X-Forwarded-Proto/X-Forwarded-For like an ingress, with the sandbox as a separate
 * upstream (`wadi sandbox`) standing in for the Graph API, the Bot API and the LLM.
 *
 * A file missing from the image, a dev-only import at runtime, a broken proxy setting or a missing
 * variable fails here. It needs a minute or two (an `npm ci`), so it runs when WADI_IMAGE_REPLAY=1
 * (`.ci/run` sets it) with Node 24 at WADI_IMAGE_NODE (default: where `.ci/run` puts it).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { SANDBOX_CREDENTIALS } from '../../src/config/config.ts';
import { metaJson, signWhatsapp, telegramTextUpdate, whatsappTextWebhook } from '../../src/sandbox/payloads.ts';
import { freePort, spawnWadi, type WadiProcess, waitFor } from '../helpers/cli.ts';
import { createPostgresDatabase } from '../helpers/db.ts';
import { type ForwardingProxy, startForwardingProxy } from '../helpers/forwarding-proxy.ts';
import {
  dockerStages,
  inRootfs,
  listFiles,
  type ReplayLog,
  ROOT,
  replayStage,
  type Stage,
  stageEnv,
} from './dockerfile.ts';

const ENABLED = process.env.WADI_IMAGE_REPLAY === '1';
const NODE24 = process.env.WADI_IMAGE_NODE ?? path.join(homedir(), '.cache/wadi-ci/node24/bin/node');
/** The image's unprivileged user (the node image's `node`, uid/gid 1000). */
const UID = 1000;
/** Another Dockerfile to replay instead (e.g. an older one, to see this test fail on it). */
const DOCKERFILE = process.env.WADI_IMAGE_DOCKERFILE ?? path.join(ROOT, 'deploy/Dockerfile');
const LAYERS = process.env.WADI_IMAGE_LAYERS ?? path.join(tmpdir(), 'wadi-ci-image-layers');
// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is read field by field
type Doc = any;

const strong = (bytes = 32) => randomBytes(bytes).toString('base64url');

/** Values the operator provides: strong random secrets, the sandbox's upstream credentials. */
function operatorValues(sandboxUrl: string, databaseUrl: string) {
  return {
    secrets: {
      DATABASE_URL: databaseUrl,
      ADMIN_API_KEY: strong(),
      METRICS_TOKEN: strong(),
      WHATSAPP_APP_SECRET: strong(),
      WHATSAPP_VERIFY_TOKEN: strong(),
      TELEGRAM_WEBHOOK_SECRET: strong(),
      OPENAI_API_KEY: `sk-${strong()}`,
      // The upstream is the sandbox, which knows only its own access and bot tokens.
      WHATSAPP_ACCESS_TOKEN: SANDBOX_CREDENTIALS.whatsappAccessToken,
      WHATSAPP_PHONE_NUMBER_ID: SANDBOX_CREDENTIALS.whatsappPhoneNumberId,
      TELEGRAM_BOT_TOKEN: SANDBOX_CREDENTIALS.telegramBotToken,
    } as Record<string, string>,
    // Where the real platforms would be: the separate sandbox process.
    upstream: {
      WHATSAPP_GRAPH_URL: `${sandboxUrl}/sandbox/graph`,
      TELEGRAM_API_URL: `${sandboxUrl}/sandbox/telegram`,
      OPENAI_BASE_URL: `${sandboxUrl}/sandbox/openai/v1`,
    },
  };
}

/** Points a manifest's service host (redis:6379, postgres:5432) at this machine's real service. */
function local(url: string, real: string, keepPath = false): string {
  const u = new URL(url);
  const r = new URL(real);
  u.protocol = r.protocol;
  u.host = r.host;
  u.username = r.username;
  u.password = r.password;
  if (!keepPath) u.pathname = r.pathname;
  return u.toString();
}

/** docker compose interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error}. */
function interpolate(value: string, vars: Record<string, string | undefined>): string {
  return value.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_m, name: string, op?: string, arg?: string) => {
    const v = vars[name];
    if (v) return v;
    if (op === '?') throw new Error(`compose: ${arg}`);
    return op === '-' ? (arg ?? '') : '';
  });
}

interface Pod {
  readonly child: ChildProcess;
  readonly port: number;
  readonly url: string;
  output(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** Runs the image's entrypoint as uid 1000 in the replayed /app, like a container would. */
function runPod(image: Image, command: string[], env: Record<string, string>, port: number): Pod {
  const [exe, ...args] = command;
  expect(exe).toBe('node');
  const child = spawn(image.node, args, {
    cwd: image.app,
    uid: UID,
    gid: UID,
    // A container's environment: the image's, the manifests', nothing of this machine's.
    env: {
      PATH: `${path.dirname(image.node)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      HOME: image.home,
      ...env,
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  return { child, port, url: `http://127.0.0.1:${port}`, output: () => out, exited };
}

interface Image {
  readonly stages: Stage[];
  readonly runtime: Stage;
  readonly app: string;
  readonly rootfs: string;
  readonly node: string;
  readonly home: string;
  readonly env: Record<string, string>;
  readonly entrypoint: string[];
  readonly log: ReplayLog;
}

let dir = '';
let image: Image;
let sandbox: WadiProcess;
let sandboxUrl = '';

describe.skipIf(!ENABLED)(
  'the image replay (deploy/Dockerfile, run as the manifests run it)',
  { timeout: 120_000 },
  () => {
    beforeAll(async () => {
      if (!existsSync(NODE24)) throw new Error(`Node 24 not found at ${NODE24} (set WADI_IMAGE_NODE)`);
      mkdirSync(LAYERS, { recursive: true, mode: 0o755 });
      dir = mkdtempSync(path.join(tmpdir(), 'wadi-image-'));
      const rootfs = path.join(dir, 'rootfs');
      // The base image's node, at its path in node:24-slim.
      const node = inRootfs(rootfs, '/usr/local/bin/node');
      mkdirSync(path.dirname(node), { recursive: true });
      try {
        linkSync(NODE24, node);
      } catch {
        copyFileSync(NODE24, node);
      }
      const home = inRootfs(rootfs, '/home/node');
      mkdirSync(home, { recursive: true });
      chownSync(home, UID, UID);
      const stages = dockerStages(readFileSync(DOCKERFILE, 'utf8'));
      const runtime = stages.at(-1) as Stage;
      const log: ReplayLog = { substituted: [], skipped: [] };
      const app = replayStage(
        stages,
        runtime,
        {
          dir,
          rootfs,
          env: { ...process.env, PATH: `${path.dirname(node)}:${process.env.PATH}`, NODE_ENV: undefined },
          // Outside /root (not readable by uid 1000), kept between runs like Docker's layer cache.
          cacheDir: LAYERS,
        },
        log,
      );
      // ENV lines, with absolute paths moved into the replay's rootfs.
      const env = Object.fromEntries(
        Object.entries(stageEnv(runtime)).map(([k, v]) => [k, v.startsWith('/var/') ? inRootfs(rootfs, v) : v]),
      );
      const ins = (op: string) => runtime.instructions.filter(([k]) => k === op).map(([, v]) => v);
      const entrypoint = [
        ...(JSON.parse(ins('ENTRYPOINT').at(-1) ?? '[]') as string[]),
        ...(JSON.parse(ins('CMD').at(-1) ?? '[]') as string[]),
      ];
      image = { stages, runtime, app, rootfs, node, home, env, entrypoint, log };

      const port = await freePort();
      sandbox = spawnWadi(['sandbox', '--port', String(port)], { env: { NODE_ENV: 'development' } });
      sandboxUrl = `http://127.0.0.1:${port}`;
      await waitFor(`${sandboxUrl}/sandbox/outbox?summary=1`, { timeoutMs: 60_000 });
    }, 900_000);

    afterAll(async () => {
      sandbox?.child.kill('SIGTERM');
      await sandbox?.exited;
      if (dir) rmSync(dir, { recursive: true, force: true });
    }, 300_000);

    it('holds what the runtime needs and nothing else: no tests, bench, docs, web sources or dev dependencies', () => {
      const files = listFiles(image.app).filter((f) => !f.startsWith('node_modules/'));
      expect(files).toContain('bin/wadi.js');
      expect(files).toContain('web/dist/index.html');
      expect(files.some((f) => /^web\/dist\/assets\/.+\.js$/.test(f))).toBe(true);
      expect(files.some((f) => /^migrations\/.+\.sql$/.test(f))).toBe(true);
      expect(files.filter((f) => /\.test\.ts$/.test(f))).toEqual([]);
      const tops = new Set(files.map((f) => f.split('/')[0]));
      for (const out of ['test', 'bench', 'docs', 'scripts', '.ci', 'deploy', '.git', 'README.md']) {
        expect(tops.has(out), out).toBe(false);
      }
      expect(files.filter((f) => f.startsWith('web/') && !f.startsWith('web/dist/'))).toEqual([]);
      const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
        dependencies: Record<string, string>;
      };
      const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
        packages: Record<string, { dev?: boolean }>;
      };
      const modules = path.join(image.app, 'node_modules');
      for (const dep of Object.keys(pkg.dependencies)) expect(existsSync(path.join(modules, dep)), dep).toBe(true);
      // Whatever only the dev tree needs (vite, vitest, biome, typescript…) is absent.
      const devOnly = Object.entries(lock.packages)
        .filter(([p, info]) => p.startsWith('node_modules/') && info.dev)
        .map(([p]) => p);
      expect(devOnly.length).toBeGreaterThan(10);
      expect(devOnly.filter((p) => existsSync(path.join(image.app, p)))).toEqual([]);
      // The node image's entry point, exec form: node is PID 1.
      expect(image.entrypoint).toEqual(['node', 'bin/wadi.js', 'start']);
      expect(image.env.NODE_ENV).toBe('production');
      expect(readdirSync(image.app)).not.toContain('.env');
    });

    for (const variant of ['kubernetes', 'compose'] as const) {
      describe(`as ${variant === 'kubernetes' ? 'deploy/k8s' : 'deploy/docker-compose.yml'} runs it`, () => {
        const pods: { web?: Pod; worker?: Pod } = {};
        let proxy: ForwardingProxy;
        let db: { url: string; drop: () => Promise<void> };
        let pool: pg.Pool;
        let values: ReturnType<typeof operatorValues>;
        let commands: { web: string[]; worker: string[] };
        let graceSeconds: { web: number; worker: number };

        beforeAll(async () => {
          db = await createPostgresDatabase();
          pool = new pg.Pool({ connectionString: db.url, max: 2 });
          values = operatorValues(sandboxUrl, db.url);
          const redis = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
          let envs: { web: Record<string, string>; worker: Record<string, string> };
          if (variant === 'kubernetes') {
            const docs = readdirSync(path.join(ROOT, 'deploy/k8s'))
              .filter((f) => f.endsWith('.yaml'))
              .flatMap((f) =>
                parseAllDocuments(readFileSync(path.join(ROOT, 'deploy/k8s', f), 'utf8')).map((d) => d.toJS() as Doc),
              )
              .filter(Boolean);
            const configMaps = new Map<string, Record<string, string>>(
              docs.filter((d) => d.kind === 'ConfigMap').map((d) => [d.metadata.name, d.data ?? {}]),
            );
            const podEnv = (deployment: string) => {
              const d = docs.find((x) => x.kind === 'Deployment' && x.metadata.name === deployment);
              const pod = d.spec.template.spec;
              const c = pod.containers[0];
              const env: Record<string, string> = {};
              // envFrom first, then env, as the kubelet does.
              for (const from of c.envFrom ?? []) {
                if (from.configMapRef) Object.assign(env, configMaps.get(from.configMapRef.name));
                if (from.secretRef) Object.assign(env, values.secrets);
              }
              for (const e of c.env ?? []) {
                if (e.value !== undefined) env[e.name] = String(e.value);
                else if (e.valueFrom?.secretKeyRef) {
                  const v = values.secrets[e.valueFrom.secretKeyRef.key];
                  if (v === undefined && !e.valueFrom.secretKeyRef.optional) {
                    throw new Error(`${deployment}: Secret key ${e.valueFrom.secretKeyRef.key} is not provided`);
                  }
                  if (v !== undefined) env[e.name] = v;
                } else if (e.valueFrom?.configMapKeyRef) {
                  const v = configMaps.get(e.valueFrom.configMapKeyRef.name)?.[e.valueFrom.configMapKeyRef.key];
                  if (v !== undefined) env[e.name] = v;
                }
              }
              const preStop = c.lifecycle?.preStop?.exec?.command as string[] | undefined;
              const preStopSeconds = preStop?.[0] === 'sleep' ? Number(preStop[1]) : 0;
              return { env, command: c.command as string[], grace: pod.terminationGracePeriodSeconds - preStopSeconds };
            };
            const web = podEnv('wadi-web');
            const worker = podEnv('wadi-worker');
            envs = { web: web.env, worker: worker.env };
            commands = { web: web.command, worker: worker.command };
            graceSeconds = { web: web.grace, worker: worker.grace };
          } else {
            const compose = parseAllDocuments(readFileSync(path.join(ROOT, 'deploy/docker-compose.yml'), 'utf8'), {
              merge: true,
            })[0]?.toJS({ maxAliasCount: -1 }) as Doc;
            const vars: Record<string, string> = {
              ...values.secrets,
              POSTGRES_PASSWORD: strong(),
              PUBLIC_URL: 'https://wadi.example.test',
              CORS_ORIGINS: 'https://wadi.example.test',
            };
            const service = (name: 'web' | 'worker') => {
              const svc = compose.services[name];
              const env = Object.fromEntries(
                Object.entries<string>(svc.environment).map(([k, v]) => [k, interpolate(String(v), vars)]),
              );
              for (const [k, v] of Object.entries(env)) if (v === '') delete env[k];
              return { env, command: [...image.entrypoint.slice(0, 2), ...(svc.command as string[])] };
            };
            const web = service('web');
            const worker = service('worker');
            envs = { web: web.env, worker: worker.env };
            commands = { web: web.command, worker: worker.command };
            const grace = Number.parseInt(compose.services.web.stop_grace_period, 10);
            graceSeconds = { web: grace, worker: Number.parseInt(compose.services.worker.stop_grace_period, 10) };
          }
          for (const role of ['web', 'worker'] as const) {
            const e = envs[role];
            // The manifests' service hosts are this machine's real PostgreSQL and Redis.
            e.DATABASE_URL = local(e.DATABASE_URL ?? values.secrets.DATABASE_URL, db.url);
            if (e.REDIS_URL) e.REDIS_URL = local(e.REDIS_URL, redis);
            if (e.BACKUP_DIR?.startsWith('/var/')) e.BACKUP_DIR = inRootfs(image.rootfs, e.BACKUP_DIR);
            Object.assign(e, values.upstream);
          }
          const [webPort, workerPort] = [await freePort(), await freePort()];
          pods.worker = runPod(image, commands.worker, { ...image.env, ...envs.worker }, workerPort);
          pods.web = runPod(image, commands.web, { ...image.env, ...envs.web }, webPort);
          for (const pod of [pods.worker, pods.web]) {
            // The kubelet's readiness probe goes to the pod directly.
            await Promise.race([
              waitFor(`${pod.url}/health/ready`, { timeoutMs: 120_000 }),
              pod.exited.then(({ code }) => {
                throw new Error(`exited with ${code} before it was ready:\n${pod.output().slice(-4000)}`);
              }),
            ]).catch((err: Error) => {
              throw new Error(`${pod === pods.web ? 'web' : 'worker'}: ${err.message}\n${pod.output().slice(-4000)}`);
            });
          }
          // The ingress connects from an address of its own, as a pod network does.
          proxy = await startForwardingProxy({ target: pods.web.url, egressAddress: '127.0.0.2' });
        }, 300_000);

        afterAll(async () => {
          for (const pod of [pods.web, pods.worker]) {
            if (pod && pod.child.exitCode === null && pod.child.signalCode === null) pod.child.kill('SIGKILL');
            await pod?.exited;
          }
          await proxy?.close();
          await pool?.end();
          await db?.drop();
        }, 120_000);

        // The platforms redeliver a webhook answered 503 and browsers retry a page: so does this
        // client when WADI sheds load (this shared 2-core machine can stall its event loop).
        const call = async (p: string, init: RequestInit = {}) => {
          const deadline = Date.now() + 30_000;
          for (;;) {
            const res = await fetch(`${proxy.url}${p}`, { redirect: 'manual', ...init });
            if (res.status !== 503 || res.headers.get('retry-after') === null || Date.now() > deadline) return res;
            await res.arrayBuffer();
            await new Promise((r) => setTimeout(r, 1000));
          }
        };
        const explain = async (res: Response) =>
          `${res.status} ${res.headers.get('location') ? `→ ${res.headers.get('location')} ` : ''}${(await res.clone().text()).slice(0, 300)}`;

        it('prints its start-up steps: the prebuilt dashboard, the database, the migrations', () => {
          const lines = (pods.web as Pod)
            .output()
            .split('\n')
            .filter((l) => l.startsWith('wadi: '));
          expect(lines[0]).toBe('wadi: dashboard  … prebuilt web/dist');
          expect(lines[1]).toMatch(/^wadi: database +… PostgreSQL at 127\.0\.0\.1:\d+ \(\d+\.\d s\)$/);
          expect(lines[2]).toMatch(/^wadi: migrations … (\d+ applied|up to date) \(\d+\.\d s\)$/);
          // The worker serves no dashboard.
          expect((pods.worker as Pod).output()).not.toContain('wadi: dashboard');
        });

        it('answers /health/ready 200 through the ingress', async () => {
          const res = await call('/health/ready');
          expect(res.status, await explain(res)).toBe(200);
          expect(res.headers.get('strict-transport-security')).toContain('max-age=');
        });

        it('serves the dashboard at /admin with every asset it references', async () => {
          const res = await call('/admin');
          expect(res.status, await explain(res)).toBe(200);
          expect(res.headers.get('content-type')).toContain('text/html');
          const html = await res.text();
          const assets = [...html.matchAll(/(?:src|href)="(\/admin\/assets\/[^"]+)"/g)].map((m) => m[1] as string);
          expect(assets.length).toBeGreaterThan(0);
          for (const a of assets) {
            const r = await call(a);
            expect(r.status, a).toBe(200);
            expect(r.headers.get('content-type'), a).toMatch(/javascript|css/);
            expect((await r.arrayBuffer()).byteLength, a).toBeGreaterThan(0);
          }
        });

        it('stores and answers a signed WhatsApp webhook, replying through the upstream', async () => {
          const from = `5491100${Date.now().toString().slice(-6)}`;
          const id = `wamid.replay.${variant}.${strong(6)}`;
          const body = metaJson(
            whatsappTextWebhook({
              from,
              id,
              text: 'hola, ¿funciona la imagen? ✓',
              phoneNumberId: values.secrets.WHATSAPP_PHONE_NUMBER_ID,
            }),
          );
          const res = await call('/webhooks/whatsapp', {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'x-hub-signature-256': signWhatsapp(body, values.secrets.WHATSAPP_APP_SECRET as string),
            },
            body,
          });
          expect(res.status, await explain(res)).toBe(200);
          const stored = await pool.query('select status from inbox_messages where channel = $1 and external_id = $2', [
            'whatsapp',
            id,
          ]);
          expect(stored.rowCount).toBe(1);
          const reply = await sandboxReply('whatsapp', (c) => String(c.body.to) === from);
          expect(reply, `no reply to ${from}:\n${pods.worker?.output().slice(-3000)}`).toBeDefined();
          // A bad signature is refused and stores nothing.
          const forged = metaJson(whatsappTextWebhook({ from, id: `${id}.forged`, text: 'x' }));
          const bad = await call('/webhooks/whatsapp', {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-hub-signature-256': signWhatsapp(forged, strong()) },
            body: forged,
          });
          expect(bad.status).toBe(401);
          const none = await pool.query('select 1 from inbox_messages where external_id = $1', [`${id}.forged`]);
          expect(none.rowCount).toBe(0);
        });

        it('stores and answers a Telegram update with the webhook secret', async () => {
          const chatId = 700_000_000 + Math.floor(Math.random() * 1_000_000);
          const updateId = 900_000_000 + Math.floor(Math.random() * 1_000_000);
          const res = await call('/webhooks/telegram', {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'x-telegram-bot-api-secret-token': values.secrets.TELEGRAM_WEBHOOK_SECRET as string,
            },
            body: JSON.stringify(telegramTextUpdate({ updateId, chatId, text: 'hola desde la imagen' })),
          });
          expect(res.status, await explain(res)).toBe(200);
          const stored = await pool.query('select 1 from inbox_messages where channel = $1 and chat_id = $2', [
            'telegram',
            String(chatId),
          ]);
          expect(stored.rowCount).toBe(1);
          const reply = await sandboxReply(
            'telegram',
            (c) => c.kind === 'sendMessage' && String(c.body.chat_id) === String(chatId),
          );
          expect(reply, `no reply to chat ${chatId}:\n${pods.worker?.output().slice(-3000)}`).toBeDefined();
        });

        it('exits 0 on SIGTERM within the grace period the manifests give', async () => {
          for (const role of ['web', 'worker'] as const) {
            const pod = pods[role] as Pod;
            const t0 = Date.now();
            pod.child.kill('SIGTERM');
            const { code, at } = await pod.exited;
            expect(code, `${role}:\n${pod.output().slice(-2000)}`).toBe(0);
            expect((at - t0) / 1000, role).toBeLessThan(graceSeconds[role]);
          }
        }, 120_000);
      });
    }
  },
);

/** Polls the sandbox's record of upstream calls until `match` finds a successful send. */
async function sandboxReply(
  channel: 'whatsapp' | 'telegram',
  match: (c: { kind: string; body: Record<string, unknown> }) => boolean,
  timeoutMs = 60_000,
): Promise<{ kind: string; body: Record<string, unknown> } | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(`${sandboxUrl}/sandbox/outbox?channel=${channel}`);
    const { calls } = (await res.json()) as {
      calls: { kind: string; body: Record<string, unknown>; status: number }[];
    };
    const hit = calls.find((c) => c.status === 200 && (c.kind === 'send_text' || c.kind === 'sendMessage') && match(c));
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 250));
  }
  return undefined;
}
