// Public entry of @meshwork/raft: a pure Raft core in the shape of etcd-io/raft. The driver ticks
// it, steps messages into it, persists/sends/applies each Ready and advances; see RawNode.
export { nodeId, term, logIndex } from "./ids.ts";
export type { NodeId, Term, LogIndex } from "./ids.ts";
export {
  emptyConfState,
  emptyHardState,
  entryOverheadBytes,
  entrySizeBytes,
  isEmptyHardState,
  isSameHardState,
} from "./entry.ts";
export type { ConfState, Entry, EntryType, HardState, Snapshot, SnapshotMetadata } from "./entry.ts";
export { applyConfChange, checkConfChange, decodeConfChange, encodeConfChange, isMember } from "./conf-change.ts";
export type { ConfChange, ConfChangeRejection, ConfChangeType } from "./conf-change.ts";
export { isResponseToPersist } from "./message.ts";
export { decodeMessage, encodeMessage, MessageDecodeError, messageCodecVersion } from "./message-codec.ts";
export type {
  AppendMessage,
  AppendResponse,
  HeartbeatMessage,
  HeartbeatResponse,
  Message,
  MessageType,
  ProposalMessage,
  ReadIndexRequest,
  ReadIndexResponse,
  SnapshotMessage,
  TimeoutNowMessage,
  TransferLeaderMessage,
  VoteRequest,
  VoteResponse,
} from "./message.ts";
export type { InitialState, Storage } from "./storage.ts";
export { MemoryStorage } from "./memory-storage.ts";
export { bootstrapCluster } from "./bootstrap.ts";
export type { Bootstrap } from "./bootstrap.ts";
export type { MemoryStorageOptions, MemoryStorageRejection, MemoryStorageResult } from "./memory-storage.ts";
export { committedIndex, quorumSize, voteResult } from "./quorum.ts";
export type { VoteResult } from "./quorum.ts";
export type { ProgressState } from "./progress.ts";
export { resolveRaftConfig } from "./raft-config.ts";
export type { RaftConfig, RaftConfigProblem, RaftConfigResult, RaftLogger, ReadOnlyOption, ResolvedRaftConfig } from "./raft-config.ts";
export type { ProposeRejection, ProposeResult, ReadIndexResult, ReadState, TransferRejection, TransferResult } from "./outcomes.ts";
export type { ProgressStatus, RaftState, SoftState, Status } from "./status.ts";
export { RawNode, createRawNode } from "./raw-node.ts";
export type { Ready } from "./raw-node.ts";
export { describeConfChange, describeConfState, describeData, describeEntry, describeHardState, describeMessage, describeReady } from "./describe.ts";
