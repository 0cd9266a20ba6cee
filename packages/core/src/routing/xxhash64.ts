/*
 * XXH64 (xxHash, 64-bit variant) written from the algorithm's specification.
 *
 * Routing hashes one key per request, so the hot path must not allocate: every 64-bit quantity is carried
 * as two int32 halves in locals, and each helper below returns the low half of its result and leaves the
 * high half in `high`. BigInt appears only where the public API hands a 64-bit value in or out.
 */

// The five 64-bit primes of XXH64, as [high, low] 32-bit halves.
const P1_HI = 0x9e3779b1 | 0;
const P1_LO = 0x85ebca87 | 0;
const P2_HI = 0xc2b2ae3d | 0;
const P2_LO = 0x27d4eb4f | 0;
const P3_HI = 0x165667b1 | 0;
const P3_LO = 0x9e3779f9 | 0;
const P4_HI = 0x85ebca77 | 0;
const P4_LO = 0xc2b2ae63 | 0;
const P5_HI = 0x27d4eb2f | 0;
const P5_LO = 0x165667c5 | 0;
// 2^64 - P1: the fourth lane starts at `seed - P1`, and adding the two's complement avoids a subtract helper.
const MINUS_P1_HI = 0x61c8864e | 0;
const MINUS_P1_LO = 0x7a143579 | 0;

const TWO_POW_32 = 4294967296;
const UINT64_LIMIT = 1n << 64n;

/** High half of the 64-bit value most recently returned (as its low half) by a helper below. */
let high = 0;

/**
 * High 32 bits of the unsigned 64-bit product of two 32-bit words. `Math.imul` only yields the low half,
 * and a plain multiplication loses bits above 2^53, so the product is assembled from 16-bit pieces.
 */
function multiplyHigh32(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const cross = a1 * b0 + ((a0 * b0) >>> 16);
  const carry = (cross & 0xffff) + a0 * b1;
  return a1 * b1 + (cross >>> 16) + (carry >>> 16);
}

function multiply(aHi: number, aLo: number, bHi: number, bLo: number): number {
  high = (multiplyHigh32(aLo, bLo) + Math.imul(aHi, bLo) + Math.imul(aLo, bHi)) | 0;
  return Math.imul(aLo, bLo);
}

function add(aHi: number, aLo: number, bHi: number, bLo: number): number {
  const lo = (aLo + bLo) | 0;
  high = (aHi + bHi + ((lo >>> 0) < (aLo >>> 0) ? 1 : 0)) | 0;
  return lo;
}

/** Rotates left by `bits`, which is always in 1..31 for XXH64. */
function rotateLeft(hi: number, lo: number, bits: number): number {
  high = (hi << bits) | (lo >>> (32 - bits));
  return (lo << bits) | (hi >>> (32 - bits));
}

/** One lane step: rotl(acc + input * P2, 31) * P1. */
function round(accHi: number, accLo: number, inHi: number, inLo: number): number {
  let lo = multiply(inHi, inLo, P2_HI, P2_LO);
  lo = add(accHi, accLo, high, lo);
  lo = rotateLeft(high, lo, 31);
  return multiply(high, lo, P1_HI, P1_LO);
}

/** Folds one lane into the accumulator after the stripe loop: (acc ^ round(0, lane)) * P1 + P4. */
function mergeLane(accHi: number, accLo: number, laneHi: number, laneLo: number): number {
  let lo = round(0, 0, laneHi, laneLo);
  lo = multiply(accHi ^ high, accLo ^ lo, P1_HI, P1_LO);
  return add(high, lo, P4_HI, P4_LO);
}

/** Little-endian 32-bit word at `offset`, as an int32. */
function readWord(bytes: Uint8Array, offset: number): number {
  return (
    bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)
  );
}

/** XXH64 of `bytes[0, length)`; returns the low half and leaves the high half in `high`. */
function digest(bytes: Uint8Array, length: number, seedHi: number, seedLo: number): number {
  let offset = 0;
  let hHi: number;
  let hLo: number;

  if (length >= 32) {
    let v1Lo = add(seedHi, seedLo, P1_HI, P1_LO);
    v1Lo = add(high, v1Lo, P2_HI, P2_LO);
    let v1Hi = high;
    let v2Lo = add(seedHi, seedLo, P2_HI, P2_LO);
    let v2Hi = high;
    let v3Hi = seedHi;
    let v3Lo = seedLo;
    let v4Lo = add(seedHi, seedLo, MINUS_P1_HI, MINUS_P1_LO);
    let v4Hi = high;

    const lastStripe = length - 32;
    do {
      v1Lo = round(v1Hi, v1Lo, readWord(bytes, offset + 4), readWord(bytes, offset));
      v1Hi = high;
      v2Lo = round(v2Hi, v2Lo, readWord(bytes, offset + 12), readWord(bytes, offset + 8));
      v2Hi = high;
      v3Lo = round(v3Hi, v3Lo, readWord(bytes, offset + 20), readWord(bytes, offset + 16));
      v3Hi = high;
      v4Lo = round(v4Hi, v4Lo, readWord(bytes, offset + 28), readWord(bytes, offset + 24));
      v4Hi = high;
      offset += 32;
    } while (offset <= lastStripe);

    hLo = rotateLeft(v1Hi, v1Lo, 1);
    hHi = high;
    let lo = rotateLeft(v2Hi, v2Lo, 7);
    hLo = add(hHi, hLo, high, lo);
    hHi = high;
    lo = rotateLeft(v3Hi, v3Lo, 12);
    hLo = add(hHi, hLo, high, lo);
    hHi = high;
    lo = rotateLeft(v4Hi, v4Lo, 18);
    hLo = add(hHi, hLo, high, lo);
    hHi = high;

    hLo = mergeLane(hHi, hLo, v1Hi, v1Lo);
    hLo = mergeLane(high, hLo, v2Hi, v2Lo);
    hLo = mergeLane(high, hLo, v3Hi, v3Lo);
    hLo = mergeLane(high, hLo, v4Hi, v4Lo);
    hHi = high;
  } else {
    hLo = add(seedHi, seedLo, P5_HI, P5_LO);
    hHi = high;
  }

  hLo = add(hHi, hLo, (length / TWO_POW_32) | 0, length | 0);
  hHi = high;

  while (offset + 8 <= length) {
    const lo = round(0, 0, readWord(bytes, offset + 4), readWord(bytes, offset));
    hLo = rotateLeft(hHi ^ high, hLo ^ lo, 27);
    hLo = multiply(high, hLo, P1_HI, P1_LO);
    hLo = add(high, hLo, P4_HI, P4_LO);
    hHi = high;
    offset += 8;
  }

  if (offset + 4 <= length) {
    const lo = multiply(0, readWord(bytes, offset), P1_HI, P1_LO);
    hLo = rotateLeft(hHi ^ high, hLo ^ lo, 23);
    hLo = multiply(high, hLo, P2_HI, P2_LO);
    hLo = add(high, hLo, P3_HI, P3_LO);
    hHi = high;
    offset += 4;
  }

  while (offset < length) {
    const lo = multiply(0, bytes[offset]!, P5_HI, P5_LO);
    hLo = rotateLeft(hHi ^ high, hLo ^ lo, 11);
    hLo = multiply(high, hLo, P1_HI, P1_LO);
    hHi = high;
    offset += 1;
  }

  // Avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32.
  hLo ^= hHi >>> 1;
  hLo = multiply(hHi, hLo, P2_HI, P2_LO);
  hHi = high;
  hLo ^= (hLo >>> 29) | (hHi << 3);
  hHi ^= hHi >>> 29;
  hLo = multiply(hHi, hLo, P3_HI, P3_LO);
  hHi = high;
  hLo ^= hHi;
  high = hHi;
  return hLo;
}

/**
 * xxHash64 (XXH64) of `input`, bit-for-bit equal to the reference implementation's `XXH64(input, len, seed)`.
 *
 * @param input - The bytes to hash (any view: its `byteOffset` and `length` are respected).
 * @param seed - The 64-bit seed, as a bigint in [0, 2^64) or a non-negative safe integer. Default `0`.
 * @returns The hash as an unsigned 64-bit bigint.
 * @throws TypeError if `input` is not a Uint8Array or `seed` is neither a bigint nor a number.
 * @throws RangeError if `seed` is outside [0, 2^64) or is a number that is not a non-negative safe integer.
 */
export function xxHash64(input: Uint8Array, seed: bigint | number = 0): bigint {
  if (!(input instanceof Uint8Array)) {
    throw new TypeError(`xxHash64: input must be a Uint8Array, got ${describe(input)}; encode text first (for example with TextEncoder).`);
  }
  let seedHi: number;
  let seedLo: number;
  if (typeof seed === 'bigint') {
    if (seed < 0n || seed >= UINT64_LIMIT) {
      throw new RangeError(`xxHash64: seed ${seed} is outside [0, 2^64); pass an unsigned 64-bit value.`);
    }
    seedHi = Number(seed >> 32n) | 0;
    seedLo = Number(seed & 0xffffffffn) | 0;
  } else if (typeof seed === 'number') {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(`xxHash64: seed ${seed} is not a non-negative safe integer; pass a bigint for seeds of 2^53 and above.`);
    }
    seedHi = (seed / TWO_POW_32) | 0;
    seedLo = seed | 0;
  } else {
    throw new TypeError(`xxHash64: seed must be a bigint or a number, got ${describe(seed)}.`);
  }
  const lo = digest(input, input.length, seedHi, seedLo);
  return (BigInt(high >>> 0) << 32n) | BigInt(lo >>> 0);
}

/**
 * The low 32 bits of `xxHash64(bytes.subarray(0, length))` with seed 0, as an unsigned number. Routing keeps
 * only low bits, and this avoids both the subarray and the BigInt on the per-request path.
 *
 * @param bytes - The buffer holding the input at its start.
 * @param length - How many bytes of `bytes` to hash, in [0, bytes.length].
 * @throws RangeError if `length` is not an integer in [0, bytes.length].
 */
export function xxHash64Low32(bytes: Uint8Array, length: number): number {
  if (!Number.isInteger(length) || length < 0 || length > bytes.length) {
    throw new RangeError(`xxHash64Low32: length ${length} is not an integer in [0, ${bytes.length}] (the buffer's length).`);
  }
  return digest(bytes, length, 0, 0) >>> 0;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value;
}
