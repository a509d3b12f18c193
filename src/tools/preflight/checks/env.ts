/** Env vars: production mode, no sandbox, and every production rule of loadConfig (reused, not copied). */
import { ConfigError, loadConfig } from '../../../config/config.ts';
import type { CheckResult, PreflightContext } from './types.ts';
import { section } from './types.ts';

const s = section('Env vars');

const FIXES: Record<string, string> = {
  ADMIN_API_KEY: 'generate a key with `openssl rand -base64 48` and set ADMIN_API_KEY',
  CORS_ORIGINS: 'set CORS_ORIGINS to the exact https origin(s) that use the admin API',
  '.env':
    'delete the .env file; give production its variables through the real environment (systemd, Docker, Kubernetes)',
  DATABASE_URL: 'set DATABASE_URL=postgres://user:password@host:5432/wadi',
  OPENAI_API_KEY: 'set OPENAI_API_KEY (or OPENAI_BASE_URL for a keyless OpenAI-compatible server)',
  WADI_SANDBOX: 'unset WADI_SANDBOX and configure real channel credentials',
  WHATSAPP_ACCESS_TOKEN: 'set the WhatsApp (WHATSAPP_*) or Telegram (TELEGRAM_*) credentials',
  PUBLIC_URL: 'set PUBLIC_URL to the https:// address Meta and Telegram reach WADI at',
  METRICS_TOKEN:
    'generate a token (`openssl rand -hex 32`), set METRICS_TOKEN and give Prometheus the same bearer token',
  TRUST_PROXY: 'set TRUST_PROXY to the number of proxies in front of WADI (usually 1) or their CIDRs',
};

/** The Env vars section. */
export async function envChecks(ctx: PreflightContext): Promise<CheckResult[]> {
  const { env, cwd } = ctx.opts;
  const out: CheckResult[] = [];
  if (env.NODE_ENV === 'production') out.push(s.pass('NODE_ENV', 'production'));
  else {
    out.push(
      s.fail(
        'NODE_ENV',
        `NODE_ENV is ${env.NODE_ENV ? `"${env.NODE_ENV}"` : 'unset (development)'}, not production: the fail-closed rules are off`,
        'set NODE_ENV=production',
      ),
    );
  }
  // Only the configuration WADI would really run with says whether the sandbox is on; when it does
  // not load, the production rules below name WADI_SANDBOX if it is set.
  const real = ctx.configProblems.length === 0 ? ctx.config : undefined;
  if (real?.sandbox) {
    out.push(
      s.fail(
        'sandbox',
        'sandbox is on: WhatsApp and Telegram calls go to the built-in fakes and the assistant is offline',
        'set real WHATSAPP_* / TELEGRAM_* credentials and unset WADI_SANDBOX',
      ),
    );
  } else if (real) out.push(s.pass('sandbox', 'off: real channel APIs in use'));

  // The same rules `wadi start` enforces with NODE_ENV=production, evaluated whatever the mode.
  let problems: readonly { variable: string; message: string }[] = [];
  try {
    loadConfig({ ...env, NODE_ENV: 'production' }, { cwd, persistGeneratedKey: false });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems = err.problems;
  }
  for (const p of problems) {
    out.push(s.fail(p.variable, p.message, FIXES[p.variable] ?? `fix ${p.variable} (see \`wadi config check\`)`));
  }
  if (problems.length === 0) {
    out.push(s.pass('production rules', 'every secret set and strong, no .env file, no sandbox, exact CORS origins'));
  }
  // How /metrics is protected (without a token, production refuses to start: see above).
  if (env.METRICS_TOKEN) out.push(s.pass('metrics', '/metrics requires Authorization: Bearer <METRICS_TOKEN>'));
  return out;
}
