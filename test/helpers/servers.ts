/** Small real servers for checks that talk to the outside: HTTPS with generated X.509
 * certificates (openssl), and plain HTTP fakes. All on 127.0.0.1, random ports. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A key and certificate in PEM. */
export interface KeyPair {
  readonly key: string;
  readonly cert: string;
}

const OPENSSL = '/usr/bin/openssl';
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A test CA, a leaf it signed for 127.0.0.1 valid `days`, and a self-signed leaf: real X.509. */
export function makeCertificates(opts: { leafDays: number[] }): {
  ca: KeyPair;
  leaves: KeyPair[];
  selfSigned: KeyPair;
} {
  const dir = mkdtempSync(path.join(tmpdir(), 'wadi-certs-'));
  const f = (n: string) => path.join(dir, n);
  const run = (args: string[]) => execFileSync(OPENSSL, args, { stdio: 'pipe' });
  run([
    'req',
    '-x509',
    ...EC,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-days',
    '30',
    '-subj',
    '/CN=WADI Test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  writeFileSync(
    f('leaf.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  );
  const leaves = opts.leafDays.map((days, i) => {
    run(['req', ...EC, '-keyout', f(`l${i}.key`), '-out', f(`l${i}.csr`), '-subj', '/CN=127.0.0.1']);
    run([
      'x509',
      '-req',
      '-in',
      f(`l${i}.csr`),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-out',
      f(`l${i}.pem`),
      '-days',
      String(days),
      '-extfile',
      f('leaf.ext'),
    ]);
    return { key: readFileSync(f(`l${i}.key`), 'utf8'), cert: readFileSync(f(`l${i}.pem`), 'utf8') };
  });
  run([
    'req',
    '-x509',
    ...EC,
    '-keyout',
    f('ss.key'),
    '-out',
    f('ss.pem'),
    '-days',
    '90',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
  return {
    ca: { key: readFileSync(f('ca.key'), 'utf8'), cert: readFileSync(f('ca.pem'), 'utf8') },
    leaves,
    selfSigned: { key: readFileSync(f('ss.key'), 'utf8'), cert: readFileSync(f('ss.pem'), 'utf8') },
  };
}

/** A listening server and how to stop it. */
export interface TestServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts an HTTP server, or HTTPS when `tls` is given, on a random 127.0.0.1 port. */
export async function listen(handler: http.RequestListener, tls?: KeyPair): Promise<TestServer> {
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Reads a request body as text. */
export function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = '';
    req.on('data', (d) => {
      s += d;
    });
    req.on('end', () => resolve(s));
    req.on('error', reject);
  });
}
