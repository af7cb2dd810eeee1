// The gossip core: SWIM membership and failure detection (Das et al. 2002) with Lifeguard (Dadgar
// et al. 2018), memberlist's refinements and serf's Lamport-clocked events and queries, as a pure
// state machine. The driver feeds it packets (`step`), streams (`receiveStream`) and time (`tick`)
// and sends what `ready()` returns; it never does I/O, reads a clock or draws its own randomness.

import { Awareness } from "./awareness.ts";
import { BroadcastQueue, retransmitLimit } from "./broadcast-queue.ts";
import type { CodecLimits, DecodeFailure } from "./codec.ts";
import { decodePacket, encodeMessage, encodePacket, framingOverhead } from "./codec.ts";
import type { GossipSettings } from "./gossip-config.ts";
import { DEFAULT_GOSSIP_SETTINGS, checkGossipSettings, pushPullInterval } from "./gossip-config.ts";
import { LamportDedup, PendingQueries, userEventKey } from "./events-and-queries.ts";
import type { QueryRef } from "./events-and-queries.ts";
import type { Cipher, Keyring } from "./keyring.ts";
import { SEAL_OVERHEAD, openPacket, sealPacket } from "./keyring.ts";
import { LamportClock } from "./lamport-clock.ts";
import { mergeRemoteState, pushPullMessage, viewDigest } from "./push-pull.ts";
import type { PushPullKind } from "./push-pull.ts";
import type { MemberRecord, MemberState, Message } from "./message.ts";
import { Suspicion, suspicionTimeout } from "./suspicion.ts";

/** What the core needs from its driver besides time. */
export interface MemberlistOptions {
  /** This member's unique name. */
  readonly name: string;
  /** Where others reach this member, "host:port" (the adapter's UDP and TCP port). */
  readonly address: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly settings?: Partial<GossipSettings>;
  /** A uniform random number in [0, 1): seeded in simulations, Math.random in the adapter. */
  readonly random: () => number;
  /** Encrypt and authenticate everything with this keyring (both or neither). */
  readonly keyring?: Keyring;
  readonly cipher?: Cipher;
  /** Additional authenticated data for every sealed packet (memberlist's label); default "meshwork-gossip". */
  readonly label?: string;
  /** The driver's time at creation, in ms. */
  readonly nowMs: number;
  /**
   * Members known at start, taken as alive without gossiping them (serf's snapshot replay on
   * restart; simulations use it to start large clusters already converged).
   */
  readonly knownMembers?: readonly MemberRecord[];
}

/** A member as this node sees it. */
export interface MemberView extends MemberRecord {
  /** When this node last saw the state change, in driver ms. */
  readonly stateChangedMs: number;
}

export type GossipEvent =
  | { readonly type: "member-joined"; readonly member: MemberView }
  | { readonly type: "member-updated"; readonly member: MemberView }
  | { readonly type: "member-suspected"; readonly member: MemberView; readonly from: string }
  | { readonly type: "member-failed"; readonly member: MemberView; readonly from: string }
  | { readonly type: "member-left"; readonly member: MemberView }
  | { readonly type: "member-reaped"; readonly member: MemberView }
  | { readonly type: "user-event-received"; readonly ltime: number; readonly name: string; readonly payload: Uint8Array }
  | { readonly type: "query-received"; readonly query: QueryRef; readonly name: string; readonly payload: Uint8Array }
  | { readonly type: "query-response-received"; readonly query: QueryRef; readonly from: string; readonly payload: Uint8Array }
  | {
      readonly type: "query-completed";
      readonly query: QueryRef;
      readonly name: string;
      readonly responses: readonly { readonly from: string; readonly payload: Uint8Array }[];
    };

export type { QueryRef } from "./events-and-queries.ts";

/**
 * What `forceLeave` did here: the member's state after it (it is left alone while alive: it
 * refutes), and whether it was forgotten; or why nothing was sent.
 */
export type ForceLeaveOutcome =
  | { readonly ok: true; readonly state: MemberState; readonly pruned: boolean }
  | { readonly ok: false; readonly reason: "unknown-member" | "self" };

/** A datagram (UDP) or a push/pull stream request (TCP) to send. */
export interface Outgoing {
  readonly to: string;
  readonly bytes: Uint8Array;
}

/** Everything the driver must do after feeding the core. */
export interface Ready {
  readonly packets: readonly Outgoing[];
  /** Push/pull requests: open a stream, send the bytes, feed the reply to `step`. */
  readonly streams: readonly Outgoing[];
  readonly events: readonly GossipEvent[];
}

export type DropReason = DecodeFailure | "unauthenticated" | "replayed" | "unencrypted";

/** Counters since creation. */
export interface GossipStats {
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  streamsSent: number;
  streamBytesSent: number;
  streamBytesReceived: number;
  /** Digest-only push/pulls answered "in sync" (no full state sent). */
  pushPullsInSync: number;
  probes: number;
  probesFailed: number;
  indirectProbes: number;
  nacksSent: number;
  suspicionsStarted: number;
  refutations: number;
  membersDeclaredDead: number;
  dropped: Record<DropReason, number>;
  addressConflicts: number;
}

interface Member {
  name: string;
  address: string;
  tags: Readonly<Record<string, string>>;
  incarnation: number;
  state: MemberState;
  stateChangedMs: number;
  ltime: number;
}

interface Probe {
  readonly seq: number;
  readonly target: string;
  readonly ackDeadlineMs: number;
  readonly endMs: number;
  indirectSent: boolean;
  expectedNacks: number;
  nacks: number;
}

interface Relay {
  readonly originAddress: string;
  readonly originSeq: number;
  readonly nackDeadlineMs: number;
}

const REPLAY_WINDOW = 8_192;

/** How long a leave intent about a member this node does not hold is remembered (serf's recentIntentTimeout). */
const RECENT_INTENT_TIMEOUT_MS = 5 * 60_000;

/** A leave intent kept after its member was pruned (or before it was known): serf's nodeIntent. */
interface RecentIntent {
  readonly incarnation: number;
  readonly ltime: number;
  readonly prune: boolean;
  readonly from: string;
  readonly receivedMs: number;
}

function sameTags(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/** The SWIM/Lifeguard state machine of one member. */
export class Memberlist {
  readonly name: string;
  readonly #settings: GossipSettings;
  readonly #random: () => number;
  readonly #keyring: Keyring | undefined;
  readonly #cipher: Cipher | undefined;
  readonly #aad: Uint8Array;
  readonly #limits: CodecLimits;
  readonly #streamLimits: CodecLimits;

  #now: number;
  readonly #members = new Map<string, Member>();
  /** Every known member but self, for O(1) random picks (memberlist's nodes slice). */
  readonly #others: Member[] = [];
  #liveCount = 1;
  readonly #awareness: Awareness;
  readonly #broadcasts = new BroadcastQueue();
  readonly #suspicions = new Map<string, Suspicion>();
  readonly #relays = new Map<number, Relay>();
  /** Leave intents about members not (or no longer) in #members, by name (serf recentIntents). */
  readonly #recentIntents = new Map<string, RecentIntent>();
  #probe: Probe | undefined;
  #probeOrder: string[] = [];
  #probeIndex = 0;
  #seq = 0;
  #nextProbeMs: number;
  #nextGossipMs: number;
  #nextPushPullMs: number;
  #nextReapMs: number;
  #nextReconnectMs: number;
  #leaving = false;

  readonly memberClock = new LamportClock();
  readonly eventClock = new LamportClock();
  readonly queryClock = new LamportClock();
  readonly #seenEvents: LamportDedup;
  readonly #seenQueries: LamportDedup;
  readonly #pendingQueries = new PendingQueries();

  readonly #seenNonces = new Set<string>();
  readonly #nonceRing: string[] = [];

  #packets: Outgoing[] = [];
  #streams: Outgoing[] = [];
  #events: GossipEvent[] = [];
  readonly #stats: GossipStats = {
    packetsSent: 0,
    bytesSent: 0,
    packetsReceived: 0,
    bytesReceived: 0,
    streamsSent: 0,
    streamBytesSent: 0,
    streamBytesReceived: 0,
    pushPullsInSync: 0,
    probes: 0,
    probesFailed: 0,
    indirectProbes: 0,
    nacksSent: 0,
    suspicionsStarted: 0,
    refutations: 0,
    membersDeclaredDead: 0,
    dropped: { truncated: 0, oversized: 0, malformed: 0, "unsupported-version": 0, unauthenticated: 0, replayed: 0, unencrypted: 0 },
    addressConflicts: 0,
  };

  /** Throws on invalid settings or a keyring without a cipher (configuration errors). */
  constructor(options: MemberlistOptions) {
    const settings = { ...DEFAULT_GOSSIP_SETTINGS, ...options.settings };
    const problem = checkGossipSettings(settings);
    if (problem !== undefined) throw new Error(problem);
    if ((options.keyring === undefined) !== (options.cipher === undefined)) {
      throw new Error("gossip: give both a keyring and a cipher to encrypt, or neither");
    }
    if (options.name === "") throw new Error("gossip: the member name must not be empty");
    this.name = options.name;
    this.#settings = settings;
    this.#random = options.random;
    this.#keyring = options.keyring;
    this.#cipher = options.cipher;
    this.#aad = new TextEncoder().encode(options.label ?? "meshwork-gossip");
    this.#limits = { maxPacketBytes: 65_536, maxMessagesPerPacket: 255, maxMembers: 0 };
    this.#streamLimits = { maxPacketBytes: settings.maxStreamBytes, maxMessagesPerPacket: 1, maxMembers: 1_000_000 };
    this.#seenEvents = new LamportDedup(settings.eventBufferSize);
    this.#seenQueries = new LamportDedup(settings.eventBufferSize);
    this.#awareness = new Awareness(settings.lifeguard ? settings.awarenessMaxMultiplier : 1);
    this.#now = options.nowMs;
    const self: Member = {
      name: options.name,
      address: options.address,
      tags: { ...options.tags },
      incarnation: 0,
      state: "alive",
      stateChangedMs: options.nowMs,
      ltime: this.memberClock.increment(),
    };
    this.#members.set(self.name, self);
    // Spread the periodic work so that members started together do not act in lockstep.
    this.#nextProbeMs = options.nowMs + Math.floor(this.#random() * settings.probeIntervalMs);
    this.#nextGossipMs = options.nowMs + Math.floor(this.#random() * settings.gossipIntervalMs);

    this.#nextReapMs = options.nowMs + settings.gossipToTheDeadMs;
    this.#nextReconnectMs = options.nowMs + settings.reconnectIntervalMs;
    this.#queueAlive(self);
    for (const record of options.knownMembers ?? []) {
      if (record.name === self.name || this.#members.has(record.name)) continue;
      const member: Member = { ...record, tags: { ...record.tags }, state: "alive", stateChangedMs: options.nowMs };
      this.#members.set(member.name, member);
      this.#others.push(member);
      this.#liveCount++;
    }
    const pushPullMs = pushPullInterval(settings.pushPullIntervalMs, this.#liveCount);
    this.#nextPushPullMs = options.nowMs + Math.floor(this.#random() * pushPullMs); // memberlist's random stagger
  }

  // ---------------------------------------------------------------- inputs

  /** Advances time to `nowMs` (never backwards) and runs every timer that is due. */
  tick(nowMs: number): void {
    if (nowMs > this.#now) this.#now = nowMs;
    const now = this.#now;
    if (this.#probe !== undefined) {
      const probe = this.#probe;
      if (!probe.indirectSent && now >= probe.ackDeadlineMs) this.#sendIndirectProbes(probe);
      if (now >= probe.endMs) this.#failProbe(probe);
    }
    if (this.#probe === undefined && now >= this.#nextProbeMs && !this.#leaving) this.#startProbe();
    for (const [seq, relay] of this.#relays) {
      if (now >= relay.nackDeadlineMs) {
        this.#relays.delete(seq);
        if (this.#settings.lifeguard) {
          this.#stats.nacksSent++;
          this.#send(relay.originAddress, [{ type: "nack", seq: relay.originSeq }]);
        }
      }
    }
    for (const [name, suspicion] of this.#suspicions) {
      if (now < suspicion.deadlineMs) {
        this.#verifySuspicion(name, suspicion);
        continue;
      }
      this.#suspicions.delete(name);
      const member = this.#members.get(name);
      if (member?.state === "suspect") {
        this.#stats.membersDeclaredDead++;
        this.#onDead({ type: "dead", incarnation: member.incarnation, node: name, from: this.name, ltime: this.memberClock.time });
      }
    }
    if (now >= this.#nextGossipMs) {
      this.#nextGossipMs = now + this.#settings.gossipIntervalMs;
      this.#gossip();
    }
    if (this.#settings.pushPullIntervalMs > 0 && now >= this.#nextPushPullMs) {
      this.#nextPushPullMs = now + pushPullInterval(this.#settings.pushPullIntervalMs, this.#liveCount);
      const peer = this.#randomMembers(1, (m) => m.state === "alive")[0];
      if (peer !== undefined) this.#pushPull(peer.address, false, this.#settings.pushPullDigests);
    }
    for (const done of this.#pendingQueries.expire(now)) this.#events.push({ type: "query-completed", ...done });
    if (this.#settings.reconnectIntervalMs > 0 && now >= this.#nextReconnectMs) {
      this.#nextReconnectMs = now + this.#settings.reconnectIntervalMs;
      const failed = this.#randomMembers(1, (m) => m.state === "dead")[0];
      if (failed !== undefined && !this.#leaving) this.#pushPull(failed.address, false, false);
    }
    if (now >= this.#nextReapMs) {
      this.#nextReapMs = now + this.#settings.gossipToTheDeadMs;
      this.#reap();
    }
  }

  /** Feeds one datagram received from `from` ("host:port"). Bad packets are dropped and counted. */
  step(bytes: Uint8Array, from: string): void {
    this.#stats.packetsReceived++;
    this.#stats.bytesReceived += bytes.length;
    const messages = this.#open(bytes, this.#limits);
    if (messages === undefined) return;
    for (const message of messages) this.#handle(message, from);
  }

  /**
   * Feeds a push/pull stream received from `from`; returns the reply to write back on the same
   * stream (this member's state), or undefined if the stream was dropped. A reply to a request
   * this member sent is fed here too (it returns undefined).
   */
  receiveStream(bytes: Uint8Array, from: string): Uint8Array | undefined {
    this.#stats.streamBytesReceived += bytes.length;
    const messages = this.#open(bytes, this.#streamLimits);
    const message = messages?.[0];
    if (message === undefined || message.type !== "push-pull") {
      if (message !== undefined) this.#stats.dropped.malformed++;
      return undefined;
    }
    this.eventClock.witness(message.eventLtime);
    this.queryClock.witness(message.queryLtime);
    if (message.isResponse) {
      this.#mergeRemoteState(message);
      // The peer's view differed from ours: it sent its state, now send ours.
      if (message.wantsState) this.#pushPull(from, false, false);
      return undefined;
    }
    let reply: Message;
    if (message.digestOnly) {
      const inSync = message.digest === this.#digest();
      if (inSync) this.#stats.pushPullsInSync++;
      reply = inSync ? this.#pushPullMessage({ isResponse: true, digestOnly: true }) : this.#pushPullMessage({ isResponse: true, wantsState: true });
    } else {
      this.#mergeRemoteState(message);
      reply = this.#pushPullMessage({ isResponse: true });
    }
    const sealed = this.#seal(encodePacket([encodeMessage(reply)]));
    this.#stats.streamBytesSent += sealed.length;
    return sealed;
  }

  /** Joins a cluster through any of its members: a push/pull with each address given. */
  join(addresses: readonly string[]): void {
    for (const address of addresses) this.#pushPull(address, true, false);
  }

  /**
   * Leaves gracefully: gossips a "dead, from itself" message and stops probing. The driver keeps
   * ticking until `pendingBroadcasts` is 0 (or a timeout) before closing its sockets.
   */
  leave(): void {
    if (this.#leaving) return;
    this.#leaving = true;
    const self = this.#self();
    const ltime = this.memberClock.increment();
    const message: Message = { type: "dead", incarnation: self.incarnation, node: self.name, from: self.name, ltime };
    this.#setState(self, "left");
    self.ltime = ltime;
    this.#broadcasts.push(`member:${self.name}`, encodeMessage(message));
  }

  /**
   * Forces a failed (or suspect) member out (serf RemoveFailedNode, Consul's force-leave): gossips
   * a leave intent on its behalf, so every member that sees it failed or suspect marks it left, as
   * if it had left gracefully; with `prune` every member also forgets it at once (instead of after
   * `reapAfterMs`). A member alive to a receiver is not touched there, and the member itself, if it
   * is alive after all, refutes with a higher incarnation. The intent is sent even when the member
   * is alive here: members on the other side of a partition may see it failed.
   */
  forceLeave(name: string, options: { readonly prune?: boolean } = {}): ForceLeaveOutcome {
    if (name === this.name) return { ok: false, reason: "self" };
    const member = this.#members.get(name);
    if (member === undefined) return { ok: false, reason: "unknown-member" };
    const message: Extract<Message, { type: "leave-intent" }> = {
      type: "leave-intent",
      node: name,
      incarnation: member.incarnation,
      ltime: this.memberClock.increment(),
      prune: options.prune ?? false,
      from: this.name,
    };
    this.#onLeaveIntent(message);
    this.#broadcasts.push(`member:${name}`, encodeMessage(message));
    const after = this.#members.get(name);
    return { ok: true, state: after?.state ?? "left", pruned: after === undefined };
  }

  /** Replaces this member's tags: a new incarnation, gossiped to all (serf SetTags). */
  setTags(tags: Readonly<Record<string, string>>): void {
    const self = this.#self();
    self.tags = { ...tags };
    self.incarnation++;
    self.ltime = this.memberClock.increment();
    this.#queueAlive(self);
  }

  /** Fires a user event cluster-wide (serf UserEvent); it is also delivered locally. */
  userEvent(name: string, payload: Uint8Array): number {
    const ltime = this.eventClock.increment();
    this.#onUserEvent({ type: "user-event", ltime, name, payload });
    return ltime;
  }

  /**
   * Starts a query (serf Query): every member receives a `query-received` event and may `respond`;
   * responses arrive as `query-response-received` events and a `query-completed` event closes the
   * query after `timeoutMs` (default: gossipInterval · queryTimeoutMult · ceil(log10(n+1))).
   */
  query(name: string, payload: Uint8Array, options: { readonly timeoutMs?: number } = {}): QueryRef {
    const ltime = this.queryClock.increment();
    const timeoutMs =
      options.timeoutMs ?? this.#settings.gossipIntervalMs * this.#settings.queryTimeoutMult * Math.ceil(Math.log10(this.#liveCount + 1));
    const id = Math.floor(this.#random() * 0x1_0000_0000);
    const self = this.#self();
    const ref: QueryRef = { ltime, id, origin: self.name, originAddress: self.address };
    this.#pendingQueries.open(ref, name, this.#now + timeoutMs);
    this.#onQuery({ type: "query", ltime, id, name, payload, origin: self.name, originAddress: self.address, timeoutMs });
    return ref;
  }

  /** Answers a query this member received, directly to its origin. */
  respond(query: QueryRef, payload: Uint8Array): void {
    const message: Message = { type: "query-response", ltime: query.ltime, id: query.id, from: this.name, payload };
    if (query.origin === this.name) this.#onQueryResponse(message);
    else this.#send(query.originAddress, [message]);
  }

  // ---------------------------------------------------------------- outputs

  /** Takes what the driver must send and the events to deliver, in order. */
  ready(): Ready {
    const ready: Ready = { packets: this.#packets, streams: this.#streams, events: this.#events };
    this.#packets = [];
    this.#streams = [];
    this.#events = [];
    return ready;
  }

  /** The earliest driver time at which `tick` has work to do. */
  nextTickMs(): number {
    let next = Math.min(this.#nextGossipMs, this.#nextReapMs);
    if (this.#settings.pushPullIntervalMs > 0) next = Math.min(next, this.#nextPushPullMs);
    if (this.#settings.reconnectIntervalMs > 0) next = Math.min(next, this.#nextReconnectMs);
    if (this.#probe !== undefined) next = Math.min(next, this.#probe.indirectSent ? this.#probe.endMs : this.#probe.ackDeadlineMs);
    else if (!this.#leaving) next = Math.min(next, this.#nextProbeMs);
    for (const relay of this.#relays.values()) next = Math.min(next, relay.nackDeadlineMs);
    for (const suspicion of this.#suspicions.values()) next = Math.min(next, suspicion.deadlineMs, this.#verificationDueMs(suspicion) ?? Infinity);
    next = Math.min(next, this.#pendingQueries.nextDeadlineMs());
    return next;
  }

  /** Every known member, self included. */
  members(): MemberView[] {
    return [...this.#members.values()].map((m) => this.#view(m));
  }

  member(name: string): MemberView | undefined {
    const m = this.#members.get(name);
    return m === undefined ? undefined : this.#view(m);
  }

  /** Alive and suspect members, self included (memberlist NumMembers). */
  get liveMembers(): number {
    return this.#liveCount;
  }

  /** The settings in force (defaults merged with the options). */
  get settings(): Readonly<GossipSettings> {
    return this.#settings;
  }

  /** Lifeguard's local health score (0 = healthy). */
  get healthScore(): number {
    return this.#awareness.score;
  }

  /** Updates still to be gossiped; a leaving member waits for 0 before it closes. */
  get pendingBroadcasts(): number {
    return this.#broadcasts.length;
  }

  get stats(): Readonly<GossipStats> {
    return this.#stats;
  }

  // ---------------------------------------------------------------- wire

  #open(bytes: Uint8Array, limits: CodecLimits): Message[] | undefined {
    if (bytes.length > limits.maxPacketBytes + (this.#keyring ? SEAL_OVERHEAD + 1 : 0)) {
      this.#stats.dropped.oversized++;
      return undefined;
    }
    let plaintext = bytes;
    if (this.#keyring !== undefined && this.#cipher !== undefined) {
      const opened = openPacket(this.#keyring, this.#cipher, bytes, this.#aad);
      if (!opened.ok) {
        this.#stats.dropped[opened.reason]++;
        return undefined;
      }
      if (this.#seenNonces.has(opened.nonceKey)) {
        this.#stats.dropped.replayed++;
        return undefined;
      }
      this.#rememberNonce(opened.nonceKey);
      plaintext = opened.plaintext;
    }
    const decoded = decodePacket(plaintext, limits);
    if (!decoded.ok) {
      this.#stats.dropped[decoded.reason]++;
      return undefined;
    }
    return decoded.value;
  }

  #rememberNonce(key: string): void {
    this.#seenNonces.add(key);
    this.#nonceRing.push(key);
    if (this.#nonceRing.length > REPLAY_WINDOW) this.#seenNonces.delete(this.#nonceRing.shift() as string);
  }

  #seal(plaintext: Uint8Array): Uint8Array {
    if (this.#keyring === undefined || this.#cipher === undefined) return plaintext;
    return sealPacket(this.#keyring, this.#cipher, plaintext, this.#aad);
  }

  /** Sends `messages` to `to` with as many piggybacked updates as fit (SWIM §4.1). */
  #send(to: string, messages: readonly Message[]): void {
    const encoded = messages.map((m) => encodeMessage(m));
    this.#sendEncoded(to, encoded);
  }

  #sendEncoded(to: string, encoded: Uint8Array[]): void {
    let used = 1 + 2 + (this.#keyring ? SEAL_OVERHEAD + 1 : 0);
    for (const e of encoded) used += e.length + framingOverhead(e.length);
    const room = Math.min(this.#settings.maxPacketBytes - used, 255 - encoded.length);
    if (room > 0) {
      const extra = this.#broadcasts.take(this.#settings.maxPacketBytes - used, this.#retransmitLimit(), framingOverhead);
      encoded.push(...extra.slice(0, 255 - encoded.length));
    }
    if (encoded.length === 0) return;
    const bytes = this.#seal(encodePacket(encoded));
    this.#stats.packetsSent++;
    this.#stats.bytesSent += bytes.length;
    this.#packets.push({ to, bytes });
  }

  #retransmitLimit(): number {
    return retransmitLimit(this.#settings.retransmitMult, this.#liveCount);
  }

  // ---------------------------------------------------------------- dispatch

  #handle(message: Message, from: string): void {
    switch (message.type) {
      case "ping":
        if (message.target !== "" && message.target !== this.name) return; // meant for a former owner of this address
        this.#send(from, [{ type: "ack", seq: message.seq }]);
        return;
      case "indirect-ping":
        this.#relayProbe(message);
        return;
      case "ack":
        this.#onAck(message.seq);
        return;
      case "nack":
        if (this.#probe?.seq === message.seq) this.#probe.nacks++;
        return;
      case "alive":
        this.#onAlive(message.member);
        return;
      case "suspect":
        this.#onSuspect(message);
        return;
      case "dead":
        this.#onDead(message);
        return;
      case "push-pull":
        this.#stats.dropped.malformed++; // only valid on a stream
        return;
      case "user-event":
        this.#onUserEvent(message);
        return;
      case "query":
        this.#onQuery(message);
        return;
      case "query-response":
        this.#onQueryResponse(message);
        return;
      case "leave-intent":
        this.#onLeaveIntent(message);
        return;
    }
  }

  // ---------------------------------------------------------------- probing (SWIM §3.1, §4.3)

  /** Next probe target: round-robin over a shuffled list, reshuffled each pass (SWIM §4.3). */
  #nextProbeTarget(): Member | undefined {
    for (let checked = 0; checked <= this.#probeOrder.length; checked++) {
      if (this.#probeIndex >= this.#probeOrder.length) {
        this.#probeOrder = this.#shuffle(this.#others.filter((m) => m.state === "alive" || m.state === "suspect").map((m) => m.name));
        this.#probeIndex = 0;
        if (this.#probeOrder.length === 0) return undefined;
      }
      const member = this.#members.get(this.#probeOrder[this.#probeIndex++] as string);
      if (member !== undefined && (member.state === "alive" || member.state === "suspect")) return member;
    }
    return undefined;
  }

  #startProbe(): void {
    const interval = this.#awareness.scale(this.#settings.probeIntervalMs);
    const target = this.#nextProbeTarget();
    this.#nextProbeMs = this.#now + interval;
    if (target === undefined) return;
    const seq = ++this.#seq;
    this.#probe = {
      seq,
      target: target.name,
      ackDeadlineMs: this.#now + this.#awareness.scale(this.#settings.probeTimeoutMs),
      endMs: this.#now + interval,
      indirectSent: false,
      expectedNacks: 0,
      nacks: 0,
    };
    this.#stats.probes++;
    const ping: Message = { type: "ping", seq, target: target.name, source: this.name };
    // Lifeguard's buddy system: tell a suspect directly, so it can refute at once.
    if (target.state === "suspect" && this.#settings.lifeguard) {
      // The suspicion before the ping, so that the ack carries the refutation (see #verifySuspicion).
      this.#send(target.address, [{ type: "suspect", incarnation: target.incarnation, node: target.name, from: this.name }, ping]);
    } else this.#send(target.address, [ping]);
  }

  /**
   * Before a suspicion that lacks its K confirmations runs out, ask the suspect directly, twice (at
   * the minimum timeout and halfway from there to the deadline): a ping carrying the suspicion, as
   * the buddy system does. A live suspect refutes again, and its ack carries the refutation back.
   * Not in memberlist: there, a member that missed every copy of a refutation (the epidemic spends
   * its retransmits in well under a second, partly piggybacked on acks to non-random members) waits
   * for the next push/pull, 30–60 s away, and declares a live member dead. Lifeguard only.
   */
  #verifySuspicion(name: string, suspicion: Suspicion): void {
    const dueAt = this.#verificationDueMs(suspicion);
    if (dueAt === undefined || this.#now < dueAt) return;
    suspicion.verifications++;
    const member = this.#members.get(name);
    if (member?.state !== "suspect") return;
    // The suspicion first: the suspect handles it (queues its refutation) before it acks the ping,
    // so the ack carries the refutation back.
    this.#send(member.address, [
      { type: "suspect", incarnation: member.incarnation, node: member.name, from: this.name },
      { type: "ping", seq: ++this.#seq, target: member.name, source: this.name },
    ]);
  }

  /** When the next direct check of a suspect is due (undefined: none). */
  #verificationDueMs(suspicion: Suspicion): number | undefined {
    if (!this.#settings.lifeguard || suspicion.verifications >= 2 || suspicion.confirmations >= suspicion.expected) return undefined;
    const firstAt = suspicion.startedMs + suspicion.minMs;
    return suspicion.verifications === 0 ? firstAt : Math.floor(firstAt + (suspicion.deadlineMs - firstAt) / 2);
  }

  #sendIndirectProbes(probe: Probe): void {
    probe.indirectSent = true;
    const target = this.#members.get(probe.target);
    if (target === undefined) return;
    const self = this.#self();
    const helpers = this.#randomMembers(this.#settings.indirectChecks, (m) => m.state === "alive" && m.name !== probe.target);
    probe.expectedNacks = this.#settings.lifeguard ? helpers.length : 0;
    for (const helper of helpers) {
      this.#stats.indirectProbes++;
      this.#send(helper.address, [
        { type: "indirect-ping", seq: probe.seq, target: target.name, targetAddress: target.address, source: self.name, sourceAddress: self.address },
      ]);
    }
  }

  #onAck(seq: number): void {
    if (this.#probe?.seq === seq) {
      this.#probe = undefined;
      this.#awareness.apply(-1);
      return;
    }
    const relay = this.#relays.get(seq);
    if (relay !== undefined) {
      this.#relays.delete(seq);
      this.#send(relay.originAddress, [{ type: "ack", seq: relay.originSeq }]);
    }
  }

  #failProbe(probe: Probe): void {
    this.#probe = undefined;
    this.#stats.probesFailed++;
    // memberlist probeNode: missing nacks mean the trouble is probably here, not at the target.
    if (probe.expectedNacks > 0) this.#awareness.apply(Math.max(0, probe.expectedNacks - probe.nacks));
    else this.#awareness.apply(1);
    const target = this.#members.get(probe.target);
    // A member already suspect is confirmed by this failed probe too (memberlist probeNode).
    if (target === undefined || (target.state !== "alive" && target.state !== "suspect")) return;
    this.#onSuspect({ type: "suspect", incarnation: target.incarnation, node: target.name, from: this.name });
  }

  #relayProbe(message: Extract<Message, { type: "indirect-ping" }>): void {
    const seq = ++this.#seq;
    this.#relays.set(seq, { originAddress: message.sourceAddress, originSeq: message.seq, nackDeadlineMs: this.#now + this.#settings.probeTimeoutMs });
    this.#send(message.targetAddress, [{ type: "ping", seq, target: message.target, source: this.name }]);
  }

  // ---------------------------------------------------------------- membership updates (SWIM §4.2)

  #self(): Member {
    return this.#members.get(this.name) as Member;
  }

  #view(m: Member): MemberView {
    return { name: m.name, address: m.address, incarnation: m.incarnation, state: m.state, tags: m.tags, ltime: m.ltime, stateChangedMs: m.stateChangedMs };
  }

  #record(m: Member): MemberRecord {
    return { name: m.name, address: m.address, incarnation: m.incarnation, state: m.state, tags: m.tags, ltime: m.ltime };
  }

  #queueAlive(m: Member): void {
    this.#broadcasts.push(`member:${m.name}`, encodeMessage({ type: "alive", member: { ...this.#record(m), state: "alive" } }));
  }

  #setState(m: Member, state: MemberState): void {
    const wasLive = m.state === "alive" || m.state === "suspect";
    const isLive = state === "alive" || state === "suspect";
    if (wasLive && !isLive) this.#liveCount--;
    if (!wasLive && isLive) this.#liveCount++;
    if (m.state !== state) m.stateChangedMs = this.#now;
    m.state = state;
  }

  /** Someone else claims a newer or equal state of this member: out-incarnate it (SWIM §4.2). */
  #refute(accusedIncarnation: number): void {
    const self = this.#self();
    self.incarnation = Math.max(self.incarnation, accusedIncarnation) + 1;
    self.ltime = this.memberClock.increment();
    this.#stats.refutations++;
    this.#awareness.apply(1);
    this.#queueAlive(self);
  }

  #onAlive(record: MemberRecord): void {
    this.memberClock.witness(record.ltime);
    if (record.name === this.name) {
      const self = this.#self();
      if (this.#leaving) return;
      if (record.incarnation > self.incarnation || (record.incarnation === self.incarnation && record.address !== self.address)) {
        this.#refute(record.incarnation);
      }
      return;
    }
    const known = this.#members.get(record.name);
    if (known === undefined) {
      if (this.#isForgottenByIntent(record)) return;
      const member: Member = {
        name: record.name,
        address: record.address,
        tags: { ...record.tags },
        incarnation: record.incarnation,
        state: "dead",
        stateChangedMs: this.#now,
        ltime: record.ltime,
      };
      this.#members.set(member.name, member);
      this.#others.push(member);
      // memberlist inserts new members at a random place of the probe order.
      this.#probeOrder.splice(this.#probeIndex + Math.floor(this.#random() * (this.#probeOrder.length - this.#probeIndex + 1)), 0, member.name);
      this.#setState(member, "alive");
      this.#queueAlive(member);
      this.#events.push({ type: "member-joined", member: this.#view(member) });
      return;
    }
    const isGone = known.state === "dead" || known.state === "left";
    if (record.incarnation <= known.incarnation) return;
    if (!isGone && record.address !== known.address) {
      this.#stats.addressConflicts++; // a live member cannot move; memberlist rejects it the same way
      return;
    }
    const tagsChanged = !sameTags(known.tags, record.tags) || known.address !== record.address;
    this.#suspicions.delete(known.name);
    known.incarnation = record.incarnation;
    known.address = record.address;
    known.tags = { ...record.tags };
    known.ltime = Math.max(known.ltime, record.ltime);
    this.#setState(known, "alive");
    this.#queueAlive(known);
    if (isGone) this.#events.push({ type: "member-joined", member: this.#view(known) });
    else if (tagsChanged) this.#events.push({ type: "member-updated", member: this.#view(known) });
  }

  #onSuspect(message: Extract<Message, { type: "suspect" }>): void {
    const member = this.#members.get(message.node);
    if (member === undefined) return;
    if (message.incarnation < member.incarnation) {
      // A stale accusation reached the accused: gossip the refutation again for whoever missed it.
      if (member.name === this.name && !this.#leaving) this.#queueAlive(member);
      return;
    }
    const existing = this.#suspicions.get(member.name);
    if (existing !== undefined) {
      if (message.incarnation > member.incarnation) {
        // The member refuted the suspicion we hold (a newer incarnation exists): this is a new
        // suspicion, not a confirmation of the refuted one (memberlist would count it as one).
        this.#suspicions.delete(member.name);
        this.#startSuspicion(member, message);
        return;
      }
      // Lifeguard: an independent confirmation shortens the timeout and is worth re-gossiping.
      if (existing.confirm(message.from)) this.#broadcasts.push(`member:${member.name}`, encodeMessage(message));
      return;
    }
    if (member.state !== "alive") return;
    if (member.name === this.name) {
      if (!this.#leaving) this.#refute(message.incarnation);
      return;
    }
    this.#startSuspicion(member, message);
    this.#events.push({ type: "member-suspected", member: this.#view(member), from: message.from });
  }

  #startSuspicion(member: Member, message: Extract<Message, { type: "suspect" }>): void {
    this.#broadcasts.push(`member:${member.name}`, encodeMessage(message));
    member.incarnation = message.incarnation;
    this.#setState(member, "suspect");
    this.#stats.suspicionsStarted++;
    const s = this.#settings;
    const n = this.#liveCount;
    const minMs = suspicionTimeout(s.suspicionMult, n, s.probeIntervalMs);
    let expected = 0;
    let maxMs = minMs;
    if (s.lifeguard) {
      // With fewer than K other members able to confirm, wait for as many as there are (memberlist
      // waits for none then: in a 3-member pool one missed ack would get a verdict after the minimum).
      expected = Math.min(s.suspicionConfirmations, Math.max(0, n - 2));
      maxMs = s.suspicionMaxTimeoutMult * minMs;
    }
    this.#suspicions.set(member.name, new Suspicion(message.from, { startedMs: this.#now, expected, minMs, maxMs }));
  }

  #onDead(message: Extract<Message, { type: "dead" }>): void {
    this.memberClock.witness(message.ltime);
    const member = this.#members.get(message.node);
    if (member === undefined) return;
    if (message.incarnation < member.incarnation) {
      if (member.name === this.name && !this.#leaving) this.#queueAlive(member);
      return;
    }
    this.#suspicions.delete(member.name);
    if (member.state === "dead" || member.state === "left") return;
    if (member.name === this.name) {
      if (!this.#leaving) this.#refute(message.incarnation);
      return;
    }
    this.#broadcasts.push(`member:${member.name}`, encodeMessage(message));
    member.incarnation = message.incarnation;
    member.ltime = Math.max(member.ltime, message.ltime);
    const left = message.from === message.node;
    this.#setState(member, left ? "left" : "dead");
    this.#events.push(left ? { type: "member-left", member: this.#view(member) } : { type: "member-failed", member: this.#view(member), from: message.from });
  }

  /**
   * serf handleNodeLeaveIntent: a failed or suspect member becomes left (and is forgotten with
   * `prune`); an alive one is left alone. Re-gossiped only when it changed something here, so the
   * epidemic stops once every member has applied it. An intent about this member is refuted.
   */
  #onLeaveIntent(message: Extract<Message, { type: "leave-intent" }>): void {
    this.memberClock.witness(message.ltime);
    const member = this.#members.get(message.node);
    if (member === undefined) {
      // serf keeps an intent about a member it does not know: its alive may still be on the way.
      this.#rememberIntent(message);
      return;
    }
    if (member.name === this.name) {
      if (!this.#leaving) this.#refute(message.incarnation);
      return;
    }
    // Older than what we know: the member refuted or rejoined since the intent was sent.
    if (message.incarnation < member.incarnation || member.state === "alive") return;
    let changed = false;
    if (member.state === "dead" || member.state === "suspect") {
      this.#suspicions.delete(member.name);
      member.ltime = Math.max(member.ltime, message.ltime);
      this.#setState(member, "left");
      this.#events.push({ type: "member-left", member: this.#view(member) });
      changed = true;
    }
    if (message.prune) {
      this.#members.delete(member.name);
      this.#others.splice(this.#others.indexOf(member), 1);
      this.#events.push({ type: "member-reaped", member: this.#view(member) });
      this.#rememberIntent(message);
      changed = true;
    }
    if (changed) this.#broadcasts.push(`member:${member.name}`, encodeMessage(message));
  }

  #rememberIntent(message: Extract<Message, { type: "leave-intent" }>): void {
    const kept = this.#recentIntents.get(message.node);
    if (kept !== undefined && kept.ltime >= message.ltime) return;
    this.#recentIntents.set(message.node, {
      incarnation: message.incarnation,
      ltime: message.ltime,
      prune: message.prune,
      from: message.from,
      receivedMs: this.#now,
    });
  }

  /**
   * An alive record about a member this node forgot because of a recent leave intent: refused
   * unless its incarnation is newer than the intent's (serf handleNodeJoin checks its recentIntents
   * the same way, by Lamport time). Stale state pushed by a member that missed the intent would
   * otherwise bring the member back, only for it to fail again. The intent goes to the record's
   * address: a member restarted there refutes it with a newer incarnation and so rejoins.
   */
  #isForgottenByIntent(record: MemberRecord): boolean {
    const intent = this.#recentIntents.get(record.name);
    if (intent === undefined || this.#now - intent.receivedMs >= RECENT_INTENT_TIMEOUT_MS) return false;
    if (record.incarnation > intent.incarnation) {
      this.#recentIntents.delete(record.name);
      return false;
    }
    const { incarnation, ltime, prune, from } = intent;
    this.#send(record.address, [{ type: "leave-intent", node: record.name, incarnation, ltime, prune, from }]);
    return true;
  }

  /** Forgets members dead or left for `reapAfterMs` (serf reap), and intents older than RecentIntentTimeout. */
  #reap(): void {
    for (const [name, intent] of this.#recentIntents) {
      if (this.#now - intent.receivedMs >= RECENT_INTENT_TIMEOUT_MS) this.#recentIntents.delete(name);
    }
    for (const member of [...this.#others]) {
      if ((member.state === "dead" || member.state === "left") && this.#now - member.stateChangedMs >= this.#settings.reapAfterMs) {
        this.#members.delete(member.name);
        this.#others.splice(this.#others.indexOf(member), 1);
        this.#events.push({ type: "member-reaped", member: this.#view(member) });
      }
    }
  }

  // ---------------------------------------------------------------- dissemination and anti-entropy

  /** Gossip round (memberlist gossip()): piggyback pending updates to a few random members. */
  #gossip(): void {
    if (this.#broadcasts.length === 0) return;
    const now = this.#now;
    const targets = this.#randomMembers(
      this.#settings.gossipNodes,
      (m) => m.state === "alive" || m.state === "suspect" || now - m.stateChangedMs < this.#settings.gossipToTheDeadMs,
    );
    for (const target of targets) {
      if (this.#broadcasts.length === 0) return;
      this.#sendEncoded(target.address, []);
    }
  }

  #pushPullMessage(kind: PushPullKind): Message {
    const members = kind.digestOnly === true ? [] : [...this.#members.values()].map((m) => this.#record(m));
    return pushPullMessage(kind, members, this.#digest(), this.eventClock.time, this.queryClock.time);
  }

  #pushPull(address: string, isJoin: boolean, digestOnly: boolean): void {
    const bytes = this.#seal(encodePacket([encodeMessage(this.#pushPullMessage({ isJoin, digestOnly }))]));
    this.#stats.streamsSent++;
    this.#stats.streamBytesSent += bytes.length;
    this.#streams.push({ to: address, bytes });
  }

  /** The digest of this member's view (`viewDigest`). */
  #digest(): number {
    return viewDigest(this.#members.values());
  }

  /** memberlist mergeRemoteState: a remote "dead" only makes us suspect, we check for ourselves. */
  #mergeRemoteState(message: Extract<Message, { type: "push-pull" }>): void {
    mergeRemoteState(message, this.name, {
      known: (name) => this.#members.has(name),
      alive: (record) => this.#onAlive(record),
      suspect: (suspect) => this.#onSuspect(suspect),
      dead: (dead) => this.#onDead(dead),
    });
  }

  // ---------------------------------------------------------------- user events and queries (serf)

  #onUserEvent(message: Extract<Message, { type: "user-event" }>): void {
    const key = userEventKey(message);
    if (!this.#seenEvents.isNew(this.eventClock, message.ltime, key)) return;
    this.eventClock.witness(message.ltime);
    this.#broadcasts.push(`event:${message.ltime}:${key}`, encodeMessage(message));
    this.#events.push({ type: "user-event-received", ltime: message.ltime, name: message.name, payload: message.payload });
  }

  #onQuery(message: Extract<Message, { type: "query" }>): void {
    if (!this.#seenQueries.isNew(this.queryClock, message.ltime, `${message.id}:${message.name}`)) return;
    this.queryClock.witness(message.ltime);
    this.#broadcasts.push(`query:${message.ltime}:${message.id}`, encodeMessage(message));
    const query: QueryRef = { ltime: message.ltime, id: message.id, origin: message.origin, originAddress: message.originAddress };
    this.#events.push({ type: "query-received", query, name: message.name, payload: message.payload });
  }

  #onQueryResponse(message: Extract<Message, { type: "query-response" }>): void {
    const query = this.#pendingQueries.respond(message);
    if (query !== undefined) this.#events.push({ type: "query-response-received", query, from: message.from, payload: message.payload });
  }

  // ---------------------------------------------------------------- randomness

  /** Up to k distinct random members other than self that pass `accept` (memberlist kRandomNodes). */
  #randomMembers(k: number, accept: (m: Member) => boolean): Member[] {
    const out: Member[] = [];
    const n = this.#others.length;
    for (let tries = 0; tries < 3 * n && out.length < k; tries++) {
      const m = this.#others[Math.floor(this.#random() * n)] as Member;
      if (accept(m) && !out.includes(m)) out.push(m);
    }
    return out;
  }

  #shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [items[i], items[j]] = [items[j] as T, items[i] as T];
    }
    return items;
  }
}
