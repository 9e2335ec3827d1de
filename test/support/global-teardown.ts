import fs from 'node:fs';
import pg from 'pg';
import path from 'node:path';
import { stopPostgres } from '../../services/devstack/postgres';
import { CAPTURE_ENV } from './capture';
import { findMyNumbers, withoutHexDigests } from './leak-scan';
import { testState } from './state';

/**
 * Scans everything the run captured (test/support/capture.ts) for a valid My Number, hex digests
 * aside. Reports file and line with the number masked, and fails the run.
 */
function scanCapturedOutput(): void {
  const dir = process.env[CAPTURE_ENV];
  if (!dir || !fs.existsSync(dir)) throw new Error('leak scan: the capture folder made by global set-up is missing');
  const files = fs.readdirSync(dir);
  let lines = 0;
  const findings = files.flatMap((f) => {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    lines += text.split('\n').length - 1;
    // Hashes printed by the operator CLI (history heads) hold digit runs by chance.
    return findMyNumbers(withoutHexDigests(text), f);
  });
  fs.rmSync(dir, { recursive: true, force: true });
  if (findings.length) {
    const list = findings.slice(0, 20).map((x) => `  ${x.where}:${x.line}  ${x.masked}`).join('\n');
    throw new Error(`leak scan: ${findings.length} valid My Number(s) in what the product logged or printed during the tests:\n${list}`);
  }
  process.stdout.write(`leak scan: no My Number in ${lines} captured lines from ${files.length} files\n`);
}

export default async function globalTeardown(): Promise<void> {
  const { tmpDir, postgres, adminUrl, database } = testState.get();
  if (postgres) await stopPostgres(postgres);
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
  if (adminUrl && database) {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await admin.end();
  }
  scanCapturedOutput();
}
