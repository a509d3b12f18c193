/**
 * The admin contract (contract.ts) as the JSON schemas Fastify wants: they validate input (ajv),
 * shape output (fast-json-stringify drops undeclared fields) and become the OpenAPI 3.0 document
 * Retool and Appsmith read. Converted once, when a route module loads.
 */
import { z } from 'zod';
import { errorBody } from './contract.ts';

/** A JSON schema object. */
export type Schema = Record<string, unknown>;

/** Removes what zod adds on its own but the admin API never promised (see `toSchema`). */
function tidy(node: unknown, io: 'input' | 'output'): void {
  if (Array.isArray(node)) {
    for (const n of node) tidy(n, io);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const s = node as Schema;
  // z.int() carries the safe-integer range. Answers need not repeat it; input keeps it, so an id
  // such as 99999999999999999999 is a 400, not a number PostgreSQL's bigint refuses (a 500).
  if (io === 'output' && s.minimum === Number.MIN_SAFE_INTEGER) delete s.minimum;
  if (io === 'output' && s.maximum === Number.MAX_SAFE_INTEGER) delete s.maximum;
  // A loose object's "anything else": written `true`, as fast-json-stringify and OpenAPI read best.
  const extra = s.additionalProperties;
  if (extra !== null && typeof extra === 'object' && Object.keys(extra).length === 0) s.additionalProperties = true;
  for (const v of Object.values(s)) tidy(v, io);
}

/**
 * The JSON schema of a contract shape. `input` for what clients send (fields with a default are
 * optional, objects accept what they do not declare unless strict), `output` for what the API
 * answers (every declared field that is not optional is required; nothing undeclared leaves).
 */
export function toSchema(shape: z.ZodType, io: 'input' | 'output'): Schema {
  const json = z.toJSONSchema(shape, { target: 'openapi-3.0', io, unrepresentable: 'throw' }) as Schema;
  delete json.$schema;
  tidy(json, io);
  return json;
}

/** Input schema (querystring, params, body). */
export const input = (shape: z.ZodType): Schema => toSchema(shape, 'input');

const errorSchema = toSchema(errorBody, 'output');

/** A route's responses: the given answers plus the errors every admin route can answer (400, 401, 429, extra). */
export function responses(ok: Record<number, z.ZodType>, extra: number[] = []): Record<number, Schema> {
  const r: Record<number, Schema> = {};
  for (const [code, shape] of Object.entries(ok)) r[Number(code)] = toSchema(shape, 'output');
  for (const code of [400, 401, 429, ...extra]) r[code] = errorSchema;
  return r;
}
