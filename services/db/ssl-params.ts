/**
 * TLS to PostgreSQL from DATABASE_URL's libpq parameters, for managed databases (RDS, Cloud SQL,
 * Azure): `sslmode` = disable | require (encrypted, server not verified — unless `sslrootcert` is
 * given, which makes it verify-ca, as libpq does) | verify-ca (the chain) | verify-full (the chain
 * and the host name); `sslrootcert` the CA's PEM file, `sslcert` + `sslkey` a client certificate.
 * `prefer` and `allow` (try TLS, fall back to plain) are refused: the driver cannot fall back, and
 * a silent plain connection is not what someone asking for TLS meant. Files are read at start.
 */
import fs from 'node:fs';
import type { ConnectionOptions } from 'node:tls';

const MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;

export function sslParams(url: URL): { ssl?: ConnectionOptions; problems: string[] } {
  const problems: string[] = [];
  const mode = url.searchParams.get('sslmode');
  const file = (name: 'sslrootcert' | 'sslcert' | 'sslkey'): Buffer | undefined => {
    const p = url.searchParams.get(name);
    if (p === null) return undefined;
    try {
      return fs.readFileSync(p);
    } catch (err) {
      problems.push(`${name}=${p} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      return undefined;
    }
  };
  if (mode !== null && !(MODES as readonly string[]).includes(mode)) {
    problems.push(`sslmode=${mode} is not supported: use ${MODES.join(', ')}${mode === 'prefer' || mode === 'allow' ? ' (the driver cannot fall back to a plain connection)' : ''}`);
  }
  const ca = file('sslrootcert');
  const cert = file('sslcert');
  const key = file('sslkey');
  if (!!url.searchParams.get('sslcert') !== !!url.searchParams.get('sslkey')) problems.push('sslcert and sslkey: give both (the client certificate and its key) or neither');
  if (problems.length || mode === null || mode === 'disable') return { problems };
  const verify = mode === 'verify-full' || mode === 'verify-ca' || (mode === 'require' && ca !== undefined);
  return {
    problems,
    ssl: {
      rejectUnauthorized: verify,
      ...(ca ? { ca } : {}),
      ...(cert && key ? { cert, key } : {}),
      // verify-ca (and require with a root certificate): the chain, not the name.
      ...(verify && mode !== 'verify-full' ? { checkServerIdentity: () => undefined } : {}),
    },
  };
}
