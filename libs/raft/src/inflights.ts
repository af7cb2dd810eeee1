// The leader's window of append messages sent to one follower and not yet acknowledged: flow
// control that bounds how far optimistic replication runs ahead (etcd's Inflights).

/**
 * A FIFO of in-flight appends, each recorded by its last entry index and byte size. Full when it
 * holds `maxCount` messages or `maxBytes` bytes.
 */
export class Inflights {
  private readonly maxCount: number;
  private readonly maxBytes: number;
  private indexes: number[] = [];
  private sizes: number[] = [];
  /** Position of the oldest message in the arrays (freed slots before it are reclaimed lazily). */
  private start = 0;
  private bytes = 0;

  constructor(maxCount: number, maxBytes: number) {
    if (!(maxCount > 0)) throw new RangeError(`the inflight window must hold at least one message, got ${maxCount}`);
    this.maxCount = maxCount;
    this.maxBytes = maxBytes;
  }

  /** Records an append whose last entry is `lastIndex`; indexes must grow. */
  add(lastIndex: number, bytes: number): void {
    if (this.isFull()) throw new Error("added to a full inflight window");
    const newest = this.indexes[this.indexes.length - 1];
    if (this.count() > 0 && newest !== undefined && lastIndex <= newest) {
      throw new Error(`inflight index ${lastIndex} does not grow past ${newest}`);
    }
    this.indexes.push(lastIndex);
    this.sizes.push(bytes);
    this.bytes += bytes;
  }

  /** Frees every message whose last index is `<= index` (they were acknowledged). */
  freeLE(index: number): void {
    let i = this.start;
    while (i < this.indexes.length && (this.indexes[i] as number) <= index) {
      this.bytes -= this.sizes[i] as number;
      i++;
    }
    this.start = i;
    if (this.start === this.indexes.length) this.reset();
    else if (this.start > 64 && this.start * 2 > this.indexes.length) {
      this.indexes = this.indexes.slice(this.start);
      this.sizes = this.sizes.slice(this.start);
      this.start = 0;
    }
  }

  isFull(): boolean {
    return this.count() >= this.maxCount || this.bytes >= this.maxBytes;
  }

  count(): number {
    return this.indexes.length - this.start;
  }

  /** Bytes of entries in flight. */
  sizeBytes(): number {
    return this.bytes;
  }

  reset(): void {
    this.indexes = [];
    this.sizes = [];
    this.start = 0;
    this.bytes = 0;
  }
}
