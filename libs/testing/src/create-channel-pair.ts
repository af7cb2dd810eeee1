// A pair of connected in-memory message channels for tests of apps and adapters that talk over a
// stream (a gRPC stream, a peer transport): ordered delivery, bounded buffers with backpressure, close.

/** Thrown by `send` on a closed channel, and to senders still waiting for room when it closes. */
export class ChannelClosedError extends Error {
  readonly code = "channel-closed";

  constructor() {
    super("the channel is closed");
    this.name = "ChannelClosedError";
  }
}

/** One end of a channel pair: sends `Send` to the peer and receives `Receive` from it, in order. */
export interface ChannelEnd<Send, Receive> extends AsyncIterable<Receive> {
  /**
   * Queues a message for the peer. Resolves at once while the peer's buffer has room, otherwise
   * once the peer has received enough to make room (backpressure: await it before sending more).
   * Rejects with `ChannelClosedError` when either end has closed. `undefined` is not a message.
   */
  send(message: Send): Promise<void>;
  /** The next message; `undefined` once the channel is closed and everything sent before was received. */
  receive(): Promise<Receive | undefined>;
  /** Closes both directions: messages already queued stay receivable, blocked and later sends reject. Idempotent. */
  close(): void;
  readonly isClosed: boolean;
  /** Resolves when either end closes. */
  readonly closed: Promise<void>;
  /** Messages queued for this end and not yet received (including senders blocked on backpressure). */
  readonly buffered: number;
}

export interface ChannelPairOptions {
  /** Messages each direction buffers before `send` waits (default 16; 0 makes every send wait for its receive). */
  readonly capacity?: number;
}

/** One direction: a bounded queue with waiting receivers and waiting senders. */
class Pipe<T> {
  readonly #capacity: number;
  readonly #buffer: T[] = [];
  readonly #receivers: ((message: T | undefined) => void)[] = [];
  readonly #senders: { message: T; resolve: () => void; reject: (error: Error) => void }[] = [];
  #closed = false;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#buffer.length + this.#senders.length;
  }

  send(message: T): Promise<void> {
    if (this.#closed) return Promise.reject(new ChannelClosedError());
    const receiver = this.#receivers.shift();
    if (receiver !== undefined) {
      receiver(message);
      return Promise.resolve();
    }
    if (this.#buffer.length < this.#capacity) {
      this.#buffer.push(message);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.#senders.push({ message, resolve, reject }));
  }

  receive(): Promise<T | undefined> {
    if (this.#buffer.length > 0) {
      const message = this.#buffer.shift() as T;
      const sender = this.#senders.shift();
      if (sender !== undefined) {
        this.#buffer.push(sender.message);
        sender.resolve();
      }
      return Promise.resolve(message);
    }
    const sender = this.#senders.shift();
    if (sender !== undefined) {
      sender.resolve();
      return Promise.resolve(sender.message);
    }
    if (this.#closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#receivers.push(resolve));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const sender of this.#senders.splice(0)) sender.reject(new ChannelClosedError());
    for (const receiver of this.#receivers.splice(0)) receiver(undefined);
  }
}

/** Creates two connected ends: what `left` sends, `right` receives, and the other way round. */
export function createChannelPair<A, B>(options: ChannelPairOptions = {}): [ChannelEnd<A, B>, ChannelEnd<B, A>] {
  const capacity = options.capacity ?? 16;
  if (!Number.isSafeInteger(capacity) || capacity < 0) throw new Error(`capacity must be a non-negative integer, got ${capacity}`);
  const toRight = new Pipe<A>(capacity);
  const toLeft = new Pipe<B>(capacity);
  let isClosed = false;
  let markClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });
  const close = () => {
    if (isClosed) return;
    isClosed = true;
    toRight.close();
    toLeft.close();
    markClosed();
  };
  const end = <S, R>(out: Pipe<S>, inbound: Pipe<R>): ChannelEnd<S, R> => ({
    send: (message) => out.send(message),
    receive: () => inbound.receive(),
    close,
    get isClosed() {
      return isClosed;
    },
    closed,
    get buffered() {
      return inbound.size;
    },
    async *[Symbol.asyncIterator]() {
      for (let message = await inbound.receive(); message !== undefined; message = await inbound.receive()) yield message;
    },
  });
  return [end(toRight, toLeft), end(toLeft, toRight)];
}
