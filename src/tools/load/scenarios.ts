/**
 * Reads and validates load/scenarios.json, the single definition of the smoke, load and stress
 * scenarios shared by `wadi load` and the k6 scripts.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** Where the scenario file lives. */
export const SCENARIOS_FILE = fileURLToPath(new URL('../../../load/scenarios.json', import.meta.url));

const thresholds = z.object({
  p95Ms: z.number().positive(),
  errorRate: z.number().min(0).max(1),
  /** Time-to-reply p95 (webhook accepted → reply accepted by the fake platform), sandbox targets only. */
  timeToReplyP95Ms: z.number().positive().optional(),
});
const operators = z.object({ clients: z.number().int().min(0), intervalMs: z.number().int().positive() });
const mix = z.object({
  whatsapp: z.number().min(0),
  telegram: z.number().min(0),
  health: z.number().min(0),
  admin: z.number().min(0),
});
const stage = z.object({ durationSeconds: z.number().int().positive(), target: z.number().int().positive() });
const scenario = z.object({
  description: z.string(),
  stages: z.array(stage).min(1),
  breakingPoint: z.boolean().optional(),
  thresholds: thresholds.optional(),
  thinkTimeMs: z.number().int().min(0).optional(),
  mix: mix.optional(),
  operators: operators.optional(),
});
const file = z.object({
  defaults: z.object({
    thinkTimeMs: z.number().int().min(0),
    userPool: z.number().int().positive(),
    mix,
    thresholds,
    operators,
  }),
  scenarios: z.object({ smoke: scenario, load: scenario, stress: scenario }),
});

/** A scenario with defaults applied. */
export interface Scenario {
  readonly name: ScenarioName;
  readonly description: string;
  readonly stages: readonly { readonly durationSeconds: number; readonly target: number }[];
  readonly breakingPoint: boolean;
  readonly thresholds: { readonly p95Ms: number; readonly errorRate: number; readonly timeToReplyP95Ms?: number };
  /** Dashboards: `clients` operators each reading /admin/stats and /admin/sessions every `intervalMs`. */
  readonly operators: { readonly clients: number; readonly intervalMs: number };
  readonly thinkTimeMs: number;
  readonly userPool: number;
  readonly mix: {
    readonly whatsapp: number;
    readonly telegram: number;
    readonly health: number;
    readonly admin: number;
  };
}

/** The three scenarios. */
export type ScenarioName = 'smoke' | 'load' | 'stress';
export const SCENARIO_NAMES: readonly ScenarioName[] = ['smoke', 'load', 'stress'];

/** Loads one scenario; throws with the file and the problem when the file is invalid. */
export function loadScenario(name: ScenarioName, path = SCENARIOS_FILE): Scenario {
  const parsed = file.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) {
    throw new Error(
      `${path} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const { defaults, scenarios } = parsed.data;
  const s = scenarios[name];
  return {
    name,
    description: s.description,
    stages: s.stages,
    breakingPoint: s.breakingPoint ?? false,
    thresholds: s.thresholds ?? defaults.thresholds,
    thinkTimeMs: s.thinkTimeMs ?? defaults.thinkTimeMs,
    userPool: defaults.userPool,
    mix: s.mix ?? defaults.mix,
    operators: s.operators ?? defaults.operators,
  };
}

/** Scales every stage to fit `totalSeconds` (for `--duration` and CI's shortened smoke). */
export function withDuration(s: Scenario, totalSeconds: number): Scenario {
  const total = s.stages.reduce((n, st) => n + st.durationSeconds, 0);
  const f = totalSeconds / total;
  return {
    ...s,
    stages: s.stages.map((st) => ({ ...st, durationSeconds: Math.max(1, Math.round(st.durationSeconds * f)) })),
  };
}
