// @ts-check
// k6 run load/k6/smoke.js — the "smoke" scenario of load/scenarios.json (see load/README.md).
import { iteration, operator as operatorRead, recordTimeToReply, sandboxStart } from './lib.js';
import { buildOptions } from './options.js';

/** @type {import('./options.js').ScenarioFile} */
const file = JSON.parse(open('../scenarios.json'));

export const options = buildOptions(file, 'smoke', __ENV.ADMIN_API_KEY || '');

export default function () {
  iteration(file, 'smoke');
}

export function operator() {
  operatorRead(file, 'smoke');
}

export function setup() {
  return sandboxStart();
}

/** @param {{ seq: number | null }} data */
export function teardown(data) {
  recordTimeToReply(data);
}
