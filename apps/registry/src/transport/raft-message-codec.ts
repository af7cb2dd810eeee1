// The wire form of a libs/raft `Message` inside mesh.raft.v1 frames: libs/raft's binary codec
// (`encodeMessage`: varints, length-prefixed strings and bytes, no JSON or base64). Decoding also
// accepts the UTF-8 JSON form earlier builds sent (byte fields as `{"$b64": ...}`, json-bytes.ts),
// told apart by its first byte `{`, so a cluster can be upgraded one node at a time.
import { decodeMessage, encodeMessage } from "@meshwork/raft";
import type { Message } from "@meshwork/raft";
import { parseWithBytes } from "./json-bytes.ts";

const messageTypes = new Set([
  "app",
  "app-resp",
  "vote",
  "pre-vote",
  "vote-resp",
  "pre-vote-resp",
  "heartbeat",
  "heartbeat-resp",
  "snap",
  "timeout-now",
  "read-index",
  "read-index-resp",
  "prop",
  "transfer-leader",
]);

const openBrace = 0x7b;

/** Encodes one Raft message for a StreamRequest / InstallSnapshotRequest. */
export function encodeRaftMessage(message: Message): Uint8Array {
  return encodeMessage(message);
}

/** Decodes one Raft message (binary, or the older JSON form); throws naming what is wrong when the bytes are not one. */
export function decodeRaftMessage(bytes: Uint8Array): Message {
  if (bytes[0] !== openBrace) return decodeMessage(bytes);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  const value = parseWithBytes(text);
  if (typeof value !== "object" || value === null) throw new Error("raft message: not a JSON object");
  const record = value as Record<string, unknown>;
  if (typeof record["type"] !== "string" || !messageTypes.has(record["type"])) throw new Error(`raft message: unknown type ${JSON.stringify(record["type"])}`);
  if (typeof record["from"] !== "string" || typeof record["to"] !== "string" || typeof record["term"] !== "number") {
    throw new Error("raft message: from, to and term are required");
  }
  return value as Message;
}
