// This agent's user events (Consul's agent.UserEvent / handleEvents / UserEvents): an event fired
// here is spread over the gossip pool, which delivers it to every member — this one included —
// where it is kept when it passes the member's filters. Without a gossip pool (--gossip-port -1)
// the pool is this server alone: the event is delivered here only, as /v1/agent/members then
// lists only this server.
//
// Why gossip and not Raft: libs/gossip carries serf's Lamport-clocked user events (Memberlist's
// userEvent, de-duplicated by (LTime, name + payload)), which is how Consul spreads them, and it
// reaches client agents too, which are not Raft members. Events are best effort in Consul (no
// delivery promise, no order, a per-agent view of the last 256) and nothing here needs more.
import { type LocalService, acceptsUserEvent } from "./accepts-user-event.ts";
import { type UserEvent, decodeGossipUserEvent, encodeGossipUserEvent } from "./user-event.ts";
import { UserEventBuffer } from "./user-event-buffer.ts";

export interface UserEventsOptions {
  /** This agent's node name (the node filter). */
  readonly node: string;
  /** This agent's services now (the service and tag filters). */
  readonly localServices: () => readonly LocalService[];
}

/** Hands a gossip user event to the pool (Memberlist.userEvent through the transport). */
export type SpreadUserEvent = (gossipName: string, payload: Uint8Array) => void;

export class UserEvents {
  private readonly buffer = new UserEventBuffer();
  private readonly options: UserEventsOptions;
  private spread: SpreadUserEvent | undefined;
  /** Lamport time of events delivered without a pool. */
  private localTime = 0;

  constructor(options: UserEventsOptions) {
    this.options = options;
  }

  /** From now on, events fired here go to the gossip pool (which delivers them back through `receive`). */
  spreadWith(spread: SpreadUserEvent | undefined): void {
    this.spread = spread;
  }

  /** Fires a checked event (checkUserEvent) from this agent. */
  fire(event: UserEvent): void {
    const { name, payload } = encodeGossipUserEvent(event);
    if (this.spread === undefined) this.receive(name, payload, ++this.localTime);
    else this.spread(name, payload);
  }

  /** A gossip user event arrived (one fired here too): kept when it is a user event this agent's filters accept. */
  receive(gossipName: string, payload: Uint8Array, ltime: number): void {
    const event = decodeGossipUserEvent(gossipName, payload, ltime);
    if (event === undefined || !acceptsUserEvent(event, this.options.node, this.options.localServices())) return;
    this.localTime = Math.max(this.localTime, ltime);
    this.buffer.add(event);
  }

  /** The last 256 events this agent kept, oldest first. */
  list(): readonly UserEvent[] {
    return this.buffer.list();
  }

  /** Resolves when another event is kept, after `timeoutMs`, or on abort. */
  waitForEvent(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return this.buffer.waitForEvent(timeoutMs, signal);
  }
}
