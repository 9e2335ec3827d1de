/**
 * Everything the test run logs or prints from the product (log lines, child-process output, the
 * Temporal SDK's log) is also appended to a folder made by global set-up, so that global tear-down
 * can scan the whole run for a My Number that got past the scrubbing (test/support/leak-scan.ts).
 */
import fs from 'node:fs';
import path from 'node:path';

export const CAPTURE_ENV = 'MYNAFLOW_TEST_CAPTURE_DIR';

/** Appends text under a source name (one file per process and source). */
export function capture(source: string, text: string): void {
  const dir = process.env[CAPTURE_ENV];
  if (!dir || !text) return;
  fs.appendFileSync(path.join(dir, `${source.replace(/[^\w.-]/g, '_')}.${process.pid}.log`), text.endsWith('\n') ? text : `${text}\n`);
}
