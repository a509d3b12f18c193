// @ts-check
/**
 * Pure helpers shared by the k6 scripts and by WADI's own test suite (no k6 imports here, so Node
 * can load this file to check the scripts stay in sync with load/scenarios.json).
 */

/**
 * @typedef {{ durationSeconds: number, target: number }} Stage
 * @typedef {{ p95Ms: number, errorRate: number }} Thresholds
 * @typedef {{ whatsapp: number, telegram: number, health: number, admin: number }} Mix
 * @typedef {{ description: string, stages: Stage[], breakingPoint?: boolean, thresholds?: Thresholds, thinkTimeMs?: number, mix?: Mix }} ScenarioDef
 * @typedef {{ defaults: { thinkTimeMs: number, userPool: number, mix: Mix, thresholds: Thresholds }, scenarios: Record<string, ScenarioDef> }} ScenarioFile
 */

/**
 * The scenario with defaults applied.
 * @param {ScenarioFile} file
 * @param {string} name
 */
export function resolveScenario(file, name) {
  const s = file.scenarios[name];
  if (!s) throw new Error(`unknown scenario ${name}`);
  return {
    name,
    stages: s.stages,
    breakingPoint: s.breakingPoint === true,
    thresholds: s.thresholds || file.defaults.thresholds,
    thinkTimeMs: s.thinkTimeMs === undefined ? file.defaults.thinkTimeMs : s.thinkTimeMs,
    userPool: file.defaults.userPool,
    mix: s.mix || file.defaults.mix,
  };
}

/**
 * k6 options: one ramping-vus scenario with the file's stages and thresholds.
 * @param {ScenarioFile} file
 * @param {string} name
 */
export function buildOptions(file, name) {
  const s = resolveScenario(file, name);
  return {
    scenarios: {
      [name]: {
        executor: 'ramping-vus',
        startVUs: 0,
        stages: s.stages.map((st) => ({ duration: `${st.durationSeconds}s`, target: st.target })),
        gracefulRampDown: '5s',
      },
    },
    thresholds: {
      // Stress reports its breaking point instead of aborting; smoke and load must hold.
      http_req_duration: [{ threshold: `p(95)<${s.thresholds.p95Ms}`, abortOnFail: false }],
      http_req_failed: [{ threshold: `rate<${s.thresholds.errorRate}`, abortOnFail: false }],
    },
    summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'],
  };
}

/**
 * Which request a virtual user sends next, by the mix's weights.
 * @param {Mix} mix
 * @param {number} r a random number in [0, 1)
 * @returns {'whatsapp' | 'telegram' | 'health' | 'admin'}
 */
export function pickKind(mix, r) {
  /** @type {['whatsapp' | 'telegram' | 'health' | 'admin', number][]} */
  const weights = [
    ['whatsapp', mix.whatsapp],
    ['telegram', mix.telegram],
    ['health', mix.health],
    ['admin', mix.admin],
  ];
  const total = weights.reduce((a, [, w]) => a + w, 0);
  let x = r * total;
  for (const [k, w] of weights) {
    if (x < w) return k;
    x -= w;
  }
  return 'health';
}
