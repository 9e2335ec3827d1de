/**
 * The certificates of `npm run cluster`'s TLS entry to Temporal (deploy/cluster/haproxy-tls.cfg):
 * a CA of the cluster's own, the entry's server certificate (for TLS_SERVER_NAME, which is not the
 * address the clients dial: they must name it, as behind any load balancer) and the apps' client
 * certificate, made once by openssl in DATA_DIR/tls and made again when one nears its end.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { StartError } from './parts';

export const TLS_SERVER_NAME = 'temporal.cluster.internal';

export interface ClusterTls {
  ca: string;
  /** the server's certificate and key in one file, as HAProxy reads them */
  serverPem: string;
  clientCert: string;
  clientKey: string;
}

const DAYS = 90;

function valid(file: string): boolean {
  if (!fs.existsSync(file)) return false;
  // Made again a month before the end.
  return new Date(new X509Certificate(fs.readFileSync(file)).validTo).getTime() > Date.now() + 30 * 86_400_000;
}

export function ensureClusterTls(dataDir: string): ClusterTls {
  const dir = path.join(dataDir, 'tls');
  const f = (name: string) => path.join(dir, name);
  const tls: ClusterTls = { ca: f('ca.pem'), serverPem: f('server-with-key.pem'), clientCert: f('client.pem'), clientKey: f('client.key') };
  if ([tls.ca, tls.serverPem, tls.clientCert].every(valid) && fs.existsSync(tls.clientKey)) return tls;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const openssl = (...args: string[]) => {
    try {
      execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    } catch (err) {
      throw new StartError(`openssl ${args[0]} failed: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}`);
    }
  };
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl('req', '-x509', ...key, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', String(DAYS + 30), '-subj', '/CN=mynaflow cluster CA');
  fs.writeFileSync(f('server.ext'), `subjectAltName=DNS:${TLS_SERVER_NAME}\nextendedKeyUsage=serverAuth\n`);
  openssl('req', ...key, '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/CN=${TLS_SERVER_NAME}`);
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', String(DAYS), '-extfile', 'server.ext');
  fs.writeFileSync(f('client.ext'), 'extendedKeyUsage=clientAuth\n');
  openssl('req', ...key, '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=mynaflow-app');
  openssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.pem', '-days', String(DAYS), '-extfile', 'client.ext');
  fs.writeFileSync(tls.serverPem, Buffer.concat([fs.readFileSync(f('server.pem')), fs.readFileSync(f('server.key'))]), { mode: 0o600 });
  for (const name of ['ca.key', 'server.key', 'client.key']) fs.chmodSync(f(name), 0o600);
  return tls;
}
