// @ts-check
/**
 * Pure helpers shared by the k6 scripts and by WADI's own test suite (no k6 imports here, so Node
 * can load this file to check the scripts stay in sync with load/scenarios.json).
 */

/**
 * @typedef {{ durationSeconds: number, target: number }} Stage
 * @typedef {{ p95Ms: number, errorRate: number, timeToReplyP95Ms?: number }} Thresholds
 * @typedef {{ clients: number, intervalMs: number }} Operators
 * @typedef {{ whatsapp: number, telegram: number, health: number, admin: number }} Mix
 * @typedef {{ description: string, stages: Stage[], breakingPoint?: boolean, thresholds?: Thresholds, thinkTimeMs?: number, mix?: Mix, operators?: Operators }} ScenarioDef
 * @typedef {{ defaults: { thinkTimeMs: number, userPool: number, mix: Mix, thresholds: Thresholds, operators: Operators }, scenarios: Record<string, ScenarioDef> }} ScenarioFile
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
    operators: s.operators || file.defaults.operators,
  };
}

/**
 * k6 options: one ramping-vus scenario with the file's stages and thresholds.
 * @param {ScenarioFile} file
 * @param {string} name
 */
export function buildOptions(file, name, adminKey = '') {
  const s = resolveScenario(file, name);
  const total = s.stages.reduce((a, st) => a + st.durationSeconds, 0);
  /** @type {Record<string, unknown>} */
  const scenarios = {
    [name]: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: s.stages.map((st) => ({ duration: `${st.durationSeconds}s`, target: st.target })),
      gracefulRampDown: '5s',
    },
  };
  // Dashboards: a few operator clients reading at a dashboard's rate (see operator() in lib.js).
  if (adminKey && s.operators.clients > 0) {
    scenarios.operators = {
      executor: 'constant-vus',
      vus: s.operators.clients,
      duration: `${total}s`,
      exec: 'operator',
    };
  }
  /** @type {Record<string, { threshold: string, abortOnFail: boolean }[]>} */
  const thresholds = {
    // Stress reports its breaking point instead of aborting; smoke and load must hold.
    http_req_duration: [{ threshold: `p(95)<${s.thresholds.p95Ms}`, abortOnFail: false }],
    http_req_failed: [{ threshold: `rate<${s.thresholds.errorRate}`, abortOnFail: false }],
  };
  // Webhook accepted → reply accepted by the sandbox's fake platform (measured in teardown()).
  if (s.thresholds.timeToReplyP95Ms) {
    thresholds.time_to_reply = [{ threshold: `p(95)<=${s.thresholds.timeToReplyP95Ms}`, abortOnFail: false }];
  }
  // teardown() waits WADI_DRAIN_SECONDS (30) for the last replies before timing them.
  return { scenarios, thresholds, teardownTimeout: '120s', summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'] };
}

/**
 * Time-to-reply of the replies in a sandbox outbox listing: load messages say `hola <n>`, then an
 * at sign and the epoch milliseconds the webhook was sent; the sandbox LLM echoes the last one of a burst.
 * @param {{ kind: string, at: string, status: number, body: any }[]} calls
 * @returns {{ channel: string, ms: number }[]}
 */
export function replyTimes(calls) {
  const out = [];
  for (const c of calls) {
    if (c.status !== 200) continue;
    const text = c.kind === 'send_text' ? c.body?.text?.body : c.kind === 'sendMessage' ? c.body?.text : undefined;
    const m = typeof text === 'string' ? /hola \d+ @(\d+)/.exec(text) : null;
    if (!m) continue;
    out.push({ channel: c.kind === 'send_text' ? 'whatsapp' : 'telegram', ms: Date.parse(c.at) - Number(m[1]) });
  }
  return out;
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
