// A Lamport clock (Lamport 1978, as serf's LamportClock): orders member intents, user events and
// queries across the cluster without synchronized wall clocks.

export class LamportClock {
  #time = 0;

  /** The current time. */
  get time(): number {
    return this.#time;
  }

  /** Advances the clock for a local event and returns the new time. */
  increment(): number {
    return ++this.#time;
  }

  /** Merges a time seen in a message: afterwards the clock is past it (serf: max(local, seen+1)). */
  witness(seen: number): void {
    if (seen >= this.#time) this.#time = seen + 1;
  }
}
