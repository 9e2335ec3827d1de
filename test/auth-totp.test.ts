/** TOTP as configured for the authenticator-app second factor: RFC 6238 vectors, window, replay. */
import { base32, generateTotpSecret, matchTotp, otpauthUri, qrCode, totpCode, totpStep } from '../services/auth/totp';

// RFC 6238 Appendix B, SHA-1: the key is the ASCII string "12345678901234567890".
const RFC_KEY = new TextEncoder().encode('12345678901234567890');
const RFC_VECTORS: [number, string][] = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

const at = (seconds: number) => new Date(seconds * 1000);

describe('RFC 6238 Appendix B (SHA-1, 8 digits)', () => {
  test.each(RFC_VECTORS)('time %i gives %s', async (t, expected) => {
    expect(await totpCode(RFC_KEY, at(t), 8)).toBe(expected);
    // and the verifier accepts it at that moment, in step floor(t/30)
    expect(await matchTotp(RFC_KEY, expected, at(t), null, 8)).toBe(Math.floor(t / 30));
  });

  test('the same key as Base32 gives the same codes', async () => {
    const b32 = base32.encode(RFC_KEY);
    expect(b32).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    expect(Buffer.from(base32.decode(b32)).toString('ascii')).toBe('12345678901234567890');
    expect(await totpCode(b32, at(1111111109), 8)).toBe('07081804');
  });
});

describe('matchTotp (6 digits, 30 s)', () => {
  const secret = generateTotpSecret();
  const now = at(1_700_000_015); // 15 s into a step
  const step = totpStep(now);

  test('a secret is 160 bits of Base32', () => {
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(generateTotpSecret()).not.toBe(secret);
  });

  test('the current step and one step either side are accepted', async () => {
    for (const d of [-1, 0, 1]) {
      const code = await totpCode(secret, at((step + d) * 30 + 5));
      expect(await matchTotp(secret, code, now, null)).toBe(step + d);
    }
  });

  test('two steps away is refused', async () => {
    for (const d of [-2, 2]) {
      const code = await totpCode(secret, at((step + d) * 30 + 5));
      expect(await matchTotp(secret, code, now, null)).toBeNull();
    }
  });

  test('replay: a step at or before the last accepted one is refused', async () => {
    const code = await totpCode(secret, now);
    const first = await matchTotp(secret, code, now, null);
    expect(first).toBe(step);
    expect(await matchTotp(secret, code, now, first)).toBeNull(); // same code again
    expect(await matchTotp(secret, code, now, BigInt(step))).toBeNull(); // as stored (BIGINT)
    const previous = await totpCode(secret, at((step - 1) * 30));
    expect(await matchTotp(secret, previous, now, step)).toBeNull(); // an older code after a newer one
    const next = await totpCode(secret, at((step + 1) * 30));
    expect(await matchTotp(secret, next, now, step)).toBe(step + 1); // the next step still works
    expect(await matchTotp(secret, next, now, step + 5)).toBeNull(); // last step beyond the window
  });

  test('wrong, malformed and foreign codes never match and never throw', async () => {
    const code = await totpCode(secret, now);
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    for (const bad of [wrong, '', '12345', '1234567', 'abcdef', code + ' x', undefined, 123456]) {
      expect(await matchTotp(secret, bad as unknown as string, now, null)).toBeNull();
    }
    expect(await matchTotp('not base32 !!', code, now, null)).toBeNull();
    expect(await matchTotp(generateTotpSecret(), code, now, null)).toBeNull();
  });

  test('full-width digits and spaces as typed on a Japanese keyboard are accepted', async () => {
    const code = await totpCode(secret, now);
    const wide = [...code].map((c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).join('');
    expect(await matchTotp(secret, ` ${wide.slice(0, 3)} ${wide.slice(3)} `, now, null)).toBe(step);
  });
});

describe('enrolment artefacts', () => {
  test('otpauth URI names the issuer and the account, with the secret', () => {
    const uri = otpauthUri({ secret: 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', accountName: 'hr@example.co.jp', issuer: 'mynaflow' });
    const url = new URL(uri);
    expect(url.protocol).toBe('otpauth:');
    expect(url.host).toBe('totp');
    expect(decodeURIComponent(url.pathname)).toBe('/mynaflow:hr@example.co.jp');
    expect(url.searchParams.get('secret')).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    expect(url.searchParams.get('issuer')).toBe('mynaflow');
    // SHA-1 / 6 digits / 30 s are the defaults every authenticator assumes, if named at all.
    expect(url.searchParams.get('algorithm') ?? 'SHA1').toBe('SHA1');
    expect(url.searchParams.get('digits') ?? '6').toBe('6');
    expect(url.searchParams.get('period') ?? '30').toBe('30');
  });

  test('QR code as PNG data URL and SVG', async () => {
    const { pngDataUrl, svg } = await qrCode('otpauth://totp/mynaflow:a%40b.jp?secret=GEZDGNBVGY3TQOJQ&issuer=mynaflow');
    expect(pngDataUrl).toMatch(/^data:image\/png;base64,/);
    const png = Buffer.from(pngDataUrl.split(',')[1]!, 'base64');
    expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
    expect(svg).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
  });
});
