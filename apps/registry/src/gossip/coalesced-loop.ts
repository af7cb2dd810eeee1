// A leader's reconcile loop (the catalog from gossip, Raft membership from gossip): `run` on
// demand and every `intervalMs`, one run at a time; a trigger during a run asks for one more run
// after it, however many triggers came (Consul's reconcileCh is a one-slot channel the same way).
export class CoalescedLoop {
  readonly #run: () => Promise<void>;
  readonly #intervalMs: number;
  #running: Promise<void> | undefined;
  #again = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #stopped = false;

  constructor(run: () => Promise<void>, intervalMs: number) {
    this.#run = run;
    this.#intervalMs = intervalMs;
  }

  /** True once `stop` was called: a run in progress should return early. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Starts the periodic runs, and one now. */
  start(): void {
    this.#timer = setInterval(() => this.trigger(), this.#intervalMs);
    this.#timer.unref();
    this.trigger();
  }

  /** Asks for a run (coalesced with one in flight). */
  trigger(): void {
    if (this.#stopped) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#running = this.#run().finally(() => {
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        this.trigger();
      }
    });
  }

  /** Resolves once no run is in flight or asked for. */
  async settled(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  /** No more runs; resolves when the one in flight ends. */
  stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    return this.#running ?? Promise.resolve();
  }
}
