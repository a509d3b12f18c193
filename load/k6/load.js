// @ts-check
// k6 run load/k6/load.js — the "load" scenario of load/scenarios.json (see load/README.md).
import { iteration, operator as operatorRead, recordTimeToReply, sandboxStart } from './lib.js';
import { buildOptions } from './options.js';

/** @type {import('./options.js').ScenarioFile} */
const file = JSON.parse(open('../scenarios.json'));

export const options = buildOptions(file, 'load', __ENV.ADMIN_API_KEY || '');

export default function () {
  iteration(file, 'load');
}

export function operator() {
  operatorRead(file, 'load');
}

export function setup() {
  return sandboxStart();
}

/** @param {{ seq: number | null }} data */
export function teardown(data) {
  recordTimeToReply(data);
}
