/** Domain: PUBLIC_URL is https with a valid certificate lasting ≥ 14 days, HSTS, http → https. */
import { header, request } from './http.ts';
import { inspectCertificate } from './tls.ts';
import type { CheckResult, PreflightContext } from './types.ts';
import { section } from './types.ts';

const s = section('Domain');
/** A certificate expiring sooner than this fails. */
export const MIN_CERT_DAYS = 14;
const YEAR = 31_536_000;

/** The Domain section. */
export async function domainChecks(ctx: PreflightContext): Promise<CheckResult[]> {
  const publicUrl = ctx.opts.env.PUBLIC_URL?.trim();
  if (!publicUrl) {
    return [s.fail('PUBLIC_URL', 'PUBLIC_URL is not set', 'set PUBLIC_URL to the https:// address of the deployment')];
  }
  let u: URL;
  try {
    u = new URL(publicUrl);
  } catch {
    return [s.fail('PUBLIC_URL', `"${publicUrl}" is not a URL`, 'set PUBLIC_URL=https://wadi.example.com')];
  }
  if (u.protocol !== 'https:') {
    return [s.fail('PUBLIC_URL', `${u.origin} is not https`, 'serve WADI behind TLS and set PUBLIC_URL=https://…')];
  }
  const out: CheckResult[] = [s.pass('PUBLIC_URL', `${u.origin} is https`)];
  const t = { timeoutMs: ctx.timeoutMs, ca: ctx.opts.ca };

  try {
    const cert = await inspectCertificate(u.hostname, Number(u.port || 443), t);
    const days = Math.floor((cert.validTo.getTime() - ctx.now().getTime()) / 86_400_000);
    const until = cert.validTo.toISOString().slice(0, 10);
    if (!cert.authorized) {
      out.push(
        s.fail(
          'certificate',
          `does not validate for ${u.hostname}: ${cert.error ?? 'unknown reason'}`,
          'install a certificate from a public CA (e.g. Let’s Encrypt) that covers this host name',
        ),
      );
    } else if (days < MIN_CERT_DAYS) {
      out.push(
        s.fail(
          'certificate',
          days < 0 ? `expired on ${until}` : `expires in ${days} day(s), on ${until}`,
          'renew the certificate now and check that automatic renewal works',
        ),
      );
    } else out.push(s.pass('certificate', `valid, issued by ${cert.issuer ?? '?'}, until ${until} (${days} days)`));
  } catch (err) {
    out.push(
      s.fail(
        'certificate',
        `TLS handshake failed: ${(err as Error).message}`,
        'check DNS, firewall and that port 443 serves TLS',
      ),
    );
  }

  try {
    // Headers are read even if the certificate is bad: that has its own item above.
    const res = await request(`${u.origin}/health/live`, { ...t, insecure: true });
    const hsts = header(res, 'strict-transport-security');
    const maxAge = Number(/max-age=(\d+)/i.exec(hsts ?? '')?.[1] ?? Number.NaN);
    if (!hsts)
      out.push(
        s.fail(
          'HSTS',
          'no strict-transport-security header',
          'keep HSTS_MAX_AGE at 31536000 and do not strip the header at the proxy',
        ),
      );
    else if (!(maxAge >= YEAR) || !/includesubdomains/i.test(hsts))
      out.push(s.warn('HSTS', `weak: ${hsts}`, 'use max-age=31536000; includeSubDomains (HSTS_MAX_AGE)'));
    else out.push(s.pass('HSTS', hsts));
  } catch (err) {
    out.push(
      s.fail(
        'HSTS',
        `cannot fetch ${u.origin}/health/live: ${(err as Error).message}`,
        'check the deployment is reachable at PUBLIC_URL',
      ),
    );
  }

  const httpUrl = ctx.opts.httpUrl ?? `http://${u.host}`;
  try {
    const res = await request(`${httpUrl}/admin`, { timeoutMs: ctx.timeoutMs });
    const location = header(res, 'location') ?? '';
    if (res.status >= 300 && res.status < 400 && location.startsWith('https://')) {
      out.push(s.pass('http → https', `${httpUrl} redirects (${res.status}) to ${location}`));
    } else {
      out.push(
        s.fail(
          'http → https',
          `${httpUrl}/admin answered ${res.status}${location ? ` → ${location}` : ''} instead of redirecting to https`,
          'redirect port 80 to https at the proxy, or set TRUST_PROXY so WADI redirects',
        ),
      );
    }
  } catch (err) {
    out.push(
      s.warn(
        'http → https',
        `${httpUrl} did not answer (${(err as Error).message})`,
        'fine if port 80 is closed on purpose; otherwise redirect it to https',
      ),
    );
  }
  return out;
}
