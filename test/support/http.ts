/** Reading HTTP answers in tests. */
import type request from 'supertest';

/** A supertest parser that collects the body as bytes (supertest buffers only text by default). */
export function binary(res: request.Response, done: (err: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => done(null, Buffer.concat(chunks)));
}

/** The request with its answer's raw bytes as `body` (downloads, images). */
export const bytesOf = (req: request.Test) => req.buffer(true).parse(binary);
