/**
 * No container engine runs here, so the deployment files are checked by parsing them: the things
 * that break production when wrong (root user, probes on the wrong route, a shell as PID 1, grace
 * periods that cut shutdown short, secrets written into files).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { SECRET_VARS } from '../../src/config/schema.ts';
import { dockerStages, stageEnv } from './dockerfile.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (f: string) => readFileSync(path.join(ROOT, f), 'utf8');
// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is checked field by field below
type Doc = any;

function k8sDocs(): Doc[] {
  const dir = path.join(ROOT, 'deploy/k8s');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => parseAllDocuments(readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJS()))
    .filter(Boolean);
}

describe('deploy/Dockerfile', () => {
  const stages = dockerStages(read('deploy/Dockerfile'));
  const runtime = stages.at(-1);
  const ins = (op: string) => runtime?.instructions.filter(([k]) => k === op).map(([, v]) => v) ?? [];

  it('is multi-stage on node:24-slim with production dependencies from npm ci --omit=dev', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(runtime?.from).toBe('node:24-slim');
    const allRuns = stages.flatMap((s) => s.instructions.filter(([k]) => k === 'RUN').map(([, v]) => v));
    expect(allRuns.some((r) => r.includes('npm ci --omit=dev'))).toBe(true);
    expect(ins('COPY').some((c) => c.includes('--from=deps') && c.includes('node_modules'))).toBe(true);
  });

  it('builds the dashboard in the build stage and ships web/dist, not the test files', () => {
    const build = stages.find((s) => s.name === 'build');
    const runs = build?.instructions.filter(([k]) => k === 'RUN').map(([, v]) => v) ?? [];
    expect(runs.some((r) => r.includes('npm run build:web'))).toBe(true);
    expect(ins('COPY')).toContain('--from=build /app/web/dist ./web/dist');
    // src/ comes from the build stage, where the colocated tests were deleted.
    expect(ins('COPY')).toContain('--from=build /app/src ./src');
    expect(runs.some((r) => /find src -name '\*\.test\.ts' -delete/.test(r))).toBe(true);
  });

  it('runs as a non-root user, with node itself as PID 1 running bin/wadi.js start', () => {
    const users = ins('USER');
    expect(users.length).toBeGreaterThan(0);
    expect(['root', '0', '0:0']).not.toContain(users.at(-1));
    const entry = JSON.parse(ins('ENTRYPOINT').at(-1) ?? '[]') as string[];
    const cmd = JSON.parse(ins('CMD').at(-1) ?? '[]') as string[];
    // Exec form (JSON array): no shell in between to swallow SIGTERM.
    expect([...entry, ...cmd]).toEqual(['node', 'bin/wadi.js', 'start']);
    // USER comes before the entrypoint in the final stage.
    const order = runtime?.instructions.map(([k]) => k) ?? [];
    expect(order.lastIndexOf('USER')).toBeLessThan(order.indexOf('ENTRYPOINT'));
  });

  it("caps V8's young generation at Node 20's size (Node 24 sizes it from the host's memory)", () => {
    expect(runtime && stageEnv(runtime).NODE_OPTIONS).toBe('--max-semi-space-size=16');
  });

  it('has a HEALTHCHECK on /health/live and installs the PostgreSQL client for backups', () => {
    expect(ins('HEALTHCHECK').join(' ')).toContain('/health/live');
    expect(ins('RUN').join(' ')).toMatch(/apt-get install[^&]*postgresql-client/);
  });

  it('bakes in no secret', () => {
    const text = read('deploy/Dockerfile');
    for (const name of SECRET_VARS) expect(text).not.toMatch(new RegExp(`\\b${name}\\b`));
    expect(text).not.toMatch(/DATABASE_URL\s*=/);
    const ignore = read('.dockerignore').split('\n');
    for (const p of ['.env', '.env.*', 'node_modules', 'data', 'backups', '.git']) expect(ignore).toContain(p);
  });
});

describe('deploy/docker-compose.yml', () => {
  const compose = parseAllDocuments(read('deploy/docker-compose.yml'), { merge: true })[0]?.toJS({
    maxAliasCount: -1,
  }) as Doc;

  it('runs web, worker, PostgreSQL and Redis, each with a health check, data on volumes', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['postgres', 'redis', 'web', 'worker']);
    for (const [name, svc] of Object.entries<Doc>(compose.services)) {
      expect(svc.healthcheck?.test, name).toBeDefined();
    }
    expect(compose.services.web.command).toEqual(['start', '--role', 'web']);
    expect(compose.services.worker.command).toEqual(['start', '--role', 'worker']);
    expect(compose.services.web.healthcheck.test.join(' ')).toContain('/health/ready');
    expect(compose.services.web.depends_on.postgres.condition).toBe('service_healthy');
    expect(compose.services.postgres.volumes[0]).toMatch(/^pgdata:/);
    expect(compose.services.redis.volumes[0]).toMatch(/^redisdata:/);
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['pgdata', 'redisdata', 'backups']));
  });

  it('takes every secret from the environment, never a literal', () => {
    for (const svc of ['web', 'worker', 'postgres']) {
      const env = compose.services[svc].environment as Record<string, string>;
      for (const [k, v] of Object.entries(env)) {
        if ((SECRET_VARS as readonly string[]).includes(k) || /PASSWORD|SECRET|TOKEN|KEY/.test(k)) {
          expect(String(v), `${svc}.${k}`).toMatch(/^\$\{\w+(:[?-][^}]*)?\}$/);
        }
      }
      // The database URL's password is interpolated, not written.
      if (env.DATABASE_URL) expect(env.DATABASE_URL).toMatch(/:\$\{POSTGRES_PASSWORD[^}]*\}@/);
    }
  });

  it('gives containers more time to stop than WADI needs', () => {
    const grace = Number(compose.services.web.environment.SHUTDOWN_GRACE_MS) / 1000;
    for (const svc of ['web', 'worker']) {
      expect(Number.parseInt(compose.services[svc].stop_grace_period, 10)).toBeGreaterThan(grace);
    }
  });
});

describe('deploy/k8s', () => {
  const docs = k8sDocs();
  const config = docs.find((d) => d.kind === 'ConfigMap').data as Record<string, string>;
  const deployments = docs.filter((d) => d.kind === 'Deployment');
  const graceMs = Number(config.SHUTDOWN_GRACE_MS);
  const delayMs = Number(config.SHUTDOWN_DELAY_MS ?? 0);

  it('has separate web and worker Deployments running node as non-root', () => {
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['wadi-web', 'wadi-worker']);
    for (const d of deployments) {
      const pod = d.spec.template.spec;
      const c = pod.containers[0];
      expect(c.command.slice(0, 3)).toEqual(['node', 'bin/wadi.js', 'start']);
      expect(c.command).toContain(d.metadata.name === 'wadi-web' ? 'web' : 'worker');
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
    }
  });

  it('probes the contract routes: startup and liveness on /health/live, readiness on /health/ready', () => {
    for (const d of deployments) {
      const c = d.spec.template.spec.containers[0];
      expect(c.startupProbe.httpGet.path).toBe('/health/live');
      expect(c.livenessProbe.httpGet.path).toBe('/health/live');
      expect(c.readinessProbe.httpGet.path).toBe('/health/ready');
    }
  });

  it('drains for as long as readiness takes to fail, and the grace period covers preStop plus WADI shutdown', () => {
    for (const d of deployments) {
      const pod = d.spec.template.spec;
      const c = pod.containers[0];
      const preStop = c.lifecycle?.preStop?.exec?.command as string[] | undefined;
      const preStopSeconds = preStop ? Number(preStop[1]) : 0;
      if (d.metadata.name === 'wadi-web') {
        expect(preStop?.[0]).toBe('sleep');
        expect(preStopSeconds).toBe(c.readinessProbe.periodSeconds * c.readinessProbe.failureThreshold);
      }
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(preStopSeconds + (graceMs + delayMs) / 1000);
    }
  });

  it('references the Secret instead of inlining one, and no manifest carries a secret value', () => {
    expect(docs.filter((d) => d.kind === 'Secret')).toHaveLength(0);
    for (const d of [...deployments, ...docs.filter((x) => x.kind === 'CronJob')]) {
      const pod = d.kind === 'CronJob' ? d.spec.jobTemplate.spec.template.spec : d.spec.template.spec;
      expect(pod.containers[0].envFrom).toContainEqual({ secretRef: { name: 'wadi-secrets' } });
    }
    for (const name of [...SECRET_VARS, 'DATABASE_URL']) expect(Object.keys(config)).not.toContain(name);
  });

  it('has a PodDisruptionBudget and a CPU HorizontalPodAutoscaler for each Deployment', () => {
    for (const name of ['wadi-web', 'wadi-worker']) {
      const pdb = docs.find((d) => d.kind === 'PodDisruptionBudget' && d.metadata.name === name);
      expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
      const hpa = docs.find((d) => d.kind === 'HorizontalPodAutoscaler' && d.spec.scaleTargetRef.name === name);
      expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    }
    const svc = docs.find((d) => d.kind === 'Service');
    expect(svc.spec.selector['app.kubernetes.io/component']).toBe('web');
  });

  it('offers a CronJob that runs `wadi backup` with node, one at a time', () => {
    const job = docs.find((d) => d.kind === 'CronJob');
    const c = job.spec.jobTemplate.spec.template.spec.containers[0];
    expect(c.command.slice(0, 3)).toEqual(['node', 'bin/wadi.js', 'backup']);
    expect(job.spec.concurrencyPolicy).toBe('Forbid');
    expect(job.spec.jobTemplate.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
  });
});
