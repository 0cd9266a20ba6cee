/*
 * XXH64 (xxHash, 64-bit variant) written from the algorithm's specification.
 *
 * Routing hashes one key per request, so the hot path must not allocate: every 64-bit quantity is carried
 * as two int32 halves (`...Hi`, `...Lo`) in locals of one function. Helpers that return a pair need shared
 * mutable state or an allocation at every step, and both measured two to three times slower on short keys, so
 * the 64-bit steps are written out inline; only `multiplyHigh32`, which returns one number, is a function.
 * BigInt appears only where the public API hands a 64-bit value in or out.
 */

// The five 64-bit primes of XXH64, as high and low 32-bit halves.
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
// Lane offsets from the seed: the first lane starts at seed + P1 + P2, the fourth at seed - P1 (both mod 2^64).
const P1_PLUS_P2_HI = 0x60ea27ee | 0;
const P1_PLUS_P2_LO = 0xadc0b5d6 | 0;
const MINUS_P1_HI = 0x61c8864e | 0;
const MINUS_P1_LO = 0x7a143579 | 0;

const TWO_POW_32 = 4294967296;
const UINT64_LIMIT = 1n << 64n;

/** High half of the 64-bit value last produced by `digest` (its low half is the return value). */
let digestHigh = 0;

// Joins the two halves into one bigint with a single allocation (three BigInt steps measured about 30% slower
// on 16-byte keys). Big-endian on both sides, so the platform's byte order does not matter.
const resultView = new DataView(new ArrayBuffer(8));

/**
 * High 32 bits of the unsigned 64-bit product of two 32-bit words. `Math.imul` yields only the low half
 * and a plain multiplication loses bits above 2^53, so the product is assembled from 16-bit pieces
 * (every partial sum stays below 2^32).
 */
function multiplyHigh32(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const cross = a1 * b0 + ((a0 * b0) >>> 16);
  return a1 * b1 + (cross >>> 16) + (((cross & 0xffff) + a0 * b1) >>> 16);
}

/** Little-endian 32-bit word at `offset`, as an int32. */
function readWord(bytes: Uint8Array, offset: number): number {
  return (
    bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)
  );
}

/**
 * XXH64 of `bytes[0, length)`: returns the low half and leaves the high half in `digestHigh`.
 *
 * Notation in the comments: `round(acc, x)` is `rotl(acc + x * P2, 31) * P1`; all arithmetic is mod 2^64.
 * A 64-bit product keeps `lo * cLo` in full and adds the cross terms `hi * cLo + lo * cHi` to its high half.
 */
function digest(bytes: Uint8Array, length: number, seedHi: number, seedLo: number): number {
  let offset = 0;
  let hHi: number;
  let hLo: number;
  let hi: number;
  let lo: number;
  let t: number;

  if (length >= 32) {
    // The four lanes start at seed + P1 + P2, seed + P2, seed, seed - P1.
    let aLo = (seedLo + P1_PLUS_P2_LO) | 0;
    let aHi = (seedHi + P1_PLUS_P2_HI + ((aLo >>> 0) < (seedLo >>> 0) ? 1 : 0)) | 0;
    let bLo = (seedLo + P2_LO) | 0;
    let bHi = (seedHi + P2_HI + ((bLo >>> 0) < (seedLo >>> 0) ? 1 : 0)) | 0;
    let cHi = seedHi;
    let cLo = seedLo;
    let dLo = (seedLo + MINUS_P1_LO) | 0;
    let dHi = (seedHi + MINUS_P1_HI + ((dLo >>> 0) < (seedLo >>> 0) ? 1 : 0)) | 0;

    const lastStripe = length - 32;
    do {
      // Each 8-byte word goes to lane `a`, then the lanes rotate one place, so after four words every lane
      // is back where it started. One copy of the round keeps this function within V8's inlining budget.
      for (let lane = 0; lane < 4; lane++) {
        lo = readWord(bytes, offset);
        hi = readWord(bytes, offset + 4);
        // a += word * P2
        t = Math.imul(lo, P2_LO);
        hi = multiplyHigh32(lo, P2_LO) + Math.imul(hi, P2_LO) + Math.imul(lo, P2_HI);
        aLo = (aLo + t) | 0;
        aHi = (aHi + hi + ((aLo >>> 0) < (t >>> 0) ? 1 : 0)) | 0;
        // a = rotl(a, 31) * P1
        hi = (aHi << 31) | (aLo >>> 1);
        lo = (aLo << 31) | (aHi >>> 1);
        aHi = (multiplyHigh32(lo, P1_LO) + Math.imul(hi, P1_LO) + Math.imul(lo, P1_HI)) | 0;
        aLo = Math.imul(lo, P1_LO);

        t = aHi;
        aHi = bHi;
        bHi = cHi;
        cHi = dHi;
        dHi = t;
        t = aLo;
        aLo = bLo;
        bLo = cLo;
        cLo = dLo;
        dLo = t;
        offset += 8;
      }
    } while (offset <= lastStripe);

    // h = rotl(a, 1) + rotl(b, 7) + rotl(c, 12) + rotl(d, 18)
    hHi = (aHi << 1) | (aLo >>> 31);
    hLo = (aLo << 1) | (aHi >>> 31);
    t = (bLo << 7) | (bHi >>> 25);
    hLo = (hLo + t) | 0;
    hHi = (hHi + ((bHi << 7) | (bLo >>> 25)) + ((hLo >>> 0) < (t >>> 0) ? 1 : 0)) | 0;
    t = (cLo << 12) | (cHi >>> 20);
    hLo = (hLo + t) | 0;
    hHi = (hHi + ((cHi << 12) | (cLo >>> 20)) + ((hLo >>> 0) < (t >>> 0) ? 1 : 0)) | 0;
    t = (dLo << 18) | (dHi >>> 14);
    hLo = (hLo + t) | 0;
    hHi = (hHi + ((dHi << 18) | (dLo >>> 14)) + ((hLo >>> 0) < (t >>> 0) ? 1 : 0)) | 0;

    // Merge each lane: h = (h ^ round(0, lane)) * P1 + P4, lanes rotating as above.
    for (let lane = 0; lane < 4; lane++) {
      // k = round(0, a), xored into h
      t = Math.imul(aLo, P2_LO);
      hi = (multiplyHigh32(aLo, P2_LO) + Math.imul(aHi, P2_LO) + Math.imul(aLo, P2_HI)) | 0;
      lo = (t << 31) | (hi >>> 1);
      hi = (hi << 31) | (t >>> 1);
      hHi ^= multiplyHigh32(lo, P1_LO) + Math.imul(hi, P1_LO) + Math.imul(lo, P1_HI);
      hLo ^= Math.imul(lo, P1_LO);
      // h = h * P1 + P4
      t = Math.imul(hLo, P1_LO);
      hi = multiplyHigh32(hLo, P1_LO) + Math.imul(hHi, P1_LO) + Math.imul(hLo, P1_HI);
      hLo = (t + P4_LO) | 0;
      hHi = (hi + P4_HI + ((hLo >>> 0) < (t >>> 0) ? 1 : 0)) | 0;

      aHi = bHi;
      bHi = cHi;
      cHi = dHi;
      aLo = bLo;
      bLo = cLo;
      cLo = dLo;
    }
  } else {
    // h = seed + P5
    hLo = (seedLo + P5_LO) | 0;
    hHi = (seedHi + P5_HI + ((hLo >>> 0) < (seedLo >>> 0) ? 1 : 0)) | 0;
  }

  // h += length
  t = hLo;
  hLo = (hLo + length) | 0;
  hHi = (hHi + ((length / TWO_POW_32) | 0) + ((hLo >>> 0) < (t >>> 0) ? 1 : 0)) | 0;

  while (offset + 8 <= length) {
    lo = readWord(bytes, offset);
    hi = readWord(bytes, offset + 4);
    // h ^= round(0, word)
    t = Math.imul(lo, P2_LO);
    hi = (multiplyHigh32(lo, P2_LO) + Math.imul(hi, P2_LO) + Math.imul(lo, P2_HI)) | 0;
    lo = (t << 31) | (hi >>> 1);
    hi = (hi << 31) | (t >>> 1);
    hHi ^= multiplyHigh32(lo, P1_LO) + Math.imul(hi, P1_LO) + Math.imul(lo, P1_HI);
    hLo ^= Math.imul(lo, P1_LO);
    // h = rotl(h, 27) * P1 + P4
    hi = (hHi << 27) | (hLo >>> 5);
    lo = (hLo << 27) | (hHi >>> 5);
    t = Math.imul(lo, P1_LO);
    hi = multiplyHigh32(lo, P1_LO) + Math.imul(hi, P1_LO) + Math.imul(lo, P1_HI);
    hLo = (t + P4_LO) | 0;
    hHi = (hi + P4_HI + ((hLo >>> 0) < (t >>> 0) ? 1 : 0)) | 0;
    offset += 8;
  }

  if (offset + 4 <= length) {
    // h ^= word * P1 (the word is unsigned 32-bit: no high half of its own)
    lo = readWord(bytes, offset);
    hHi ^= multiplyHigh32(lo, P1_LO) + Math.imul(lo, P1_HI);
    hLo ^= Math.imul(lo, P1_LO);
    // h = rotl(h, 23) * P2 + P3
    hi = (hHi << 23) | (hLo >>> 9);
    lo = (hLo << 23) | (hHi >>> 9);
    t = Math.imul(lo, P2_LO);
    hi = multiplyHigh32(lo, P2_LO) + Math.imul(hi, P2_LO) + Math.imul(lo, P2_HI);
    hLo = (t + P3_LO) | 0;
    hHi = (hi + P3_HI + ((hLo >>> 0) < (t >>> 0) ? 1 : 0)) | 0;
    offset += 4;
  }

  while (offset < length) {
    // h ^= byte * P5
    lo = bytes[offset]!;
    hHi ^= multiplyHigh32(lo, P5_LO) + Math.imul(lo, P5_HI);
    hLo ^= Math.imul(lo, P5_LO);
    // h = rotl(h, 11) * P1
    hi = (hHi << 11) | (hLo >>> 21);
    lo = (hLo << 11) | (hHi >>> 21);
    hHi = (multiplyHigh32(lo, P1_LO) + Math.imul(hi, P1_LO) + Math.imul(lo, P1_HI)) | 0;
    hLo = Math.imul(lo, P1_LO);
    offset += 1;
  }

  // Avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32.
  hLo ^= hHi >>> 1;
  hi = (multiplyHigh32(hLo, P2_LO) + Math.imul(hHi, P2_LO) + Math.imul(hLo, P2_HI)) | 0;
  lo = Math.imul(hLo, P2_LO);
  lo ^= (lo >>> 29) | (hi << 3);
  hi ^= hi >>> 29;
  hHi = (multiplyHigh32(lo, P3_LO) + Math.imul(hi, P3_LO) + Math.imul(lo, P3_HI)) | 0;
  hLo = Math.imul(lo, P3_LO) ^ hHi;
  digestHigh = hHi;
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
    throw new TypeError(
      `xxHash64: input must be a Uint8Array, got ${describe(input)}; encode text first (for example with TextEncoder).`,
    );
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
      throw new RangeError(
        `xxHash64: seed ${seed} is not a non-negative safe integer; pass a bigint for seeds of 2^53 and above.`,
      );
    }
    seedHi = (seed / TWO_POW_32) | 0;
    seedLo = seed | 0;
  } else {
    throw new TypeError(`xxHash64: seed must be a bigint or a number, got ${describe(seed)}.`);
  }
  const lo = digest(input, input.length, seedHi, seedLo);
  resultView.setInt32(0, digestHigh);
  resultView.setInt32(4, lo);
  return resultView.getBigUint64(0);
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
    throw new RangeError(
      `xxHash64Low32: length ${length} is not an integer in [0, ${bytes.length}] (the buffer's length).`,
    );
  }
  return digest(bytes, length, 0, 0) >>> 0;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value;
}
