/**
 * The Kubernetes manifests against Kubernetes' own schemas (kubernetes-models: the OpenAPI schemas
 * of the API server, compiled per kind), and against WADI itself: every variable they set exists in
 * the config schema, every variable production requires is set or taken from the Secret, the probes
 * hit routes WADI serves, the ports are the one it listens on, the commands are ones the CLI accepts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Service } from 'kubernetes-models/v1/Service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { createWadi, type Wadi } from '../../src/app/wadi.ts';
import { buildProgram } from '../../src/cli/index.ts';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { envSchema } from '../../src/config/schema.ts';
import { testDatabase } from '../helpers/db.ts';
import { testConfig } from '../helpers/wadi.ts';
import { dockerStages, ROOT, stageEnv } from './dockerfile.ts';

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is checked field by field below
type Doc = any;

const K8S = path.join(ROOT, 'deploy/k8s');
const files = readdirSync(K8S).filter((f) => f.endsWith('.yaml'));
const docs: { file: string; doc: Doc }[] = files.flatMap((file) =>
  parseAllDocuments(readFileSync(path.join(K8S, file), 'utf8'))
    .map((d) => ({ file, doc: d.toJS() as Doc }))
    .filter((d) => d.doc),
);
const MODELS: Record<string, new (data: Doc) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'batch/v1/CronJob': CronJob,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
};
const of = (kind: string) => docs.filter((d) => d.doc.kind === kind).map((d) => d.doc);
const config = of('ConfigMap')[0].data as Record<string, string>;
const workloads = [...of('Deployment'), ...of('CronJob')];
const podSpec = (w: Doc) => (w.kind === 'CronJob' ? w.spec.jobTemplate.spec.template.spec : w.spec.template.spec);
const container = (w: Doc) => podSpec(w).containers[0];
const dockerfile = dockerStages(readFileSync(path.join(ROOT, 'deploy/Dockerfile'), 'utf8'));
const imageEnv = stageEnv(dockerfile.at(-1) as (typeof dockerfile)[number]);
const KNOWN = new Set(Object.keys(envSchema.shape));

/** Secret keys the manifests name (secretKeyRef) and the ones the ConfigMap's instructions create. */
function secretKeys(): { required: Set<string>; all: Set<string> } {
  const required = new Set<string>();
  const all = new Set<string>();
  for (const w of workloads) {
    for (const e of container(w).env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (!ref) continue;
      all.add(ref.key);
      if (!ref.optional) required.add(e.name);
    }
  }
  const instructions = readFileSync(path.join(K8S, 'configmap.yaml'), 'utf8');
  for (const m of instructions.matchAll(/--from-literal=(\w+)=/g)) all.add(m[1] as string);
  return { required, all };
}

/** A strong value for a Secret key, shaped as WADI expects it. */
function secretValue(key: string): string {
  if (key === 'DATABASE_URL') return 'postgres://wadi:s3cret-0123456789abcdef@db.internal:5432/wadi';
  if (key === 'TELEGRAM_BOT_TOKEN') return '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0';
  return `k8s-${key.toLowerCase()}-0123456789abcdefghijklmnopqrstuvwxyz`;
}

describe('deploy/k8s against the Kubernetes schemas', () => {
  it.each(docs.map((d) => [`${d.file}: ${d.doc.kind} ${d.doc.metadata?.name ?? ''}`, d.doc]))('%s', (_l, doc) => {
    if (doc.kind === 'Kustomization') {
      // Not an API object: kustomize's own file. It must list every manifest, and only those.
      expect(doc.apiVersion).toBe('kustomize.config.k8s.io/v1beta1');
      expect([...doc.resources].sort()).toEqual(files.filter((f) => f !== 'kustomization.yaml').sort());
      return;
    }
    const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
    expect(Model, `no schema for ${doc.apiVersion} ${doc.kind}`).toBeDefined();
    expect(() => new (Model as NonNullable<typeof Model>)(doc).validate()).not.toThrow();
  });

  it('the validator refuses a broken manifest (so the check above can fail)', () => {
    const d = structuredClone(of('Deployment')[0]);
    d.spec.replicas = 'two';
    delete container(d).readinessProbe.httpGet.port;
    expect(() => new Deployment(d).validate()).toThrow(/replicas|port/);
  });

  it('selectors match the pods they select', () => {
    for (const d of of('Deployment')) {
      expect(d.spec.template.metadata.labels).toMatchObject(d.spec.selector.matchLabels);
    }
    const pods = of('Deployment').map((d) => d.spec.template.metadata.labels as Record<string, string>);
    const matches = (sel: Record<string, string>) =>
      pods.filter((l) => Object.entries(sel).every(([k, v]) => l[k] === v)).length;
    expect(matches(of('Service')[0].spec.selector)).toBe(1);
    for (const pdb of of('PodDisruptionBudget'))
      expect(matches(pdb.spec.selector.matchLabels), pdb.metadata.name).toBe(1);
    for (const hpa of of('HorizontalPodAutoscaler')) {
      expect(of('Deployment').map((d) => d.metadata.name)).toContain(hpa.spec.scaleTargetRef.name);
    }
  });
});

describe('deploy/k8s against what WADI reads and serves', () => {
  it('sets only variables WADI reads', () => {
    const set = new Set<string>(Object.keys(config));
    for (const w of workloads) for (const e of container(w).env ?? []) set.add(e.name);
    for (const k of secretKeys().all) set.add(k);
    expect([...set].filter((k) => !KNOWN.has(k))).toEqual([]);
    // The image may also set what Node itself reads (its heap sizing, see deploy/Dockerfile).
    const node = new Set(['NODE_OPTIONS']);
    expect(Object.keys(imageEnv).filter((k) => !KNOWN.has(k) && !node.has(k))).toEqual([]);
  });

  it('sets, or takes from the Secret, every variable production requires', () => {
    const { required, all } = secretKeys();
    const full: Record<string, string> = { ...imageEnv, ...config };
    for (const k of all) full[k] = secretValue(k);
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env, { persistGeneratedKey: false, cwd: ROOT });
        return [];
      } catch (err) {
        if (err instanceof ConfigError) return err.problems.map((p) => p.variable);
        throw err;
      }
    };
    // With the Secret as documented, production starts.
    expect(problems(full)).toEqual([]);
    // Each variable whose absence stops production is in the ConfigMap or a required secretKeyRef.
    const needed = Object.keys(full).filter((k) => {
      const { [k]: _gone, ...rest } = full;
      return problems(rest).length > 0;
    });
    expect(needed).toEqual(expect.arrayContaining(['DATABASE_URL', 'ADMIN_API_KEY', 'CORS_ORIGINS']));
    for (const k of needed) {
      // A channel's credentials depend on the channel the operator picks: the Secret's documented
      // keys cover them; everything else is in the ConfigMap, the image or a required secretKeyRef.
      const where = /^(WHATSAPP|TELEGRAM)_/.test(k) ? all.has(k) : k in config || k in imageEnv || required.has(k);
      expect(where, `${k} is required in production`).toBe(true);
    }
  });

  it('runs commands the CLI accepts', () => {
    const program = buildProgram();
    for (const w of workloads) {
      const [node, entry, name, ...rest] = container(w).command as string[];
      expect([node, entry]).toEqual(['node', 'bin/wadi.js']);
      const cmd = program.commands.find((c) => c.name() === name) as Command;
      expect(cmd, `${w.metadata.name}: ${name}`).toBeDefined();
      for (let i = 0; i < rest.length; i++) {
        const flag = rest[i] as string;
        if (!flag.startsWith('--')) continue;
        const opt = cmd.options.find((o) => o.long === flag);
        expect(opt, `${w.metadata.name}: ${name} ${flag}`).toBeDefined();
        if (opt?.argChoices) expect(opt.argChoices).toContain(rest[i + 1]);
      }
    }
  });

  it('uses the port the image listens on', () => {
    for (const d of of('Deployment')) {
      const ports = container(d).ports as { name: string; containerPort: number }[];
      expect(ports).toContainEqual({ name: 'http', containerPort: Number(config.PORT ?? imageEnv.PORT) });
    }
    const svc = of('Service')[0];
    const web = container(of('Deployment').find((d) => d.metadata.name === 'wadi-web'));
    expect(web.ports.map((p: { name: string }) => p.name)).toContain(svc.spec.ports[0].targetPort);
  });

  describe('probes', () => {
    let t: Awaited<ReturnType<typeof testDatabase>>;
    const wadis: Record<string, Wadi> = {};
    beforeAll(async () => {
      t = await testDatabase();
      for (const role of ['web', 'worker'] as const) {
        wadis[role] = await createWadi(testConfig(), { database: t.database, migrate: role === 'web', role });
        await wadis[role].app.ready();
      }
    });
    afterAll(async () => {
      for (const w of Object.values(wadis)) await w.stop();
      await t?.drop();
    });

    it('hit routes WADI serves in the role each Deployment runs', async () => {
      for (const d of of('Deployment')) {
        const c = container(d);
        const role = c.command[c.command.indexOf('--role') + 1] as string;
        for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
          const get = c[probe]?.httpGet;
          expect(get, `${d.metadata.name} ${probe}`).toBeDefined();
          expect(c.ports.map((p: { name: string }) => p.name)).toContain(get.port);
          const res = await (wadis[role] as Wadi).app.inject({ method: 'GET', url: get.path });
          expect(res.statusCode, `${d.metadata.name} ${probe} ${get.path}`).toBe(200);
        }
      }
    });
  });
});
