/**
 * Reads back the QR codes the `qrcode` package draws as SVG (one stroked path of horizontal runs,
 * "M x y.5 h n m dx dy h n …"): the runs become a bitmap jsQR decodes, as a phone camera would.
 */
import jsQR from 'jsqr';

const SCALE = 8;

export function decodeQrSvg(svg: string): string | null {
  const size = Number(/viewBox="0 0 (\d+) \d+"/.exec(svg)?.[1]);
  const d = /<path stroke="#000000" d="([^"]+)"/.exec(svg)?.[1];
  if (!size || !d) return null;
  const dark = new Set<string>();
  let x = 0;
  let y = 0;
  for (const [, op, a, b] of d.matchAll(/([MmHhVv])(-?[\d.]+)(?:\s(-?[\d.]+))?/g)) {
    const n = Number(a);
    if (op === 'M') [x, y] = [n, Number(b)];
    else if (op === 'm') [x, y] = [x + n, y + Number(b)];
    else if (op === 'h') {
      for (let i = 0; i < n; i++) dark.add(`${x + i},${Math.floor(y)}`);
      x += n;
    }
  }
  const px = size * SCALE;
  const data = new Uint8ClampedArray(px * px * 4).fill(255);
  for (let py = 0; py < px; py++) {
    for (let pxx = 0; pxx < px; pxx++) {
      if (!dark.has(`${Math.floor(pxx / SCALE)},${Math.floor(py / SCALE)}`)) continue;
      const o = (py * px + pxx) * 4;
      data[o] = data[o + 1] = data[o + 2] = 0;
    }
  }
  return jsQR(data, px, px)?.data ?? null;
}
