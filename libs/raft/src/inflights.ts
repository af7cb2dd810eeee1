// The leader's window of append messages sent to one follower and not yet acknowledged: flow
// control that bounds how far optimistic replication runs ahead (etcd's Inflights).

/**
 * A FIFO of in-flight appends, each recorded by its last entry index and byte size. Full when it
 * holds `maxCount` messages or `maxBytes` bytes.
 */
export class Inflights {
  private readonly maxCount: number;
  private readonly maxBytes: number;
  /**
   * A ring of (last index, bytes) per message. It grows by doubling up to `maxCount` slots and is
   * never given back: a leader's window empties and refills at every write, and arrays made anew
   * each time were garbage per write per follower (etcd's Inflights is a ring for the same reason).
   */
  private indexes: number[] = [];
  private sizes: number[] = [];
  /** Slot of the oldest message. */
  private start = 0;
  private length = 0;
  private bytes = 0;

  constructor(maxCount: number, maxBytes: number) {
    if (!(maxCount > 0)) throw new RangeError(`the inflight window must hold at least one message, got ${maxCount}`);
    this.maxCount = maxCount;
    this.maxBytes = maxBytes;
  }

  /** Records an append whose last entry is `lastIndex`; indexes must grow. */
  add(lastIndex: number, bytes: number): void {
    if (this.isFull()) throw new Error("added to a full inflight window");
    if (this.length > 0) {
      const newest = this.indexes[this.slot(this.length - 1)] as number;
      if (lastIndex <= newest) throw new Error(`inflight index ${lastIndex} does not grow past ${newest}`);
    }
    if (this.length === this.indexes.length) this.grow();
    const at = this.slot(this.length);
    this.indexes[at] = lastIndex;
    this.sizes[at] = bytes;
    this.length++;
    this.bytes += bytes;
  }

  /** Frees every message whose last index is `<= index` (they were acknowledged). */
  freeLE(index: number): void {
    while (this.length > 0 && (this.indexes[this.start] as number) <= index) {
      this.bytes -= this.sizes[this.start] as number;
      this.start = this.slot(1);
      this.length--;
    }
    if (this.length === 0) this.reset();
  }

  isFull(): boolean {
    return this.length >= this.maxCount || this.bytes >= this.maxBytes;
  }

  count(): number {
    return this.length;
  }

  /** Bytes of entries in flight. */
  sizeBytes(): number {
    return this.bytes;
  }

  reset(): void {
    this.start = 0;
    this.length = 0;
    this.bytes = 0;
  }

  /** The ring slot `offset` messages after the oldest. */
  private slot(offset: number): number {
    const at = this.start + offset;
    return at < this.indexes.length ? at : at - this.indexes.length;
  }

  /** Doubles the ring (up to `maxCount` slots), the messages laid out from slot 0. */
  private grow(): void {
    const capacity = Math.min(this.maxCount, Math.max(4, this.indexes.length * 2));
    const indexes = new Array<number>(capacity).fill(0);
    const sizes = new Array<number>(capacity).fill(0);
    for (let i = 0; i < this.length; i++) {
      const at = this.slot(i);
      indexes[i] = this.indexes[at] as number;
      sizes[i] = this.sizes[at] as number;
    }
    this.indexes = indexes;
    this.sizes = sizes;
    this.start = 0;
  }
}
