import { createHash } from 'node:crypto';

/** SHA-256 over float arrays and numbers, in the order given; hex. */
export function stateDigest(parts: ReadonlyArray<Float32Array | Float64Array | number | string | null>): string {
  const hash = createHash('sha256');
  for (const part of parts) {
    if (part instanceof Float32Array || part instanceof Float64Array) {
      hash.update(new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
    } else if (typeof part === 'string') {
      hash.update(part);
    } else {
      // null (no baseline yet) hashes as NaN, which no real value is.
      const number = Buffer.alloc(8);
      number.writeDoubleLE(part ?? Number.NaN);
      hash.update(number);
    }
  }
  return hash.digest('hex');
}

export function toBase64(values: Float32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

export function fromBase64(text: string, expectedLength: number, what: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.byteLength !== expectedLength * 4) {
    throw new RangeError(`${what}: expected ${expectedLength} float32 values, got ${bytes.byteLength / 4}`);
  }
  const out = new Float32Array(expectedLength);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}
