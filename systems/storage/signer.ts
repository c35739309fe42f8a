// Signed download URLs: HMAC-SHA256 over the method, the key and the expiry (unix seconds),
// compared in constant time.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { StorageError } from './errors.ts';

export class UrlSigner {
  readonly #secret: Buffer;

  /** Without a secret, a random one: URLs then stop working when the process exits. */
  constructor(secret?: string) {
    this.#secret = secret ? Buffer.from(secret, 'utf8') : randomBytes(32);
  }

  sign(method: string, key: string, expires: number): string {
    return createHmac('sha256', this.#secret)
      .update(`${method.toUpperCase()}\n${key}\n${expires}`)
      .digest('base64url');
  }

  /** Throws STORAGE_FORBIDDEN (bad signature) or STORAGE_URL_EXPIRED; the signature is checked first. */
  verify(
    method: string,
    key: string,
    expires: string | undefined,
    sig: string | undefined,
    nowS: number,
  ): void {
    if (!expires || !/^\d{1,12}$/.test(expires) || !sig) {
      throw new StorageError(
        'STORAGE_FORBIDDEN',
        'the URL carries no valid `expires` and `sig`; ask GET /download/url',
      );
    }
    const expected = Buffer.from(this.sign(method, key, Number(expires)), 'base64url');
    const given = Buffer.from(sig, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new StorageError('STORAGE_FORBIDDEN', 'the signature does not match this key and expiry');
    }
    if (Number(expires) <= nowS) {
      throw new StorageError(
        'STORAGE_URL_EXPIRED',
        `the URL expired at ${new Date(Number(expires) * 1000).toISOString()}`,
      );
    }
  }
}
