import { floor, imul, trunc } from './fast-globals.js';

/**
 * A small, fast, seedable pseudo-random generator (the sfc32 construction: three 32-bit words and a
 * counter). Every source of chance in the simulator draws from one of these, so a seed fixes a whole run.
 * Not for cryptography.
 */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** @param seed any finite number; equal seeds give equal sequences. */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`Prng seed must be a finite number, got ${String(seed)}`);
    // Spread the seed over the state with splitmix32 so that nearby seeds (1, 2, 3 …) start far apart.
    let s = (trunc(seed) ^ trunc(seed / 0x1_0000_0000)) >>> 0;
    const mix = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = imul(z ^ (z >>> 16), 0x85ebca6b);
      z = imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = 1;
    // The first outputs of a fresh sfc32 state are poorly mixed; discard them.
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** The next 32-bit unsigned integer. */
  uint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.uint32() / 0x1_0000_0000;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    if (!(n >= 1)) throw new RangeError(`Prng.int needs n ≥ 1, got ${n}`);
    return floor(this.next() * floor(n));
  }

  /** An integer in [min, max], both included. */
  between(min: number, max: number): number {
    if (max < min) throw new RangeError(`Prng.between needs min ≤ max, got ${min} > ${max}`);
    return min + this.int(max - min + 1);
  }

  /** A float in [min, max). */
  uniform(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  /** True with probability `p` (p ≤ 0 never draws, so a fault-free run consumes no randomness for it). */
  chance(p: number): boolean {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return this.next() < p;
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Prng.pick needs a non-empty array');
    return items[this.int(items.length)] as T;
  }

  /** A shuffled copy of `items`. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = out[i] as T;
      out[i] = out[j] as T;
      out[j] = tmp;
    }
    return out;
  }

  /**
   * The generator of one named stream of a run (network, nemesis, load …). Each consumer draws from its
   * own stream, so adding a draw in one place does not shift every other decision of the run.
   */
  static stream(seed: number, name: string): Prng {
    let h = 0x811c9dc5;
    for (let i = 0; i < name.length; i++) h = imul(h ^ name.charCodeAt(i), 0x01000193);
    return new Prng((trunc(seed) ^ trunc(seed / 0x1_0000_0000) ^ h) >>> 0);
  }
}
