import { randomFillSync } from 'node:crypto';

/**
 * Random bytes as hex, drawn from a 4 KiB buffer refilled from the CSPRNG
 * when used up: the same batching Node applies to randomUUID(), since a
 * randomBytes() call per trace id is a synchronous call into OpenSSL on the
 * hot path of every submission. For identifiers, not for key material.
 */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let offset = 0;

export function randomHex(bytes: number): string {
  if (bytes > POOL_BYTES) throw new RangeError(`randomHex: at most ${POOL_BYTES} bytes`);
  if (offset + bytes > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
    offset = 0;
  }
  const hex = pool.toString('hex', offset, offset + bytes);
  offset += bytes;
  return hex;
}
