// Runs a randomized test once per seed and names the seed of any failure, so `SEED=n` replays it;
// SEED_RUNS and SEED_START widen a run into a soak without editing the test.

/** How many seeds a randomized test runs by default, and from which. */
export interface SeedRunOptions {
  /** Seeds to run when SEED_RUNS is unset; keep the default suite fast. */
  readonly runs: number;
  /** First seed when SEED_START is unset (default 1); the seeds are consecutive. */
  readonly firstSeed?: number;
  /** Where SEED, SEED_RUNS and SEED_START are read (default: process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * The seeds to run: just SEED when it is set, else SEED_RUNS (or `runs`) consecutive seeds from
 * SEED_START (or `firstSeed`, default 1). Throws on a malformed variable rather than testing less.
 */
export function seedsToRun(options: SeedRunOptions): number[] {
  const env = options.env ?? process.env;
  const only = readInteger(env, "SEED");
  if (only !== undefined) return [only];
  const runs = readInteger(env, "SEED_RUNS") ?? options.runs;
  const first = readInteger(env, "SEED_START") ?? options.firstSeed ?? 1;
  return Array.from({ length: runs }, (_, i) => first + i);
}

/**
 * Calls `run(seed)` for each seed of `seedsToRun(options)`, stopping at the first failure, whose
 * error message is prefixed with `seed N (rerun with SEED=N)`.
 */
export function forEachSeed(options: SeedRunOptions, run: (seed: number) => void): void {
  for (const seed of seedsToRun(options)) withSeed(seed, () => run(seed));
}

/** As `forEachSeed`, for a `run` that returns a promise. */
export async function forEachSeedAsync(options: SeedRunOptions, run: (seed: number) => Promise<void>): Promise<void> {
  for (const seed of seedsToRun(options)) {
    try {
      await run(seed);
    } catch (error) {
      throw nameSeed(seed, error);
    }
  }
}

/** Runs `fn`, prefixing the seed to any error it throws (the error object is kept, so assertion diffs survive). */
export function withSeed<T>(seed: number, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw nameSeed(seed, error);
  }
}

function nameSeed(seed: number, error: unknown): Error {
  const prefix = `seed ${seed} (rerun with SEED=${seed}): `;
  if (!(error instanceof Error)) return new Error(`${prefix}${String(error)}`, { cause: error });
  error.message = `${prefix}${error.message}`;
  return error;
}

function readInteger(env: Readonly<Record<string, string | undefined>>, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || (name === "SEED_RUNS" && value < 1)) {
    throw new Error(`${name}=${raw} is not ${name === "SEED_RUNS" ? "a positive integer" : "an integer"}`);
  }
  return value;
}
