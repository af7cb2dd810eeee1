// Public entry of @meshwork/gossip: the pure SWIM + Lifeguard membership core, its wire codec,
// keyring and the building blocks its tests and the simulator use.

export { Memberlist } from "./memberlist.ts";
export type {
  DropReason,
  ForceLeaveOutcome,
  GossipEvent,
  GossipStats,
  MemberView,
  MemberlistOptions,
  Outgoing,
  QueryRef,
  Ready,
} from "./memberlist.ts";
export { DEFAULT_GOSSIP_SETTINGS, checkGossipSettings, pushPullInterval } from "./gossip-config.ts";
export type { GossipSettings } from "./gossip-config.ts";
export type { MemberRecord, MemberState, Message, MessageType } from "./message.ts";
export { DEFAULT_CODEC_LIMITS, PROTOCOL_VERSION, decodePacket, encodeMessage, encodePacket } from "./codec.ts";
export type { CodecLimits, DecodeFailure, DecodeResult } from "./codec.ts";
export { ENCRYPTED_PACKET_VERSION, Keyring, SEAL_OVERHEAD, openPacket, sealPacket } from "./keyring.ts";
export type { Cipher, KeyringOutcome, OpenResult } from "./keyring.ts";
export { KeyManager } from "./key-manager.ts";
export type { KeyManagerOptions, KeyQueryCore } from "./key-manager.ts";
export { KEY_QUERY_NAMES, answerKeyQuery, decodeKey, encodeKey, keyOperationOf, tallyKeyResponses } from "./key-queries.ts";
export type { KeyOperation, KeyOperationResult, NodeKeyResponse } from "./key-queries.ts";
export { INTERNAL_QUERY_PREFIX, isInternalQuery } from "./events-and-queries.ts";
export { LamportClock } from "./lamport-clock.ts";
export { Suspicion, remainingSuspicionTime, suspicionTimeout } from "./suspicion.ts";
export type { SuspicionTiming } from "./suspicion.ts";
export { Awareness } from "./awareness.ts";
export { BroadcastQueue, retransmitLimit } from "./broadcast-queue.ts";
