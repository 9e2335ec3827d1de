/**
 * The one way random tokens (invitation links, session cookies, connector secrets and bearer tokens)
 * are stored: their SHA-256. They are 256-bit random strings, so a fast hash is right; a slow password
 * hash would only slow every request down. A paper sheet's 登録コード has 80 bits (shared/paper-code):
 * from a stolen database, finding one of N live codes still takes about 2^80 / N hashes, and a code
 * dies with its invitation round (90 days at most).
 */
import { createHash } from 'node:crypto';

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');
