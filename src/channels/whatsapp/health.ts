/**
 * The Graph API dependency check shown by /admin/health: one cached phone-number lookup proves the
 * token and the number work. Not part of readiness: Meta being down must not take WADI out of the
 * load balancer (webhooks still need to be stored).
 */
import type { HealthCheck } from '../../observability/health/health.ts';
import { PermanentSendError } from '../errors.ts';
import type { GraphClient } from './client.ts';

/** How often the check really calls Meta: management endpoints allow ~200 calls per hour. */
export const GRAPH_CHECK_TTL_MS = 5 * 60_000;

/** A check that calls Meta at most once per `ttlMs` and reports the cached answer in between. */
export function graphApiCheck(
  client: Pick<GraphClient, 'phoneNumberInfo'>,
  opts: { ttlMs?: number; now?: () => number } = {},
): HealthCheck {
  const ttl = opts.ttlMs ?? GRAPH_CHECK_TTL_MS;
  const now = opts.now ?? Date.now;
  let cached: { at: number; result: Awaited<ReturnType<HealthCheck['run']>> } | undefined;
  return {
    name: 'whatsapp:graphApi',
    componentType: 'component',
    async run() {
      if (cached && now() - cached.at < ttl) return cached.result;
      const start = now();
      let result: Awaited<ReturnType<HealthCheck['run']>>;
      try {
        await client.phoneNumberInfo();
        result = { status: 'pass', observedValue: now() - start, observedUnit: 'ms' };
      } catch (err) {
        const e = err as PermanentSendError;
        result =
          err instanceof PermanentSendError && e.reason === 'auth'
            ? { status: 'fail', output: `access token or permissions rejected (code ${e.code})` }
            : { status: 'warn', output: `Graph API unreachable or erroring (${(err as { code?: string }).code})` };
      }
      cached = { at: now(), result };
      return result;
    },
  };
}
