import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KeyPair, listen, makeCertificates, type TestServer } from '../../../test/helpers/servers.ts';
import { domainChecks } from './checks/domain.ts';
import type { CheckResult, PreflightContext, PreflightOptions } from './checks/types.ts';

const HSTS = 'max-age=31536000; includeSubDomains';

function ctx(opts: Partial<PreflightOptions> & { env: Record<string, string> }): PreflightContext {
  return {
    opts: { cwd: process.cwd(), ...opts },
    configProblems: [],
    baseUrl: opts.env.PUBLIC_URL ?? '',
    now: () => new Date(),
    timeoutMs: 3000,
  };
}
const item = (rs: CheckResult[], name: string) => rs.find((r) => r.item === name);

describe('Domain checks against local HTTPS servers with generated certificates', () => {
  let certs: { ca: KeyPair; leaves: KeyPair[]; selfSigned: KeyPair };
  const servers: TestServer[] = [];
  let good: TestServer;
  let expiring: TestServer;
  let selfSigned: TestServer;
  let noHsts: TestServer;
  let redirecting: TestServer;
  let plain: TestServer;

  beforeAll(async () => {
    certs = makeCertificates({ leafDays: [90, 5] });
    const [long, short] = certs.leaves as [KeyPair, KeyPair];
    const withHsts = (hsts: boolean) => (_req: unknown, res: import('node:http').ServerResponse) => {
      if (hsts) res.setHeader('strict-transport-security', HSTS);
      res.end('{"status":"pass"}');
    };
    good = await listen(withHsts(true), long);
    expiring = await listen(withHsts(true), short);
    selfSigned = await listen(withHsts(true), certs.selfSigned);
    noHsts = await listen(withHsts(false), long);
    redirecting = await listen((req, res) => {
      res.writeHead(308, { location: `https://127.0.0.1${req.url}` }).end();
    });
    plain = await listen((_req, res) => {
      res.end('served over http');
    });
    servers.push(good, expiring, selfSigned, noHsts, redirecting, plain);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('passes a valid certificate, HSTS and an http → https redirect', async () => {
    const rs = await domainChecks(ctx({ env: { PUBLIC_URL: good.url }, ca: certs.ca.cert, httpUrl: redirecting.url }));
    expect(rs.map((r) => [r.item, r.status])).toEqual([
      ['PUBLIC_URL', 'pass'],
      ['certificate', 'pass'],
      ['HSTS', 'pass'],
      ['http → https', 'pass'],
    ]);
    expect(item(rs, 'certificate')?.detail).toContain('WADI Test CA');
  });

  it('fails a self-signed certificate, naming the reason', async () => {
    const rs = await domainChecks(
      ctx({ env: { PUBLIC_URL: selfSigned.url }, ca: certs.ca.cert, httpUrl: redirecting.url }),
    );
    const cert = item(rs, 'certificate');
    expect(cert?.status).toBe('fail');
    expect(cert?.detail).toMatch(/SELF_SIGNED/);
    expect(cert?.fix).toContain('public CA');
  });

  it('fails a certificate that is not trusted at all (no CA given)', async () => {
    const rs = await domainChecks(ctx({ env: { PUBLIC_URL: good.url }, httpUrl: redirecting.url }));
    expect(item(rs, 'certificate')?.status).toBe('fail');
  });

  it('fails a valid certificate that expires within 14 days', async () => {
    const rs = await domainChecks(
      ctx({ env: { PUBLIC_URL: expiring.url }, ca: certs.ca.cert, httpUrl: redirecting.url }),
    );
    const cert = item(rs, 'certificate');
    expect(cert?.status).toBe('fail');
    expect(cert?.detail).toMatch(/expires in [45] day/);
    expect(cert?.fix).toContain('renew');
  });

  it('fails when HSTS is missing and when http is served instead of redirected', async () => {
    const rs = await domainChecks(ctx({ env: { PUBLIC_URL: noHsts.url }, ca: certs.ca.cert, httpUrl: plain.url }));
    expect(item(rs, 'certificate')?.status).toBe('pass');
    expect(item(rs, 'HSTS')?.status).toBe('fail');
    expect(item(rs, 'http → https')?.status).toBe('fail');
    expect(item(rs, 'http → https')?.detail).toContain('answered 200');
  });

  it('fails an http or missing PUBLIC_URL without connecting anywhere', async () => {
    expect((await domainChecks(ctx({ env: { PUBLIC_URL: plain.url } })))[0]).toMatchObject({
      item: 'PUBLIC_URL',
      status: 'fail',
    });
    expect((await domainChecks(ctx({ env: {} })))[0]?.detail).toBe('PUBLIC_URL is not set');
  });
});
