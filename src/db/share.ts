/**
 * A bounded share of the connection pool: a Database whose queries and transactions hold one of
 * `permits` slots while they run. The inbox workers and the turns they run (claims, history loads,
 * commits) go through one share, so hundreds of concurrent turns never take the connections the
 * webhook ingest and the outbox dispatcher need. Statements inside a transaction use the
 * transaction's own connection and take no further slot.
 */
import type { Semaphore } from '../kernel/semaphore.ts';
import type { Database, Queryable } from './client.ts';

/** `database` limited to the semaphore's permits. */
export function sharedDatabase(database: Database, share: Semaphore): Database {
  return {
    kind: database.kind,
    db: database.db,
    query<T>(text: string, params?: unknown[]) {
      return share.run(() => database.query<T>(text, params));
    },
    transaction<T>(fn: (tx: Queryable) => Promise<T>) {
      return share.run(() => database.transaction(fn));
    },
    ping: (ms) => database.ping(ms),
    withAdvisoryLock: (key, fn) => database.withAdvisoryLock(key, fn),
    tryAdvisoryLock: (key) => database.tryAdvisoryLock(key),
    listen: (channels, handlers) => database.listen(channels, handlers),
    close: () => database.close(),
  };
}
