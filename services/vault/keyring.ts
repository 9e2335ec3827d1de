/**
 * Master keys of the vault. From MASTER_KEY (+ MASTER_KEY_PREVIOUS, readable during a rotation) or
 * from a keyring file `{ "active": "<keyId>", "keys": { "<keyId>": "<base64 of 32 bytes>" } }`,
 * by default DATA_DIR/master-keys.json, generated on first use. Errors name files and key ids,
 * never key material.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config';

export const MASTER_KEY_BYTES = 32;

export interface Keyring {
  /** id of the key new secrets are sealed with */
  readonly activeId: string;
  /** The key with this id; the buffer is shared: never modify it. */
  get(keyId: string): Buffer | undefined;
  ids(): string[];
}

export class KeyringError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyringError';
  }
}

interface KeyringFile {
  active: string;
  keys: Record<string, string>;
}

/** Stored beside every sealed secret, so it must say nothing useful about the key: a hash prefix. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

export function defaultKeyringFile(config: Pick<Config, 'dataDir'>): string {
  return path.join(config.dataDir, 'master-keys.json');
}

/** A keyring from keys in memory: `active` seals, all of them open. */
export function createKeyring(active: Buffer, previous: Buffer[] = []): Keyring {
  const keys = new Map<string, Buffer>();
  for (const k of [active, ...previous]) {
    if (k.length !== MASTER_KEY_BYTES) throw new KeyringError(`a master key must be ${MASTER_KEY_BYTES} bytes, got ${k.length}`);
    keys.set(keyIdOf(k), Buffer.from(k));
  }
  const activeId = keyIdOf(active);
  return { activeId, get: (id) => keys.get(id), ids: () => [...keys.keys()] };
}

function decodeKey(b64: string, where: string): Buffer {
  // Buffer.from(…, 'base64') silently skips junk: insist on canonical base64 of exactly 32 bytes.
  const key = Buffer.from(b64, 'base64');
  if (key.length !== MASTER_KEY_BYTES || key.toString('base64') !== b64) {
    throw new KeyringError(`${where}: not base64 of exactly ${MASTER_KEY_BYTES} bytes`);
  }
  return key;
}

/** Reads a keyring file, refusing one that others can read or that is not well-formed. */
function readKeyringFile(file: string): KeyringFile {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KeyringError(
      code === 'ENOENT' ? `keyring file ${file} does not exist (MASTER_KEY_FILE must name an existing keyring)` : `keyring file ${file} cannot be read (${code})`,
    );
  }
  let text: string;
  try {
    // fstat on the opened descriptor: the file checked is the file read.
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new KeyringError(`keyring file ${file} is not a regular file`);
    if ((st.mode & 0o077) !== 0) {
      throw new KeyringError(
        `keyring file ${file} is accessible by group or others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}): run chmod 600 ${file}`,
      );
    }
    text = fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new KeyringError(`keyring file ${file} is malformed: not JSON`);
  }
  const bad = (why: string) => new KeyringError(`keyring file ${file} is malformed: ${why}`);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad('expected an object { "active", "keys" }');
  const { active, keys } = parsed as Partial<KeyringFile>;
  if (typeof active !== 'string') throw bad('"active" must be a key id');
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) throw bad('"keys" must be an object of key id → base64 key');
  for (const [id, b64] of Object.entries(keys)) {
    if (typeof b64 !== 'string') throw bad(`key ${id} is not a string`);
    const key = decodeKey(b64, `keyring file ${file} is malformed: key ${id}`);
    // A mismatch means a hand-edited or corrupted file: sealing under a wrong id would lose data.
    if (keyIdOf(key) !== id) throw bad(`key ${id} does not match its id`);
  }
  if (!Object.hasOwn(keys, active)) throw bad(`the active key ${active} is not among "keys"`);
  return { active, keys: keys as Record<string, string> };
}

/**
 * Writes owner-only into a temporary file beside `file`, then puts it in place: readers never see a
 * half-written keyring. `replace: false` links instead of renaming, which fails if `file` exists.
 */
function writeKeyringFile(file: string, content: KeyringFile, replace: boolean): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.fchmodSync(fd, 0o600); // the umask could only have narrowed it, but be exact
    fs.writeFileSync(fd, `${JSON.stringify(content, null, 2)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    if (replace) fs.renameSync(tmp, file);
    else fs.linkSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true }); // gone after a rename; the spare name after a link
  }
}

function newKeyEntry(): { id: string; b64: string } {
  const key = randomBytes(MASTER_KEY_BYTES);
  const entry = { id: keyIdOf(key), b64: key.toString('base64') };
  key.fill(0);
  return entry;
}

/** Generates the default keyring unless it exists (never overwrites, even when racing another process). */
function ensureDefaultKeyringFile(file: string): void {
  if (fs.existsSync(file)) return;
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const { id, b64 } = newKeyEntry();
  try {
    writeKeyringFile(file, { active: id, keys: { [id]: b64 } }, false);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

function keyringFromFile(content: KeyringFile): Keyring {
  const keys = new Map(Object.entries(content.keys).map(([id, b64]) => [id, Buffer.from(b64, 'base64')] as const));
  return { activeId: content.active, get: (id) => keys.get(id), ids: () => [...keys.keys()] };
}

/** The keyring the configuration names. Throws KeyringError with what to fix. */
export function loadKeyring(config: Pick<Config, 'masterKey' | 'dataDir'>): Keyring {
  const { key, previous, file } = config.masterKey;
  if (key) {
    return createKeyring(
      decodeKey(key, 'MASTER_KEY'),
      previous.map((p, i) => decodeKey(p, `MASTER_KEY_PREVIOUS[${i}]`)),
    );
  }
  // Only the default location is generated: a named file that is missing is a mistake to report.
  const target = file ?? defaultKeyringFile(config);
  if (!file) ensureDefaultKeyringFile(target);
  return keyringFromFile(readKeyringFile(target));
}

/** Adds a fresh key to a keyring file and makes it active; older keys stay readable. Returns its id. */
export function addKeyToFile(file: string): string {
  const content: KeyringFile = fs.existsSync(file) ? readKeyringFile(file) : { active: '', keys: {} };
  if (!fs.existsSync(file)) fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const { id, b64 } = newKeyEntry();
  writeKeyringFile(file, { active: id, keys: { ...content.keys, [id]: b64 } }, true);
  return id;
}

/** Retires keys no sealed secret uses any more. The active key cannot be removed. Returns the ids removed. */
export function removeKeysFromFile(file: string, ids: string[]): string[] {
  const content = readKeyringFile(file);
  if (ids.includes(content.active)) throw new KeyringError(`key ${content.active} is the active key of ${file} and cannot be removed`);
  const removed = ids.filter((id) => Object.hasOwn(content.keys, id));
  if (removed.length === 0) return [];
  const keys = Object.fromEntries(Object.entries(content.keys).filter(([id]) => !removed.includes(id)));
  writeKeyringFile(file, { active: content.active, keys }, true);
  return removed;
}
