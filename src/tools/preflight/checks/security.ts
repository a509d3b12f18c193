/** Security: headers, CORS on /admin and admin authentication, observed on the running deployment. */
import { header, request } from './http.ts';
import type { CheckResult, PreflightContext } from './types.ts';
import { section } from './types.ts';

const s = section('Security');
/** An origin no deployment should allow (reserved TLD). */
export const UNKNOWN_ORIGIN = 'https://preflight-unknown-origin.invalid';

/** The Security section. */
export async function securityChecks(ctx: PreflightContext): Promise<CheckResult[]> {
  const base = ctx.baseUrl;
  const t = { timeoutMs: ctx.timeoutMs, ca: ctx.opts.ca };
  const out: CheckResult[] = [];
  let live: Awaited<ReturnType<typeof request>>;
  try {
    live = await request(`${base}/health/live`, t);
  } catch (err) {
    return [
      s.fail(
        'reachable',
        `cannot reach ${base}: ${(err as Error).message}`,
        'start WADI, or pass --url with its address',
      ),
    ];
  }

  const missing: string[] = [];
  const csp = header(live, 'content-security-policy');
  if (!csp) missing.push('content-security-policy');
  if (header(live, 'x-content-type-options') !== 'nosniff') missing.push('x-content-type-options');
  if (!header(live, 'x-frame-options') && !csp?.includes('frame-ancestors')) missing.push('x-frame-options');
  if (!header(live, 'referrer-policy')) missing.push('referrer-policy');
  out.push(
    missing.length === 0
      ? s.pass('security headers', 'CSP, nosniff, frame and referrer policies present')
      : s.fail(
          'security headers',
          `missing: ${missing.join(', ')}`,
          'make sure no proxy strips them; WADI sends them by default',
        ),
  );
  const powered = header(live, 'x-powered-by');
  out.push(
    powered
      ? s.fail('x-powered-by', `x-powered-by: ${powered} is sent`, 'remove it at the proxy (WADI never sends it)')
      : s.pass('x-powered-by', 'absent'),
  );

  try {
    const admin = await request(`${base}/admin/health`, t);
    if (admin.status === 401) out.push(s.pass('admin auth', '/admin/health refuses a request without a key (401)'));
    else if (admin.status === 404)
      out.push(
        s.fail(
          'admin auth',
          '/admin/health answered 404: the admin API is not mounted',
          'run the web role of this WADI version',
        ),
      );
    else
      out.push(
        s.fail(
          'admin auth',
          `/admin/health answered ${admin.status} without a key`,
          'the admin API must require x-admin-key; check the proxy is not adding it',
        ),
      );
  } catch (err) {
    out.push(s.fail('admin auth', `request failed: ${(err as Error).message}`, 'check the deployment is reachable'));
  }

  out.push(...(await corsChecks(ctx)));
  return out;
}

async function preflightFrom(ctx: PreflightContext, origin: string) {
  return request(`${ctx.baseUrl}/admin/health`, {
    method: 'OPTIONS',
    timeoutMs: ctx.timeoutMs,
    ca: ctx.opts.ca,
    headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-admin-key' },
  });
}

async function corsChecks(ctx: PreflightContext): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  try {
    const bad = await preflightFrom(ctx, UNKNOWN_ORIGIN);
    const acao = header(bad, 'access-control-allow-origin');
    out.push(
      acao
        ? s.fail(
            'CORS unknown origin',
            `an unknown origin is allowed on /admin (access-control-allow-origin: ${acao})`,
            'list exact origins in CORS_ORIGINS; remove any proxy CORS rule that reflects or uses *',
          )
        : s.pass('CORS unknown origin', `refused (${bad.status}, no access-control-allow-origin)`),
    );
    const origins = ctx.config?.env.CORS_ORIGINS ?? [];
    if (origins.length === 0) {
      out.push(
        s.warn(
          'CORS configured origin',
          'CORS_ORIGINS is empty: no browser origin may call /admin (the dashboard itself is same-origin)',
          'set CORS_ORIGINS if another site (Retool, Appsmith) calls the admin API',
        ),
      );
    } else {
      const good = await preflightFrom(ctx, origins[0] as string);
      const acao2 = header(good, 'access-control-allow-origin');
      out.push(
        acao2 === origins[0]
          ? s.pass('CORS configured origin', `${origins[0]} is allowed`)
          : s.fail(
              'CORS configured origin',
              `${origins[0]} is not allowed by the deployment (${good.status}, access-control-allow-origin: ${acao2 ?? 'absent'})`,
              'make sure the deployment runs with the same CORS_ORIGINS as this environment',
            ),
      );
    }
  } catch (err) {
    out.push(s.fail('CORS', `request failed: ${(err as Error).message}`, 'check the deployment is reachable'));
  }
  return out;
}
