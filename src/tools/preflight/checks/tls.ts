/** Reads a server's TLS certificate and whether it validates (chain and host name). */
import { isIP } from 'node:net';
import tls from 'node:tls';

/** What the TLS handshake showed. */
export interface CertificateInfo {
  readonly authorized: boolean;
  /** OpenSSL's reason when it does not validate, e.g. DEPTH_ZERO_SELF_SIGNED_CERT. */
  readonly error?: string;
  readonly validTo: Date;
  readonly subject?: string;
  readonly issuer?: string;
}

/** Connects to host:port with SNI and reports the certificate without sending any request. */
export function inspectCertificate(
  host: string,
  port: number,
  opts: { ca?: string; timeoutMs?: number } = {},
): Promise<CertificateInfo> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port,
      // SNI carries names only; an IP address is checked against the certificate's IP SANs.
      servername: isIP(host) ? undefined : host,
      ca: opts.ca ? [opts.ca] : undefined,
      // Handshake completes so the reason can be reported; `authorized` carries the verdict
      // (chain and host name both, as Node checks the identity before setting it).
      rejectUnauthorized: false,
    });
    socket.setTimeout(opts.timeoutMs ?? 5000, () => socket.destroy(new Error(`TLS handshake with ${host} timed out`)));
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      const err = socket.authorizationError;
      resolve({
        authorized: socket.authorized,
        error: err ? String((err as Error & { code?: string }).code ?? err) : undefined,
        validTo: new Date(cert.valid_to),
        subject: cert.subject?.CN ? String(cert.subject.CN) : undefined,
        issuer: cert.issuer?.CN ? String(cert.issuer.CN) : undefined,
      });
      socket.end();
    });
    socket.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(e.code ? `${e.code} (${host}:${port})` : e.message)),
    );
  });
}
