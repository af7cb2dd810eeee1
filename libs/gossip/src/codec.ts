// The wire format: a compact binary encoding written for this protocol (varints, length-prefixed
// strings and bytes) and a strict decoder that rejects truncated, oversized, malformed and trailing
// input with a reason, so the core can drop the packet and count it. Layout: docs/design/gossip.md.

import type { MemberRecord, MemberState, Message, MessageType } from "./message.ts";

/** The only protocol version this codec speaks; the first byte of every plaintext packet. */
export const PROTOCOL_VERSION = 1;

/** Why a packet was dropped. */
export type DecodeFailure = "truncated" | "oversized" | "malformed" | "unsupported-version";

export type DecodeResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: DecodeFailure };

/** Bounds the decoder enforces; anything beyond is "oversized" or "malformed". */
export interface CodecLimits {
  /** Largest packet accepted, in bytes (datagrams: memberlist's 1400-byte UDP buffer plus slack). */
  readonly maxPacketBytes: number;
  /** Largest message list in one packet. */
  readonly maxMessagesPerPacket: number;
  /** Largest push/pull member list. */
  readonly maxMembers: number;
}

export const DEFAULT_CODEC_LIMITS: CodecLimits = { maxPacketBytes: 65_536, maxMessagesPerPacket: 255, maxMembers: 100_000 };

const MAX_STRING_BYTES = 1024;
const MAX_PAYLOAD_BYTES = 65_536;
const MAX_TAGS = 64;

const utf8 = new TextEncoder();
/** Throws on bytes that are not UTF-8; a leading BOM is kept (it is data). */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const TYPE_CODES: Readonly<Record<MessageType, number>> = {
  ping: 1,
  "indirect-ping": 2,
  ack: 3,
  nack: 4,
  alive: 5,
  suspect: 6,
  dead: 7,
  "push-pull": 8,
  "user-event": 9,
  query: 10,
  "query-response": 11,
  "leave-intent": 12,
};
const STATE_CODES: Readonly<Record<MemberState, number>> = { alive: 0, suspect: 1, dead: 2, left: 3 };
const STATES: readonly MemberState[] = ["alive", "suspect", "dead", "left"];

class Writer {
  #buf = new Uint8Array(64);
  #len = 0;

  #grow(extra: number): void {
    if (this.#len + extra <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  byte(value: number): void {
    this.#grow(1);
    this.#buf[this.#len++] = value;
  }

  /** Unsigned LEB128 of a safe non-negative integer. */
  varint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`varint: ${value} is not a safe non-negative integer`);
    let v = value;
    while (v >= 0x80) {
      this.byte((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.byte(v);
  }

  bytes(value: Uint8Array): void {
    this.varint(value.length);
    this.raw(value);
  }

  raw(value: Uint8Array): void {
    this.#grow(value.length);
    this.#buf.set(value, this.#len);
    this.#len += value.length;
  }

  string(value: string): void {
    this.bytes(utf8.encode(value));
  }

  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

class Failure {
  readonly reason: DecodeFailure;
  constructor(reason: DecodeFailure) {
    this.reason = reason;
  }
}

class Reader {
  #pos = 0;
  readonly buf: Uint8Array;
  constructor(buf: Uint8Array) {
    this.buf = buf;
  }

  get done(): boolean {
    return this.#pos === this.buf.length;
  }

  byte(): number {
    const b = this.buf[this.#pos];
    if (b === undefined) throw new Failure("truncated");
    this.#pos++;
    return b;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      value += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (!Number.isSafeInteger(value) || (b === 0 && i > 0)) throw new Failure("malformed"); // overlong or > 2^53
        return value;
      }
      scale *= 0x80;
    }
    throw new Failure("malformed");
  }

  raw(length: number): Uint8Array {
    if (this.#pos + length > this.buf.length) throw new Failure("truncated");
    const out = this.buf.subarray(this.#pos, this.#pos + length);
    this.#pos += length;
    return out;
  }

  bytes(max: number): Uint8Array {
    const length = this.varint();
    if (length > max) throw new Failure("oversized");
    return this.raw(length).slice();
  }

  string(): string {
    const bytes = this.bytes(MAX_STRING_BYTES);
    try {
      return strictUtf8.decode(bytes);
    } catch {
      throw new Failure("malformed");
    }
  }

  bool(): boolean {
    const b = this.byte();
    if (b > 1) throw new Failure("malformed");
    return b === 1;
  }
}

function writeMember(w: Writer, m: MemberRecord): void {
  w.string(m.name);
  w.string(m.address);
  w.varint(m.incarnation);
  w.byte(STATE_CODES[m.state]);
  w.varint(m.ltime);
  const keys = Object.keys(m.tags).sort();
  w.varint(keys.length);
  for (const key of keys) {
    w.string(key);
    w.string(m.tags[key] as string);
  }
}

function readMember(r: Reader): MemberRecord {
  const name = r.string();
  const address = r.string();
  const incarnation = r.varint();
  const state = STATES[r.byte()];
  if (state === undefined) throw new Failure("malformed");
  const ltime = r.varint();
  const count = r.varint();
  if (count > MAX_TAGS) throw new Failure("oversized");
  // No prototype: a tag named "__proto__" is a tag like any other (and cannot replace the prototype).
  const tags: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 0; i < count; i++) {
    const key = r.string();
    if (Object.hasOwn(tags, key)) throw new Failure("malformed");
    tags[key] = r.string();
  }
  if (name === "") throw new Failure("malformed");
  return { name, address, incarnation, state, tags, ltime };
}

function writeMessage(w: Writer, m: Message): void {
  w.byte(TYPE_CODES[m.type]);
  switch (m.type) {
    case "ping":
      w.varint(m.seq);
      w.string(m.target);
      w.string(m.source);
      return;
    case "indirect-ping":
      w.varint(m.seq);
      w.string(m.target);
      w.string(m.targetAddress);
      w.string(m.source);
      w.string(m.sourceAddress);
      return;
    case "ack":
    case "nack":
      w.varint(m.seq);
      return;
    case "alive":
      writeMember(w, m.member);
      return;
    case "suspect":
      w.varint(m.incarnation);
      w.string(m.node);
      w.string(m.from);
      return;
    case "dead":
      w.varint(m.incarnation);
      w.string(m.node);
      w.string(m.from);
      w.varint(m.ltime);
      return;
    case "push-pull":
      w.byte((m.isJoin ? 1 : 0) | (m.isResponse ? 2 : 0) | (m.digestOnly ? 4 : 0) | (m.wantsState ? 8 : 0));
      w.varint(m.digest);
      w.varint(m.eventLtime);
      w.varint(m.queryLtime);
      w.varint(m.members.length);
      for (const member of m.members) writeMember(w, member);
      return;
    case "user-event":
      w.varint(m.ltime);
      w.string(m.name);
      w.bytes(m.payload);
      return;
    case "query":
      w.varint(m.ltime);
      w.varint(m.id);
      w.string(m.name);
      w.bytes(m.payload);
      w.string(m.origin);
      w.string(m.originAddress);
      w.varint(m.timeoutMs);
      return;
    case "query-response":
      w.varint(m.ltime);
      w.varint(m.id);
      w.string(m.from);
      w.bytes(m.payload);
      return;
    case "leave-intent":
      w.string(m.node);
      w.varint(m.incarnation);
      w.varint(m.ltime);
      w.byte(m.prune ? 1 : 0);
      w.string(m.from);
      return;
  }
}

function readMessage(r: Reader, limits: CodecLimits): Message {
  const code = r.byte();
  switch (code) {
    case 1:
      return { type: "ping", seq: r.varint(), target: r.string(), source: r.string() };
    case 2:
      return {
        type: "indirect-ping",
        seq: r.varint(),
        target: r.string(),
        targetAddress: r.string(),
        source: r.string(),
        sourceAddress: r.string(),
      };
    case 3:
      return { type: "ack", seq: r.varint() };
    case 4:
      return { type: "nack", seq: r.varint() };
    case 5:
      return { type: "alive", member: readMember(r) };
    case 6:
      return { type: "suspect", incarnation: r.varint(), node: r.string(), from: r.string() };
    case 7:
      return { type: "dead", incarnation: r.varint(), node: r.string(), from: r.string(), ltime: r.varint() };
    case 8: {
      const flags = r.byte();
      if (flags > 15) throw new Failure("malformed");
      const digest = r.varint();
      const eventLtime = r.varint();
      const queryLtime = r.varint();
      const count = r.varint();
      if (count > limits.maxMembers) throw new Failure("oversized");
      const members: MemberRecord[] = [];
      for (let i = 0; i < count; i++) members.push(readMember(r));
      if ((flags & 4) === 4 && count > 0) throw new Failure("malformed"); // a digest-only exchange carries no members
      return {
        type: "push-pull",
        isJoin: (flags & 1) === 1,
        isResponse: (flags & 2) === 2,
        digestOnly: (flags & 4) === 4,
        wantsState: (flags & 8) === 8,
        digest,
        members,
        eventLtime,
        queryLtime,
      };
    }
    case 9:
      return { type: "user-event", ltime: r.varint(), name: r.string(), payload: r.bytes(MAX_PAYLOAD_BYTES) };
    case 10:
      return {
        type: "query",
        ltime: r.varint(),
        id: r.varint(),
        name: r.string(),
        payload: r.bytes(MAX_PAYLOAD_BYTES),
        origin: r.string(),
        originAddress: r.string(),
        timeoutMs: r.varint(),
      };
    case 11:
      return { type: "query-response", ltime: r.varint(), id: r.varint(), from: r.string(), payload: r.bytes(MAX_PAYLOAD_BYTES) };
    case 12: {
      const node = r.string();
      const incarnation = r.varint();
      const ltime = r.varint();
      const flag = r.byte();
      if (flag > 1 || node === "") throw new Failure("malformed");
      return { type: "leave-intent", node, incarnation, ltime, prune: flag === 1, from: r.string() };
    }
    default:
      throw new Failure("malformed");
  }
}

/** Encodes one message on its own (the unit the broadcast queue measures and stores). */
export function encodeMessage(message: Message): Uint8Array {
  const w = new Writer();
  writeMessage(w, message);
  return w.finish();
}

/**
 * Frames already-encoded messages into one plaintext packet: version byte, count, then each
 * message length-prefixed. The first message is the packet's purpose; the rest are piggybacked.
 */
export function encodePacket(messages: readonly Uint8Array[]): Uint8Array {
  if (messages.length === 0 || messages.length > 255) throw new Error(`encodePacket: ${messages.length} messages; send 1 to 255`);
  const w = new Writer();
  w.byte(PROTOCOL_VERSION);
  w.varint(messages.length);
  for (const m of messages) w.bytes(m);
  return w.finish();
}

/** Bytes `encodePacket` adds around a message of `length` bytes (its length prefix). */
export function framingOverhead(length: number): number {
  let n = 1;
  for (let v = length; v >= 0x80; v = Math.floor(v / 0x80)) n++;
  return n;
}

/** Decodes a plaintext packet strictly: every byte must belong to a well-formed message. */
export function decodePacket(bytes: Uint8Array, limits: CodecLimits = DEFAULT_CODEC_LIMITS): DecodeResult<Message[]> {
  if (bytes.length > limits.maxPacketBytes) return { ok: false, reason: "oversized" };
  try {
    const r = new Reader(bytes);
    if (r.byte() !== PROTOCOL_VERSION) return { ok: false, reason: "unsupported-version" };
    const count = r.varint();
    if (count === 0) return { ok: false, reason: "malformed" };
    if (count > limits.maxMessagesPerPacket) return { ok: false, reason: "oversized" };
    const messages: Message[] = [];
    for (let i = 0; i < count; i++) {
      const inner = new Reader(r.raw(r.varint()));
      messages.push(readMessage(inner, limits));
      if (!inner.done) return { ok: false, reason: "malformed" };
    }
    if (!r.done) return { ok: false, reason: "malformed" };
    return { ok: true, value: messages };
  } catch (error) {
    if (error instanceof Failure) return { ok: false, reason: error.reason };
    throw error;
  }
}
