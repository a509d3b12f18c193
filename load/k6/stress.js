// @ts-check
// k6 run load/k6/stress.js — the "stress" scenario of load/scenarios.json (see load/README.md).
import { iteration } from './lib.js';
import { buildOptions } from './options.js';

/** @type {import('./options.js').ScenarioFile} */
const file = JSON.parse(open('../scenarios.json'));

export const options = buildOptions(file, 'stress');

export default function () {
  iteration(file, 'stress');
}
