// Lifeguard's local health multiplier (Dadgar et al. 2018, §IV-A; memberlist awareness.go): a node
// that misses acks and nacks, or has to refute suspicions of itself, is probably the slow one, so
// it probes less often and waits longer for acks instead of accusing healthy members.

export class Awareness {
  #score = 0;
  readonly max: number;

  /** `max` is memberlist's AwarenessMaxMultiplier: the score stays in [0, max - 1]. */
  constructor(max: number) {
    this.max = max;
    if (!Number.isInteger(max) || max < 1) throw new Error(`awareness: max multiplier must be an integer >= 1, got ${max}`);
  }

  /** The current health score; 0 is healthy. */
  get score(): number {
    return this.#score;
  }

  /** Adds `delta` (positive: worse health), clamped to [0, max - 1]. */
  apply(delta: number): void {
    this.#score = Math.min(this.max - 1, Math.max(0, this.#score + delta));
  }

  /** Scales a probe interval or timeout by (score + 1). */
  scale(ms: number): number {
    return ms * (this.#score + 1);
  }
}
