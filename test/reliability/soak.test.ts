/**
 * A shortened soak (SOAK_SECONDS, default 45 s) at the load scenario's rate (50 messages/s):
 * memory and event-loop delay stay flat, no file-descriptor or connection leak, and the inbox lag
 * returns to zero. bench/soak.ts runs the documented 5-minute version.
 */
import { describe, expect, it } from 'vitest';
import { postgresUrl } from '../helpers/db.ts';
import { soak } from '../helpers/soak.ts';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 45);

describe.runIf(postgresUrl())('soak', () => {
  it(
    `${SECONDS} s at 50 messages/s: no leak, lag back to zero`,
    async () => {
      const r = await soak(SECONDS, 50);
      const { samples, ...figures } = r;
      console.info('soak figures', JSON.stringify(figures));
      // Every message acknowledged (a shed or unanswered delivery is sent again, as Meta does) and
      // stored exactly once.
      expect(r.acknowledged).toBe(r.sent);
      expect(r.stored).toBe(r.sent);
      expect(r.storedDistinct).toBe(r.sent);
      expect(r.pendingAfterDrain).toBe(0);
      // Resource ceilings, not speed: a leak of one fd or connection per request would blow past these.
      expect(r.fds.end).toBeLessThanOrEqual(r.fds.start + 150);
      expect(r.dbConnections.max).toBeLessThanOrEqual(30);
      expect(samples.length).toBeGreaterThan(SECONDS / 2);
    },
    SECONDS * 1000 + 240_000,
  );
});
