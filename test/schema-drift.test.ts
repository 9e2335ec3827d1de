/**
 * The migrations and schema.prisma describe the same database, the test database is fully migrated,
 * and the Prisma CLI (JS schema engine + our pg adapter, see prisma.config.ts) cleans up the shadow
 * databases it makes. Each CLI call takes 10-15 s, so they all start at once in beforeAll and each
 * test awaits its own.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ownerUrl } from './support/migrate';

const root = path.join(__dirname, '..');
const PRISMA = path.join(root, 'node_modules', '.bin', 'prisma');
const SCHEMA = path.join('prisma', 'schema.prisma');
const MIGRATIONS = path.join('prisma', 'migrations');

interface CliResult {
  code: number | null;
  output: string;
}

function databaseUrl(): string {
  return ownerUrl();
}

/** Runs the Prisma CLI; never rejects, so the exit code can be asserted. */
function prisma(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      PRISMA,
      args,
      { cwd: root, env: { ...process.env, DATABASE_URL: databaseUrl() }, timeout: 90_000, maxBuffer: 10 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, output: `${stdout}\n${stderr}` });
      },
    );
  });
}

const diffArgs = (schema: string) => ['migrate', 'diff', '--from-migrations', MIGRATIONS, '--to-schema-datamodel', schema, '--exit-code'];

async function shadowDatabases(): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl() });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE 'prisma\\_migrate\\_shadow\\_db\\_%'",
    );
    return rows.map((r) => r.datname);
  } finally {
    await client.end();
  }
}

const DRIFT_COLUMN = 'drift_check_column';
let tmpDir: string;
let noDrift: Promise<CliResult>;
let withDrift: Promise<CliResult>;
let status: Promise<CliResult>;

beforeAll(() => {
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mynaflow-drift-'));
  const original = fs.readFileSync(path.join(root, SCHEMA), 'utf8');
  const modified = original.replace(/^(model Registrant \{\r?\n)/m, `$1  driftCheckColumn String? @map("${DRIFT_COLUMN}")\n`);
  if (modified === original) throw new Error('could not find `model Registrant {` in schema.prisma to add a column to');
  const driftedSchema = path.join(tmpDir, 'schema.prisma');
  fs.writeFileSync(driftedSchema, modified);

  noDrift = prisma(diffArgs(SCHEMA));
  withDrift = prisma(diffArgs(driftedSchema));
  status = prisma(['migrate', 'status']);
});

afterAll(async () => {
  // Let every CLI run end (even after a failed test) before removing its input.
  await Promise.allSettled([noDrift, withDrift, status]);
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
});

describe('prisma schema vs migrations', () => {
  it('finds no drift between prisma/migrations and schema.prisma (`migrate diff --exit-code` exits 0)', async () => {
    const r = await noDrift;
    expect({ code: r.code, output: r.output }).toEqual({ code: 0, output: expect.stringContaining('No difference detected') });
  }, 120_000);

  it('reports drift (exit code 2) when the schema has a column the migrations lack', async () => {
    const r = await withDrift;
    expect({ code: r.code, output: r.output }).toEqual({ code: 2, output: expect.stringContaining(DRIFT_COLUMN) });
    expect(r.output).toMatch(/registrants/);
  }, 120_000);

  it('says the test database is up to date (`migrate status`)', async () => {
    const r = await status;
    expect({ code: r.code, output: r.output }).toEqual({ code: 0, output: expect.stringContaining('Database schema is up to date') });
  }, 120_000);

  it('leaves no prisma_migrate_shadow_db_* databases behind', async () => {
    await Promise.allSettled([noDrift, withDrift, status]);
    expect(await shadowDatabases()).toEqual([]);
  }, 120_000);
});
