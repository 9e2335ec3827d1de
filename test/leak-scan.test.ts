/** The detector the leak scans rely on: it must find a number in every form it can leak in. */
import { containsAny, findMyNumbers, isValidMyNumber, randomMyNumber, typedFullWidth, withoutHexDigests, withoutRandomTokens } from './support/leak-scan';

const n = randomMyNumber();
const wrongCheck = `${n.slice(0, 11)}${(Number(n[11]) + 1) % 10}`;

describe('findMyNumbers', () => {
  it.each([
    ['plain', (x: string) => `id=${x};`],
    ['hyphenated', (x: string) => `${x.slice(0, 4)}-${x.slice(4, 8)}-${x.slice(8)}`],
    ['spaced', (x: string) => `"${x.slice(0, 4)} ${x.slice(4, 8)} ${x.slice(8)}"`],
    ['full-width, hyphenated', typedFullWidth],
    ['next to letters', (x: string) => `abc${x}def`],
  ])('finds a valid number %s, masked but for the last digit', (_name, form) => {
    const found = findMyNumbers(`line one\n${form(n)}\n`, 'here');
    expect(found).toEqual([{ where: 'here', line: 2, masked: `***********${n[11]}` }]);
  });

  it('ignores a wrong check digit and longer or shorter digit runs', () => {
    expect(isValidMyNumber(n)).toBe(true);
    expect(isValidMyNumber(wrongCheck)).toBe(false);
    expect(findMyNumbers(`${wrongCheck} 1${n} ${n.slice(1)} ${n}7`, 'x')).toEqual([]);
  });
});

type Form = [string, (x: string) => string];

describe('containsAny', () => {
  it.each<Form>([
    ['as digits', (x: string) => `..${x}..`],
    ['as UTF-8 hex (bytea)', (x: string) => `\\x00${Buffer.from(x).toString('hex')}ff`],
    ...[0, 1, 2].map((pad): Form => [`as base64 at offset ${pad}`, (x: string) => Buffer.from(`${'{"'.slice(0, pad)}${x}"}`).toString('base64')]),
    ['as base64 inside JSON', (x: string) => Buffer.from(JSON.stringify({ myNumber: x })).toString('base64')],
  ])('finds a known number %s', (_name, form) => {
    expect(containsAny(`prefix ${form(n)} suffix`, [n])).toEqual([n]);
  });

  it('finds nothing in text without it', () => {
    const other = randomMyNumber();
    expect(containsAny(Buffer.from(JSON.stringify({ other })).toString('base64'), other === n ? [] : [n])).toEqual([]);
  });
});

it('withoutRandomTokens drops UUIDs, hashes and byte strings but keeps a standalone number', () => {
  const text = `0a1b2c3d-1234-4abc-8def-123456789012 \\x${'3'.repeat(40)} ${'9'.repeat(10)}abcdef0123456789 ${n}`;
  const cleaned = withoutRandomTokens(text);
  expect(cleaned).toContain(n);
  expect(cleaned).not.toContain('0a1b2c3d');
  expect(findMyNumbers(cleaned, 'x')).toHaveLength(1);
});

it('withoutHexDigests drops a hash that happens to hold a valid number, and nothing that could be a number', () => {
  const hash = `ab${n}cd${'e'.repeat(50)}`; // 64 hex characters with a valid twelve-digit run inside
  expect(findMyNumbers(hash, 'x')).toHaveLength(1); // the false positive the teardown scan used to hit
  expect(findMyNumbers(withoutHexDigests(`head 42:${hash}`), 'x')).toEqual([]);
  // A vault fingerprint whose key id holds one (the key id is random per run: the CI scan hit it).
  const keyId = `a${n}bcd`;
  expect(findMyNumbers(`head 14:${keyId}.${'e'.repeat(64)}`, 'x')).toHaveLength(1);
  expect(findMyNumbers(withoutHexDigests(`head 14:${keyId}.${'e'.repeat(64)}`), 'x')).toEqual([]);
  // A number alone, next to words, or in JSON stays visible.
  for (const text of [n, `no=${n}x`, JSON.stringify({ myNumber: n }), `${'f'.repeat(10)}${n}`]) {
    expect(findMyNumbers(withoutHexDigests(text), 'x')).toHaveLength(1);
  }
});
