// The recent user events of one agent (Consul's eventBuf): a ring of the last 256 accepted
// events, oldest first, and the wake-up of blocking `/v1/event/list` requests when one arrives.
import type { UserEvent } from "./user-event.ts";

/** Consul keeps this many events per agent (agent.go: eventBuf of 256). */
export const USER_EVENT_BUFFER_SIZE = 256;

export class UserEventBuffer {
  private readonly ring: (UserEvent | undefined)[];
  private next = 0;
  private readonly waiters = new Set<() => void>();

  constructor(size = USER_EVENT_BUFFER_SIZE) {
    this.ring = new Array<UserEvent | undefined>(size).fill(undefined);
  }

  /** Keeps `event` (dropping the oldest when full) and wakes every waiter. */
  add(event: UserEvent): void {
    this.ring[this.next] = event;
    this.next = (this.next + 1) % this.ring.length;
    for (const wake of [...this.waiters]) wake();
  }

  /** The kept events, oldest first. */
  list(): readonly UserEvent[] {
    const full = this.ring[this.next] !== undefined;
    const ordered = full ? [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)] : this.ring.slice(0, this.next);
    return ordered.filter((event): event is UserEvent => event !== undefined);
  }

  /** Resolves at the next `add`, after `timeoutMs`, or when `signal` aborts — whichever comes first. */
  waitForEvent(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted === true) {
        resolve();
        return;
      }
      const wake = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", wake);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      signal?.addEventListener("abort", wake);
      this.waiters.add(wake);
    });
  }
}
