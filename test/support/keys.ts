/** This test process's master keys: the vault's and the Temporal payload codec's (one per test file). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../services/config/config';
import { loadKeyring, type Keyring } from '../../services/vault/keyring';

let fileKeyring: Keyring | undefined;
let keyringDir: string | undefined;

export function testKeyring(): Keyring {
  keyringDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'mynaflow-keys-'));
  fileKeyring ??= loadKeyring(loadConfig({ DATA_DIR: keyringDir }));
  return fileKeyring;
}

/** The DATA_DIR whose keyring file testKeyring() loaded: `npm run ops` run with it seals under the same keys. */
export function testKeyringDir(): string {
  testKeyring();
  return keyringDir!;
}
