/**
 * The one way random tokens (invitation links, session cookies, connector secrets and bearer tokens)
 * are stored: their SHA-256. They are 256-bit random strings, so a fast hash is right; a slow password
 * hash would only slow every request down.
 */
import { createHash } from 'node:crypto';

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');
