// Piggybacked dissemination (SWIM §4.1, memberlist's TransmitLimitedQueue): each update is sent
// at most retransmitMult · ceil(log10(n + 1)) times, fewest-sent first, and a newer update about the
// same subject replaces the older one.

interface Item {
  readonly key: string;
  readonly bytes: Uint8Array;
  readonly id: number;
  transmits: number;
}

/** The retransmit limit λ·log(n) of memberlist's retransmitLimit. */
export function retransmitLimit(retransmitMult: number, members: number): number {
  return retransmitMult * Math.ceil(Math.log10(members + 1));
}

export class BroadcastQueue {
  #items: Item[] = [];
  #nextId = 0;

  /** Updates waiting to be sent. */
  get length(): number {
    return this.#items.length;
  }

  /** Queues an encoded message; one about the same `key` (e.g. "member:<name>") is replaced. */
  push(key: string, bytes: Uint8Array): void {
    this.#items = this.#items.filter((item) => item.key !== key);
    this.#items.push({ key, bytes, id: this.#nextId++, transmits: 0 });
  }

  /**
   * Takes updates that fit in `budgetBytes` (each costing its length plus `overhead(length)`),
   * fewest transmits first and newest first among equals; counts a transmit for each and drops
   * those that reached `limit`.
   */
  take(budgetBytes: number, limit: number, overhead: (length: number) => number): Uint8Array[] {
    if (this.#items.length === 0) return [];
    this.#items.sort((a, b) => a.transmits - b.transmits || b.id - a.id);
    const out: Uint8Array[] = [];
    let used = 0;
    for (const item of this.#items) {
      const cost = item.bytes.length + overhead(item.bytes.length);
      if (used + cost > budgetBytes) continue;
      used += cost;
      item.transmits++;
      out.push(item.bytes);
    }
    this.#items = this.#items.filter((item) => item.transmits < limit);
    return out;
  }

  /** Drops everything (used when leaving after the leave message is out). */
  clear(): void {
    this.#items = [];
  }
}
