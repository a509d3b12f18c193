import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runWadi } from '../../test/helpers/cli.ts';
import { ConfigError, loadConfig } from './config.ts';
import { parseTrustProxy } from './trust-proxy.ts';

const load = (TRUST_PROXY: string) =>
  loadConfig({ TRUST_PROXY }, { cwd: mkdtempSync(path.join(tmpdir(), 'wadi-tp-')), persistGeneratedKey: false });

function problemOf(value: string): string | undefined {
  try {
    load(value);
    return undefined;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems.map((p) => `${p.variable}: ${p.message}`).join('\n');
  }
}

describe('TRUST_PROXY parsing', () => {
  it.each(['true', 'false', 'TRUE', '0', '1', '2', '10.0.0.0/8', '10.0.0.7, fd00::/8', '::1', 'loopback,10.1.2.3'])(
    'accepts %j',
    (v) => {
      expect(problemOf(v)).toBeUndefined();
    },
  );

  it.each([
    'yes',
    '1.5', // Fastify would read this as the address 1.0.0.5
    '-1',
    '1e3',
    '0x1',
    '10.0.0.0/33',
    'fd00::/129',
    '10.0.0.1,',
    'proxy.internal',
    '10.0.0.0/8 10.1.0.0/16',
    '1000',
  ])('refuses %j, naming the variable and the accepted forms', (v) => {
    const p = problemOf(v);
    expect(p).toMatch(/^TRUST_PROXY: /);
    expect(p?.split('\n')).toHaveLength(1);
  });

  it('turns a hop count into a function trusting exactly that many hops', () => {
    const two = parseTrustProxy('2');
    expect(typeof two).toBe('function');
    const f = two as (a: string, hop: number) => boolean;
    expect([0, 1, 2, 3].map((hop) => f('198.51.100.1', hop))).toEqual([true, true, false, false]);
    // "1" is one hop, never the address 0.0.0.1.
    const one = parseTrustProxy('1') as (a: string, hop: number) => boolean;
    expect([one('10.0.0.9', 0), one('0.0.0.1', 1)]).toEqual([true, false]);
  });

  it('maps the other forms onto what Fastify expects', () => {
    expect(parseTrustProxy(undefined)).toBe(false);
    expect(parseTrustProxy('0')).toBe(false);
    expect(parseTrustProxy('false')).toBe(false);
    expect(parseTrustProxy('true')).toBe(true);
    expect(parseTrustProxy(' 10.0.0.0/8 , 192.168.1.4 ')).toEqual(['10.0.0.0/8', '192.168.1.4']);
  });

  it('wadi start refuses an unparseable value with exit 1 and one line about TRUST_PROXY', async () => {
    const r = await runWadi(['start', '--port', '0'], { env: { TRUST_PROXY: '1.5' }, timeoutMs: 20_000 });
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.includes('TRUST_PROXY'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('"1.5" is not true, false, a hop count');
    expect(r.stderr).not.toContain('    at ');
  });
});
