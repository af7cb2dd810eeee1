// A compact binary form of `Message` for transports (the registry's peer stream): pure functions
// over Uint8Array, no JSON and no base64. Layout: a version byte (1), the type code, then the
// fields of that type in a fixed order — counts, terms and indexes as unsigned LEB128 varints
// (safe integers up to 2^53), strings as a varint byte length + UTF-8, flags as one byte, byte
// strings as a varint length + the bytes. Decoding copies entry and snapshot data out of the
// input, so a decoded message never keeps a transport's (possibly large, pooled) buffer alive.
import type { ConfState, Entry, EntryType, Snapshot } from "./entry.ts";
import type { LogIndex, NodeId, Term } from "./ids.ts";
import type { Message, MessageType } from "./message.ts";
import { decodeUtf8 } from "./utf8.ts";

/** The first byte of every encoded message. */
export const messageCodecVersion = 1;

const utf8 = new TextEncoder();

const typeCodes: Readonly<Record<MessageType, number>> = {
  app: 1,
  "app-resp": 2,
  vote: 3,
  "pre-vote": 4,
  "vote-resp": 5,
  "pre-vote-resp": 6,
  heartbeat: 7,
  "heartbeat-resp": 8,
  snap: 9,
  "timeout-now": 10,
  "read-index": 11,
  "read-index-resp": 12,
  prop: 13,
  "transfer-leader": 14,
};
const typeByCode: readonly (MessageType | undefined)[] = (() => {
  const out: (MessageType | undefined)[] = [];
  for (const [name, code] of Object.entries(typeCodes)) out[code] = name as MessageType;
  return out;
})();

/** The bytes are not one encoded message; the text names the field and the offset. */
export class MessageDecodeError extends RangeError {
  override readonly name = "MessageDecodeError";
}

// ---- encoding -------------------------------------------------------------------------------

class Writer {
  bytes: Uint8Array;
  at = 0;

  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity);
  }

  private room(n: number): void {
    if (this.at + n <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.at + n));
    grown.set(this.bytes.subarray(0, this.at));
    this.bytes = grown;
  }

  byte(value: number): void {
    this.room(1);
    this.bytes[this.at++] = value;
  }

  varint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`raft message codec: ${value} is not a non-negative safe integer`);
    this.room(8);
    while (value >= 0x80) {
      this.bytes[this.at++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.bytes[this.at++] = value;
  }

  raw(data: Uint8Array): void {
    this.varint(data.byteLength);
    this.room(data.byteLength);
    this.bytes.set(data, this.at);
    this.at += data.byteLength;
  }

  string(text: string): void {
    // Node ids and read contexts are ASCII in practice: write those without an intermediate array.
    const n = text.length;
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (text.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (!ascii) {
      this.raw(utf8.encode(text));
      return;
    }
    this.varint(n);
    this.room(n);
    for (let i = 0; i < n; i++) this.bytes[this.at++] = text.charCodeAt(i);
  }

  /** A string or null: a flag byte (0 = null), then the string. */
  nullableString(text: string | null): void {
    if (text === null) {
      this.byte(0);
      return;
    }
    this.byte(1);
    this.string(text);
  }

  flag(value: boolean): void {
    this.byte(value ? 1 : 0);
  }

  done(): Uint8Array {
    return this.bytes.subarray(0, this.at);
  }
}

function entryType(type: EntryType): number {
  return type === "normal" ? 0 : 1;
}

function dataBytes(entries: readonly { readonly data: Uint8Array }[]): number {
  let sum = 0;
  for (const entry of entries) sum += entry.data.byteLength;
  return sum;
}

function writeConfState(w: Writer, conf: ConfState): void {
  w.varint(conf.voters.length);
  for (const id of conf.voters) w.string(id);
  w.varint(conf.learners.length);
  for (const id of conf.learners) w.string(id);
}

/** Encodes one message; throws RangeError if a number in it is not a non-negative safe integer. */
export function encodeMessage(message: Message): Uint8Array {
  const extra = message.type === "app" || message.type === "prop" ? dataBytes(message.entries) + 24 * message.entries.length : message.type === "snap" ? message.snapshot.data.byteLength + 64 : 0;
  const w = new Writer(64 + message.from.length + message.to.length + extra);
  w.byte(messageCodecVersion);
  w.byte(typeCodes[message.type]);
  w.string(message.from);
  w.string(message.to);
  w.varint(message.term);
  switch (message.type) {
    case "app":
      w.varint(message.index);
      w.varint(message.logTerm);
      w.varint(message.commit);
      w.varint(message.entries.length);
      for (const entry of message.entries) {
        w.varint(entry.term);
        w.varint(entry.index);
        w.byte(entryType(entry.type));
        w.raw(entry.data);
      }
      break;
    case "app-resp":
      w.varint(message.index);
      w.flag(message.reject);
      w.varint(message.rejectHint);
      w.varint(message.logTerm);
      break;
    case "vote":
    case "pre-vote":
      w.varint(message.index);
      w.varint(message.logTerm);
      w.flag(message.transfer);
      break;
    case "vote-resp":
    case "pre-vote-resp":
      w.flag(message.reject);
      break;
    case "heartbeat":
      w.varint(message.commit);
      w.nullableString(message.context);
      break;
    case "heartbeat-resp":
      w.nullableString(message.context);
      break;
    case "snap": {
      const { metadata, data } = message.snapshot;
      w.varint(metadata.index);
      w.varint(metadata.term);
      writeConfState(w, metadata.confState);
      w.raw(data);
      break;
    }
    case "timeout-now":
      break;
    case "read-index":
      w.string(message.context);
      break;
    case "read-index-resp":
      w.varint(message.index);
      w.string(message.context);
      break;
    case "prop":
      w.varint(message.entries.length);
      for (const entry of message.entries) {
        w.byte(entryType(entry.type));
        w.raw(entry.data);
      }
      break;
    case "transfer-leader":
      w.string(message.transferee);
      break;
  }
  return w.done();
}

// ---- decoding -------------------------------------------------------------------------------

class Reader {
  readonly bytes: Uint8Array;
  at = 0;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  fail(what: string): never {
    throw new MessageDecodeError(`raft message: ${what} at byte ${this.at} of ${this.bytes.length}`);
  }

  byte(what: string): number {
    if (this.at >= this.bytes.length) this.fail(`${what} cut off`);
    return this.bytes[this.at++] as number;
  }

  varint(what: string): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (i === 8) this.fail(`${what}: varint longer than 8 bytes`);
      const b = this.byte(what);
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) break;
      scale *= 0x80;
    }
    if (!Number.isSafeInteger(value)) this.fail(`${what}: ${value} is not a safe integer`);
    return value;
  }

  flag(what: string): boolean {
    const b = this.byte(what);
    if (b > 1) this.fail(`${what}: flag byte ${b} is neither 0 nor 1`);
    return b === 1;
  }

  /** `n` bytes as a view into the input (the caller copies what it keeps). */
  view(n: number, what: string): Uint8Array {
    if (n > this.bytes.length - this.at) this.fail(`${what}: ${n} bytes announced, ${this.bytes.length - this.at} left`);
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  string(what: string): string {
    const bytes = this.view(this.varint(what), what);
    let ascii = true;
    for (let i = 0; i < bytes.length; i++) {
      if ((bytes[i] as number) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      let text = "";
      for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i] as number);
      return text;
    }
    const text = decodeUtf8(bytes);
    if (text === undefined) this.fail(`${what}: not UTF-8`);
    return text;
  }

  nullableString(what: string): string | null {
    return this.flag(what) ? this.string(what) : null;
  }

  nodeId(what: string): NodeId {
    const id = this.string(what);
    if (id.length === 0) this.fail(`${what}: empty node id`);
    return id as NodeId;
  }

  entryType(what: string): EntryType {
    const b = this.byte(what);
    if (b > 1) this.fail(`${what}: entry type ${b} is neither 0 (normal) nor 1 (conf-change)`);
    return b === 0 ? "normal" : "conf-change";
  }
}

/** Copies `views` into one new buffer and returns a view per input (one allocation for a message's entries). */
function copyAll(views: readonly Uint8Array[]): Uint8Array[] {
  let total = 0;
  for (const v of views) total += v.byteLength;
  const store = new Uint8Array(total);
  const out: Uint8Array[] = new Array<Uint8Array>(views.length);
  let at = 0;
  for (let i = 0; i < views.length; i++) {
    const v = views[i] as Uint8Array;
    store.set(v, at);
    out[i] = store.subarray(at, at + v.byteLength);
    at += v.byteLength;
  }
  return out;
}

function readConfState(r: Reader): ConfState {
  const voters: NodeId[] = [];
  for (let n = r.varint("voter count"); n > 0; n--) voters.push(r.nodeId("voter"));
  const learners: NodeId[] = [];
  for (let n = r.varint("learner count"); n > 0; n--) learners.push(r.nodeId("learner"));
  return { voters, learners };
}

/** Decodes one message; throws MessageDecodeError naming what is wrong and where. */
export function decodeMessage(bytes: Uint8Array): Message {
  const r: Reader = new Reader(bytes);
  const version = r.byte("version");
  if (version !== messageCodecVersion) r.fail(`unknown codec version ${version} (expected ${messageCodecVersion})`);
  const code = r.byte("type");
  const type = typeByCode[code];
  if (type === undefined) r.fail(`unknown message type code ${code}`);
  const from = r.nodeId("from");
  const to = r.nodeId("to");
  const term = r.varint("term") as Term;
  let message: Message;
  switch (type) {
    case "app": {
      const index = r.varint("index") as LogIndex;
      const logTerm = r.varint("logTerm") as Term;
      const commit = r.varint("commit") as LogIndex;
      const count = r.varint("entry count");
      if (count > bytes.length) r.fail(`entry count ${count} exceeds the message size`);
      const heads: { term: Term; index: LogIndex; type: EntryType }[] = [];
      const views: Uint8Array[] = [];
      for (let i = 0; i < count; i++) {
        heads.push({ term: r.varint("entry term") as Term, index: r.varint("entry index") as LogIndex, type: r.entryType("entry type") });
        views.push(r.view(r.varint("entry data length"), "entry data"));
      }
      const data = copyAll(views);
      const entries: Entry[] = new Array<Entry>(count);
      for (let i = 0; i < count; i++) {
        const head = heads[i] as { term: Term; index: LogIndex; type: EntryType };
        entries[i] = { term: head.term, index: head.index, type: head.type, data: data[i] as Uint8Array };
      }
      message = { type, from, to, term, index, logTerm, entries, commit };
      break;
    }
    case "app-resp":
      message = { type, from, to, term, index: r.varint("index") as LogIndex, reject: r.flag("reject"), rejectHint: r.varint("rejectHint") as LogIndex, logTerm: r.varint("logTerm") as Term };
      break;
    case "vote":
    case "pre-vote":
      message = { type, from, to, term, index: r.varint("index") as LogIndex, logTerm: r.varint("logTerm") as Term, transfer: r.flag("transfer") };
      break;
    case "vote-resp":
    case "pre-vote-resp":
      message = { type, from, to, term, reject: r.flag("reject") };
      break;
    case "heartbeat":
      message = { type, from, to, term, commit: r.varint("commit") as LogIndex, context: r.nullableString("context") };
      break;
    case "heartbeat-resp":
      message = { type, from, to, term, context: r.nullableString("context") };
      break;
    case "snap": {
      const index = r.varint("snapshot index") as LogIndex;
      const snapshotTerm = r.varint("snapshot term") as Term;
      const confState = readConfState(r);
      const data = r.view(r.varint("snapshot data length"), "snapshot data").slice();
      const snapshot: Snapshot = { metadata: { index, term: snapshotTerm, confState }, data };
      message = { type, from, to, term, snapshot };
      break;
    }
    case "timeout-now":
      message = { type, from, to, term };
      break;
    case "read-index":
      message = { type, from, to, term, context: r.string("context") };
      break;
    case "read-index-resp":
      message = { type, from, to, term, index: r.varint("index") as LogIndex, context: r.string("context") };
      break;
    case "prop": {
      const count = r.varint("entry count");
      if (count > bytes.length) r.fail(`entry count ${count} exceeds the message size`);
      const types: EntryType[] = [];
      const views: Uint8Array[] = [];
      for (let i = 0; i < count; i++) {
        types.push(r.entryType("entry type"));
        views.push(r.view(r.varint("entry data length"), "entry data"));
      }
      const data = copyAll(views);
      message = { type, from, to, term, entries: types.map((t, i) => ({ type: t, data: data[i] as Uint8Array })) };
      break;
    }
    case "transfer-leader":
      message = { type, from, to, term, transferee: r.nodeId("transferee") };
      break;
    default:
      r.fail(`unknown message type ${String(type)}`);
  }
  if (r.at !== bytes.length) r.fail(`${bytes.length - r.at} bytes after the message`);
  return message;
}
