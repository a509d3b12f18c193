import { describe, expect, it } from 'vitest';
import { libpqConnection, parseToolMajor, scrub, serverMajor } from './pg-tools.ts';
import { formatBytes, formatProgress } from './progress.ts';

describe('PostgreSQL client tool helpers', () => {
  it('reads the major version of the tools and of the server', () => {
    expect(parseToolMajor('pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)')).toBe(15);
    expect(parseToolMajor('pg_dump (PostgreSQL) 18.1')).toBe(18);
    expect(parseToolMajor('pg_dump (PostgreSQL) 9.6.24')).toBe(9);
    expect(parseToolMajor('nonsense')).toBeUndefined();
    expect(serverMajor(150020)).toBe(15);
    expect(serverMajor(180001)).toBe(18);
    expect(serverMajor(90624)).toBe(9);
  });

  it('takes the password out of the connection string and translates node-postgres-only settings', () => {
    const c = libpqConnection('postgres://wadi:p%40ss%3Aword@db.example.com:5432/wadi?ssl=true');
    expect(c.password).toBe('p@ss:word');
    expect(c.dbname).not.toContain('p%40ss');
    expect(c.dbname).toBe('postgres://wadi@db.example.com:5432/wadi?sslmode=require');
    expect(c.database).toBe('wadi');
    expect(libpqConnection('postgres://u@h/d?sslmode=no-verify').dbname).toBe('postgres://u@h/d?sslmode=require');
    expect(libpqConnection('postgres://u@h/d').password).toBeUndefined();
  });

  it('scrubs passwords from tool output', () => {
    expect(scrub('could not connect to postgres://wadi:hunter22@db/wadi')).toBe(
      'could not connect to postgres://wadi:***@db/wadi',
    );
    expect(scrub('error near hunter22 here', 'hunter22')).toBe('error near *** here');
  });

  it('formats progress as bytes and elapsed time', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatProgress({ phase: 'dump', bytes: 3 * 1024 * 1024, elapsedMs: 4200 })).toBe(
      'dump: 3.0 MiB written, 4.2 s',
    );
    expect(formatProgress({ phase: 'restore', bytes: 1024 * 1024, totalBytes: 4 * 1024 * 1024, elapsedMs: 1000 })).toBe(
      'restore: 1.0 MiB of 4.0 MiB (25%) applied, 1.0 s',
    );
  });
});
