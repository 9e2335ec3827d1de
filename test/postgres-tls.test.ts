/**
 * PostgreSQL over TLS as a managed database offers it, for real: a private server with `ssl = on`
 * and a certificate from a CA made here by openssl (for the name db.internal, not 127.0.0.1), and
 * the product's own database client made from DATABASE_URL's libpq parameters. verify-full refuses
 * the wrong name and a stranger's CA; verify-ca takes the chain; require encrypts without checking;
 * disable does not encrypt. What cannot work is refused at start, naming the parameter.
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../services/config/config';
import { createPrisma } from '../services/db/client';
import { clusterInfo, ensureCluster, startPostgres, stopPostgres, type ClusterInfo } from '../services/devstack/postgres';
import { freePort } from '../services/devstack/ports';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mynaflow-pg-tls-'));
const file = (name: string) => path.join(dir, name);
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
let info: ClusterInfo;
let server: ChildProcess;

function makeCa(name: string) {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`);
}

beforeAll(async () => {
  makeCa('ca');
  makeCa('stranger');
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=db.internal');
  fs.writeFileSync(file('san.ext'), 'subjectAltName=DNS:db.internal\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');

  const dataDir = path.join(dir, 'pg');
  const { password } = ensureCluster(dataDir);
  // The server's key belongs to the server's user, readable by it alone (PostgreSQL insists).
  const { uid, gid } = fs.statSync(dataDir);
  for (const name of ['server.pem', 'server.key']) {
    fs.copyFileSync(file(name), path.join(dataDir, name));
    fs.chownSync(path.join(dataDir, name), uid, gid);
    fs.chmodSync(path.join(dataDir, name), 0o600);
  }
  fs.appendFileSync(path.join(dataDir, 'postgresql.conf'), "\nssl = on\nssl_cert_file = 'server.pem'\nssl_key_file = 'server.key'\n");
  info = clusterInfo(dataDir, await freePort(), password);
  server = await startPostgres(info, { logFile: file('postgres.log') });
}, 120_000);

afterAll(async () => {
  if (server) await stopPostgres(server);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Whether the product's client connects with these parameters, and whether its session is encrypted. */
async function connect(params: string): Promise<{ encrypted: boolean } | { refused: string }> {
  const prisma = createPrisma(`${info.url('postgres')}?${params}`);
  try {
    const [row] = await prisma.$queryRaw<{ ssl: boolean }[]>`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`;
    return { encrypted: row!.ssl };
  } catch (err) {
    return { refused: (err as Error).message };
  } finally {
    await prisma.$disconnect();
  }
}

describe('DATABASE_URL with libpq TLS parameters, against a server with TLS on', () => {
  it('verify-ca: the chain from sslrootcert is checked, the name is not — encrypted', async () => {
    expect(await connect(`sslmode=verify-ca&sslrootcert=${file('ca.pem')}`)).toEqual({ encrypted: true });
  });

  it("verify-full: refuses a certificate for another name, and one from a stranger's CA", async () => {
    expect(await connect(`sslmode=verify-full&sslrootcert=${file('ca.pem')}`)).toEqual({ refused: expect.stringMatching(/altnames|Hostname|IP: 127\.0\.0\.1/i) });
    expect(await connect(`sslmode=verify-ca&sslrootcert=${file('stranger.pem')}`)).toEqual({ refused: expect.stringMatching(/certificate|self.signed|verify/i) });
  });

  it('require: encrypted without checking the server; disable: plain', async () => {
    expect(await connect('sslmode=require')).toEqual({ encrypted: true });
    expect(await connect('sslmode=disable')).toEqual({ encrypted: false });
  });

  it('require with sslrootcert checks the chain, as libpq does', async () => {
    expect(await connect(`sslmode=require&sslrootcert=${file('stranger.pem')}`)).toEqual({ refused: expect.stringMatching(/certificate|self.signed|verify/i) });
  });

  it('refuses at start what cannot work, naming the parameter', () => {
    const problems = (url: string) => {
      try {
        loadConfig({ DATABASE_URL: url });
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    const base = 'postgresql://u:p@db.internal:5432/mynaflow';
    expect(problems(`${base}?sslmode=prefer`)).toEqual(['DATABASE_URL: sslmode=prefer is not supported: use disable, require, verify-ca, verify-full (the driver cannot fall back to a plain connection)']);
    expect(problems(`${base}?sslmode=verify-full&sslrootcert=${file('missing.pem')}`)).toEqual([`DATABASE_URL: sslrootcert=${file('missing.pem')} cannot be read (ENOENT)`]);
    expect(problems(`${base}?sslmode=verify-full&sslcert=${file('server.pem')}`)).toEqual(['DATABASE_URL: sslcert and sslkey: give both (the client certificate and its key) or neither']);
    expect(problems(`${base}?sslmode=verify-full&sslrootcert=${file('ca.pem')}`)).toEqual([]);
  });
});
