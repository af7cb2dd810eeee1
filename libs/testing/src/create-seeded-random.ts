// A small, fast, seeded pseudo-random generator (xoshiro128**, seeded through splitmix32) so that
// simulations and generated tests replay exactly from one seed number.

/** A deterministic random source; the same seed gives the same sequence on every platform. */
export interface SeededRandom {
  /** The seed this generator was created with (a fork reports the seed it was derived with). */
  readonly seed: number;
  /** A float in [0, 1) with 53 random bits. */
  next(): number;
  /** An integer in [0, 2^32). */
  uint32(): number;
  /** An integer in [min, max], both inclusive and safe integers, uniformly (no modulo bias). */
  int(min: number, max: number): number;
  /** True with probability `p` (default 0.5); p <= 0 is never, p >= 1 is always. */
  bool(p?: number): boolean;
  /** A uniformly chosen element; throws on an empty list. */
  pick<T>(items: readonly T[]): T;
  /** A shuffled copy (Fisher–Yates); the input is not changed. */
  shuffle<T>(items: readonly T[]): T[];
  /**
   * A new generator whose sequence is independent of this one's continuation. Forking draws one
   * number from this generator, so give each component its fork up front, in a fixed order.
   */
  fork(): SeededRandom;
}

const TWO_POW_32 = 0x1_0000_0000;

/**
 * Creates a generator from a safe integer seed (negative and > 2^32 seeds are fine: all 53 bits
 * count). xoshiro128** (Blackman & Vigna 2018) passes BigCrush for this use; its 128-bit state is
 * filled by splitmix32 so that nearby seeds give unrelated sequences.
 */
export function createSeededRandom(seed: number): SeededRandom {
  if (!Number.isSafeInteger(seed)) throw new Error(`seed must be a safe integer, got ${seed}`);
  let mix = (seed >>> 0) ^ Math.imul(Math.floor(seed / TWO_POW_32) >>> 0, 0x9e3779b1);
  const splitmix32 = (): number => {
    mix = (mix + 0x9e3779b9) | 0;
    let z = mix;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  return fromState(seed, [splitmix32(), splitmix32(), splitmix32(), splitmix32()]);
}

/** xoshiro128** from an explicit 128-bit state (exported for its reference-vector test). */
export function fromState(seed: number, initial: [number, number, number, number]): SeededRandom {
  let [s0, s1, s2, s3] = initial;
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1; // the all-zero state is the generator's one fixed point
  const uint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };
  const next = (): number => ((uint32() >>> 5) * 0x400_0000 + (uint32() >>> 6)) / 0x20_0000_0000_0000;
  const random: SeededRandom = {
    seed,
    next,
    uint32,
    int(min, max) {
      if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min > max) {
        throw new Error(`int(min, max) needs safe integers with min <= max, got ${min}, ${max}`);
      }
      const range = max - min + 1;
      if (range > TWO_POW_32) return min + Math.floor(next() * range);
      // Rejection sampling: drop the top partial block of [0, 2^32) so every value is equally likely.
      const limit = TWO_POW_32 - (TWO_POW_32 % range);
      let draw = uint32();
      while (draw >= limit) draw = uint32();
      return min + (draw % range);
    },
    bool(p = 0.5) {
      return next() < p;
    },
    pick(items) {
      if (items.length === 0) throw new Error("pick() from an empty list");
      return items[random.int(0, items.length - 1)] as (typeof items)[number];
    },
    shuffle(items) {
      const out = [...items];
      for (let i = out.length - 1; i > 0; i--) {
        const j = random.int(0, i);
        [out[i], out[j]] = [out[j] as (typeof out)[number], out[i] as (typeof out)[number]];
      }
      return out;
    },
    fork() {
      const forkSeed = uint32();
      return createSeededRandom(forkSeed * 0x20_0000 + (uint32() >>> 11));
    },
  };
  return random;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
