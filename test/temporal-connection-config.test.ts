/**
 * Settings for a managed or secured Temporal (TEMPORAL_TLS_*, TEMPORAL_API_KEY), checked at start
 * with certificates made by openssl here: what is wrong is named with its key before anything
 * connects; what is right becomes the SDK's tls / apiKey options.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../services/config/config';
import { temporalConnection } from '../services/config/temporal-connection';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-tls-'));
const file = (name: string) => path.join(dir, name);
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

beforeAll(() => {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=test CA');
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=mynaflow-worker');
  openssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.pem', '-days', '2');
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'other.key', '-out', 'other.csr', '-subj', '/CN=other');
  fs.writeFileSync(file('garbage.pem'), 'not a certificate\n');
});

const problems = (env: Record<string, string>) => {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems;
  }
};

describe('TEMPORAL_TLS_* and TEMPORAL_API_KEY', () => {
  it('unset: plain gRPC, as the embedded stack and a private cluster use', () => {
    expect(loadConfig({}).temporal.connection).toEqual({});
  });

  it('mTLS: the client pair and the CA are read, the server name kept', () => {
    const c = loadConfig({ TEMPORAL_TLS_CERT: file('client.pem'), TEMPORAL_TLS_KEY: file('client.key'), TEMPORAL_TLS_CA: file('ca.pem'), TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' });
    expect(c.temporal.connection).toEqual({
      tls: { clientCertPair: { crt: fs.readFileSync(file('client.pem')), key: fs.readFileSync(file('client.key')) }, serverRootCACertificate: fs.readFileSync(file('ca.pem')), serverNameOverride: 'temporal.internal' },
    });
  });

  it('an API key (Temporal Cloud) implies TLS with the system roots', () => {
    expect(loadConfig({ TEMPORAL_API_KEY: 'key-123' }).temporal.connection).toEqual({ tls: {}, apiKey: 'key-123' });
    expect(loadConfig({ TEMPORAL_TLS: 'true' }).temporal.connection).toEqual({ tls: {} });
  });

  it('refuses at start, naming each key: a missing half, an unreadable file, not PEM, a key of another certificate, an API key without TLS', () => {
    expect(problems({ TEMPORAL_TLS_CERT: file('client.pem') })).toEqual(['TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: give both (the client certificate and its private key) or neither']);
    expect(problems({ TEMPORAL_TLS_CA: file('missing.pem') })).toEqual([`TEMPORAL_TLS_CA: cannot read ${file('missing.pem')} (ENOENT)`]);
    expect(problems({ TEMPORAL_TLS_CERT: file('garbage.pem'), TEMPORAL_TLS_KEY: file('client.key') })).toEqual([`TEMPORAL_TLS_CERT: ${file('garbage.pem')} is not a PEM certificate`]);
    expect(problems({ TEMPORAL_TLS_CERT: file('client.pem'), TEMPORAL_TLS_KEY: file('other.key') })).toEqual([`TEMPORAL_TLS_KEY: the key in ${file('other.key')} does not belong to the certificate in ${file('client.pem')}`]);
    expect(problems({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k' })).toEqual(['TEMPORAL_TLS: "false" with TLS settings or an API key given (an API key is only sent over TLS)']);
  });

  it('refuses a certificate past its end (checked as of three days on: it was made for two)', () => {
    const later = new Date(Date.now() + 3 * 86_400_000);
    const { problems: found } = temporalConnection({ TEMPORAL_TLS_CERT: file('client.pem'), TEMPORAL_TLS_KEY: file('client.key') }, later);
    expect(found).toEqual([expect.stringMatching(new RegExp(`^TEMPORAL_TLS_CERT: the certificate in ${file('client.pem').replace(/[.]/g, '\\.')} expired on \\d{4}-\\d{2}-\\d{2}$`))]);
  });
});
