/** The foundation's readiness checks: database round trip, migrations applied, Redis status. */
import type { Redis } from 'ioredis';
import type { Database } from '../../db/client.ts';
import { migrationStatus } from '../../db/migrate.ts';
import type { HealthCheck } from './health.ts';

/** `select 1` with a short timeout; reports the latency in ms. */
export function databaseCheck(database: Database, timeoutMs = 1000): HealthCheck {
  return {
    name: 'database:responseTime',
    componentType: 'datastore',
    async run() {
      const ms = await database.ping(timeoutMs);
      return { status: 'pass', observedValue: Math.round(ms * 10) / 10, observedUnit: 'ms' };
    },
  };
}

/** Fails while any migration is pending; once all are applied the answer is cached. */
export function migrationsCheck(database: Database): HealthCheck {
  let allApplied = false;
  return {
    name: 'database:migrations',
    componentType: 'datastore',
    async run() {
      if (!allApplied) {
        const pending = (await migrationStatus(database)).filter((m) => !m.applied).length;
        if (pending > 0) return { status: 'fail', observedValue: pending, output: `${pending} migration(s) pending` };
        allApplied = true;
      }
      return { status: 'pass', observedValue: 0 };
    },
  };
}

/**
 * Reads the client's connection status and never sends a command. Redis is optional (limits fall
 * back to in-process), so a lost connection is a warning, not a failure.
 */
export function redisCheck(redis: Pick<Redis, 'status'>): HealthCheck {
  return {
    name: 'redis:connection',
    componentType: 'datastore',
    run() {
      return redis.status === 'ready'
        ? { status: 'pass', observedValue: redis.status }
        : {
            status: 'warn',
            observedValue: redis.status,
            output: 'Redis unavailable: rate limits and the admin lockout count per process',
          };
    },
  };
}
