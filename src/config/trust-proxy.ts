/**
 * TRUST_PROXY, parsed explicitly. Fastify takes a string as a list of addresses, so a hop count
 * written as `"1"` would silently become the address 0.0.0.1 and trust nothing; every form is
 * therefore recognised here and anything else is refused at start.
 *
 * - unset, `false` or `0`: trust no proxy (X-Forwarded-* ignored);
 * - `true`: trust every hop (the client address is the left-most X-Forwarded-For entry, which any
 *   client can write: safe only when the proxy is the only way in and overwrites that header);
 * - digits only, `N`: trust the nearest N hops (the client is the address N entries from the right);
 * - otherwise a comma-separated list of addresses or CIDRs (IPv4 or IPv6), or the names `loopback`,
 *   `linklocal`, `uniquelocal`: trust those proxies only.
 */
import net from 'node:net';

/** The value handed to Fastify's `trustProxy`. */
export type TrustProxy = boolean | ((address: string, hop: number) => boolean) | string[];

/** Names proxy-addr (Fastify's resolver) understands as ranges. */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** Why `value` is not a TRUST_PROXY setting, or undefined when it is one. */
export function trustProxyProblem(value: string): string | undefined {
  const v = value.trim();
  if (/^(true|false)$/i.test(v) || /^\d+$/.test(v)) {
    if (/^\d+$/.test(v) && Number(v) > 100) return `"${v}" hops is not a plausible proxy chain (0-100)`;
    return undefined;
  }
  const entries = v.split(',').map((s) => s.trim());
  for (const e of entries) {
    if (!validEntry(e)) {
      return `"${v}" is not true, false, a hop count (digits only) or a comma-separated list of proxy addresses/CIDRs (e.g. 10.0.0.0/8,fd00::/8)`;
    }
  }
  return undefined;
}

function validEntry(e: string): boolean {
  if (NAMED_RANGES.has(e)) return true;
  const slash = e.indexOf('/');
  const addr = slash === -1 ? e : e.slice(0, slash);
  const family = net.isIP(addr);
  if (family === 0) return false;
  if (slash === -1) return true;
  const prefix = e.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * The Fastify `trustProxy` option for a TRUST_PROXY value (already validated by the config schema;
 * an invalid value throws rather than silently trusting the wrong thing).
 */
export function parseTrustProxy(value: string | undefined): TrustProxy {
  if (value === undefined || value.trim() === '') return false;
  const v = value.trim();
  const problem = trustProxyProblem(v);
  if (problem) throw new Error(`TRUST_PROXY: ${problem}`);
  if (/^true$/i.test(v)) return true;
  if (/^false$/i.test(v)) return false;
  if (/^\d+$/.test(v)) {
    const hops = Number(v);
    if (hops === 0) return false;
    // proxy-addr walks X-Forwarded-For from the right: hop 0 is the socket's peer, hop 1 the
    // address that peer reported, and so on. Trusting `hops` of them makes the client the
    // address `hops` steps from the socket.
    return (_address: string, hop: number) => hop < hops;
  }
  return v.split(',').map((s) => s.trim());
}

/** True when some proxy is trusted, so X-Forwarded-Proto is believed (the https redirect is on). */
export function trustsAProxy(value: string | undefined): boolean {
  return parseTrustProxy(value) !== false;
}
