/**
 * A small, fast, seeded pseudo-random generator (the mulberry32 mixing function over a 32-bit
 * Weyl sequence). The protocol never uses the global random source: one seed must replay one run exactly,
 * so election jitter comes from here. Not for cryptography.
 */
export class Prng {
  private state: number;

  /** @param seed any finite number; only its low 32 bits are used. */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The next value, uniform in `[0, 2^32)`. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return (z ^ (z >>> 14)) >>> 0;
  }

  /** An integer uniform in `[min, max)`; `max` must be greater than `min`. */
  nextInt(min: number, max: number): number {
    // Scaling instead of `%` keeps the draw unbiased for ranges that do not divide 2^32.
    return min + Math.floor((this.nextUint32() / 0x1_0000_0000) * (max - min));
  }
}

/**
 * Folds a string into a 32-bit seed (FNV-1a). Raft mixes the node id into the configured seed so that
 * nodes given the same seed still draw different election timeouts and do not split votes forever.
 */
export function seedFromString(text: string, seed: number): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
