/** Login password hashing and policy. */
import { scryptSync } from 'node:crypto';
import { AppError } from '../services/errors';
import { checkPasswordPolicy, hashPassword, needsRehash, verifyPassword } from '../services/auth/passwords';

describe('hashPassword / verifyPassword', () => {
  test('self-describing scrypt string with 16-byte salt and 32-byte key', async () => {
    const hash = await hashPassword('correct horse');
    const parts = hash.split('$');
    // OWASP's scrypt guidance: N=2^17, r=8, p=1 or equal work with less memory (2^16, 8, 2)
    expect(parts.slice(0, 4)).toEqual(['scrypt', '16', '8', '2']);
    expect(Buffer.from(parts[4]!, 'base64')).toHaveLength(16);
    expect(Buffer.from(parts[5]!, 'base64')).toHaveLength(32);
    expect(needsRehash(hash)).toBe(false);
  });

  test('the right password verifies; another, or another case, does not', async () => {
    const hash = await hashPassword('Password-123');
    expect(await verifyPassword('Password-123', hash)).toBe(true);
    expect(await verifyPassword('password-123', hash)).toBe(false);
    expect(await verifyPassword('Password-1234', hash)).toBe(false);
    expect(await verifyPassword('', hash)).toBe(false);
  });

  test('a fresh salt every time', async () => {
    const [a, b] = await Promise.all([hashPassword('same password'), hashPassword('same password')]);
    expect(a).not.toBe(b);
    expect(await verifyPassword('same password', a)).toBe(true);
    expect(await verifyPassword('same password', b)).toBe(true);
  });

  test('Japanese passwords verify in either Unicode composition', async () => {
    const composed = 'パスワードです'; // パ as one code point
    const hash = await hashPassword(composed);
    expect(await verifyPassword(composed.normalize('NFD'), hash)).toBe(true);
  });

  test('malformed or absurd stored hashes are a plain "no"', async () => {
    for (const bad of ['', '!', 'scrypt$15$8$1$x$y', 'bcrypt$2b$10$abc', 'scrypt$40$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=']) {
      await expect(verifyPassword('whatever1', bad)).resolves.toBe(false);
    }
    expect(needsRehash('scrypt$14$8$1$AAAA$AAAA')).toBe(true);
  });

  test('hashes of the earlier cost still verify and are marked for re-hashing; as much work another way is not', async () => {
    const salt = Buffer.alloc(16, 1);
    const key = scryptSync('Password-123', salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 2 ** 26 });
    const old = ['scrypt', 15, 8, 1, salt.toString('base64'), key.toString('base64')].join('$');
    expect(await verifyPassword('Password-123', old)).toBe(true);
    expect(needsRehash(old)).toBe(true);
    expect(needsRehash('scrypt$17$8$1$AAAA$AAAA')).toBe(false);
    expect(needsRehash('scrypt$18$4$1$AAAA$AAAA')).toBe(true); // a block size below 8
  });
});

describe('checkPasswordPolicy', () => {
  const reject = (pw: unknown) => {
    try {
      checkPasswordPolicy(pw);
    } catch (err) {
      return err as AppError;
    }
    throw new Error('accepted');
  };

  test('fewer than 8 characters: 400 WEAK_PASSWORD with the Japanese message', () => {
    const err = reject('1234567');
    expect(err).toBeInstanceOf(AppError);
    expect(err.status).toBe(400);
    expect(err.code).toBe('WEAK_PASSWORD');
    expect(err.title).toBe('パスワードは8文字以上で入力してください');
    expect(reject('').code).toBe('WEAK_PASSWORD');
    expect(reject(undefined).code).toBe('WEAK_PASSWORD');
    // characters, not bytes: 7 kanji are still too short
    expect(reject('七文字の合言葉').code).toBe('WEAK_PASSWORD');
  });

  test('8 to 128 characters pass; more than 128 is refused', () => {
    expect(() => checkPasswordPolicy('12345678')).not.toThrow();
    expect(() => checkPasswordPolicy('八文字のパスワード')).not.toThrow();
    expect(() => checkPasswordPolicy('x'.repeat(128))).not.toThrow();
    const err = reject('x'.repeat(129));
    expect(err.status).toBe(400);
    expect(err.title).toBe('パスワードは128文字以内で入力してください');
  });
});
