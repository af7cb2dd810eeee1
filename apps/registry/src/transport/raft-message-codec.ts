// The wire form of a libs/raft `Message` inside mesh.raft.v1 frames: UTF-8 JSON with byte fields
// (entry data, snapshot data, proposals) as `{"$b64": ...}` (json-bytes.ts). JSON costs about a
// third more bytes than a binary form for entry data; it keeps the format readable and lets
// libs/raft add message fields without a proto change.
import type { Message } from "@meshwork/raft";
import { parseWithBytes, stringifyWithBytes } from "./json-bytes.ts";

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

/** Encodes one Raft message for a StreamRequest / InstallSnapshotRequest. */
export function encodeRaftMessage(message: Message): Uint8Array {
  return Buffer.from(stringifyWithBytes(message), "utf8");
}

/** Decodes one Raft message; throws naming what is wrong when the bytes are not one. */
export function decodeRaftMessage(bytes: Uint8Array): Message {
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
