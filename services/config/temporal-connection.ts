/**
 * How the API, worker and ops CLI reach a managed or secured Temporal: TLS (server verified against
 * TEMPORAL_TLS_CA or the system's roots), mTLS (TEMPORAL_TLS_CERT + TEMPORAL_TLS_KEY, a client
 * certificate as Temporal Cloud's mTLS namespaces and a self-hosted frontend with
 * requireClientAuth want), TEMPORAL_TLS_SERVER_NAME when the certificate names another host than
 * the address (a load balancer), and TEMPORAL_API_KEY (Temporal Cloud's API keys; TLS is implied).
 * Checked at start: files readable and PEM, the key belongs to the certificate, neither expired.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import fs from 'node:fs';

export interface TemporalTls {
  /** the client certificate and its key (mTLS) */
  clientCertPair?: { crt: Buffer; key: Buffer };
  /** roots to verify the server with instead of the system's */
  serverRootCACertificate?: Buffer;
  serverNameOverride?: string;
}

export interface TemporalConnectionSettings {
  /** absent: plain gRPC (the embedded dev server, a cluster on a private network) */
  tls?: TemporalTls;
  apiKey?: string;
}

export interface TemporalConnectionEnv {
  TEMPORAL_TLS?: 'true' | 'false';
  TEMPORAL_TLS_CERT?: string;
  TEMPORAL_TLS_KEY?: string;
  TEMPORAL_TLS_CA?: string;
  TEMPORAL_TLS_SERVER_NAME?: string;
  TEMPORAL_API_KEY?: string;
}

/** The settings, or the problems (each naming its key) for ConfigError. */
export function temporalConnection(env: TemporalConnectionEnv, now = new Date()): { settings: TemporalConnectionSettings; problems: string[] } {
  const problems: string[] = [];
  const read = (key: keyof TemporalConnectionEnv): Buffer | undefined => {
    const file = env[key];
    if (!file) return undefined;
    try {
      return fs.readFileSync(file);
    } catch (err) {
      problems.push(`${key}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      return undefined;
    }
  };
  const certificate = (key: 'TEMPORAL_TLS_CERT' | 'TEMPORAL_TLS_CA', pem: Buffer | undefined): X509Certificate | undefined => {
    if (!pem) return undefined;
    try {
      const cert = new X509Certificate(pem);
      if (new Date(cert.validTo).getTime() < now.getTime()) problems.push(`${key}: the certificate in ${env[key]} expired on ${new Date(cert.validTo).toISOString().slice(0, 10)}`);
      else if (new Date(cert.validFrom).getTime() > now.getTime()) problems.push(`${key}: the certificate in ${env[key]} is not valid before ${new Date(cert.validFrom).toISOString()}`);
      return cert;
    } catch {
      problems.push(`${key}: ${env[key]} is not a PEM certificate`);
      return undefined;
    }
  };

  const certPem = read('TEMPORAL_TLS_CERT');
  const keyPem = read('TEMPORAL_TLS_KEY');
  const caPem = read('TEMPORAL_TLS_CA');
  if (!!env.TEMPORAL_TLS_CERT !== !!env.TEMPORAL_TLS_KEY) problems.push('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: give both (the client certificate and its private key) or neither');
  const cert = certificate('TEMPORAL_TLS_CERT', certPem);
  certificate('TEMPORAL_TLS_CA', caPem);
  if (cert && keyPem) {
    try {
      if (!cert.checkPrivateKey(createPrivateKey(keyPem))) problems.push(`TEMPORAL_TLS_KEY: the key in ${env.TEMPORAL_TLS_KEY} does not belong to the certificate in ${env.TEMPORAL_TLS_CERT}`);
    } catch {
      problems.push(`TEMPORAL_TLS_KEY: ${env.TEMPORAL_TLS_KEY} is not a PEM private key`);
    }
  }
  const secured = !!(env.TEMPORAL_TLS_CERT || env.TEMPORAL_TLS_CA || env.TEMPORAL_TLS_SERVER_NAME || env.TEMPORAL_API_KEY);
  if (env.TEMPORAL_TLS === 'false' && secured) problems.push('TEMPORAL_TLS: "false" with TLS settings or an API key given (an API key is only sent over TLS)');
  const useTls = env.TEMPORAL_TLS === 'true' || (env.TEMPORAL_TLS !== 'false' && secured);
  if (problems.length || !useTls) return { settings: {}, problems };
  return {
    problems,
    settings: {
      tls: {
        ...(certPem && keyPem ? { clientCertPair: { crt: certPem, key: keyPem } } : {}),
        ...(caPem ? { serverRootCACertificate: caPem } : {}),
        ...(env.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME } : {}),
      },
      ...(env.TEMPORAL_API_KEY ? { apiKey: env.TEMPORAL_API_KEY } : {}),
    },
  };
}
