// Tokens: random, high-entropy, stored and compared as SHA-256 digests in constant time. A fast hash
// is enough here because the tokens are 256-bit random strings, not passwords.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new token: `prefix` + 43 base64url characters (32 random bytes). */
export function newToken(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

/** Hex SHA-256 of a token: what the store keeps. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Compares a presented token with a stored hash without leaking where they differ. */
export function tokenMatches(presented: string, storedHash: string): boolean {
  const a = Buffer.from(hashToken(presented), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
