/** This test process's master keys: the vault's and the Temporal payload codec's (one per test file). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../services/config/config';
import { loadKeyring, type Keyring } from '../../services/vault/keyring';

let fileKeyring: Keyring | undefined;

export function testKeyring(): Keyring {
  fileKeyring ??= loadKeyring(loadConfig({ DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'mynaflow-keys-')) }));
  return fileKeyring;
}
