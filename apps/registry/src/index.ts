// Public entry of @meshwork/registry: the server (Raft node, state machine, HTTP API, transport)
// and its durable Raft storage (WAL, snapshots, recovery).
export { DurableStorage } from "./storage/durable-storage.ts";
export type { DurableStorageOptions, ReadyToSave } from "./storage/durable-storage.ts";
export { Wal, WalCorruptionError } from "./storage/wal.ts";
export type { WalOptions } from "./storage/wal.ts";
export { nodeWalFs } from "./storage/wal-fs.ts";
export type { WalFs } from "./storage/wal-fs.ts";
export { crc32c } from "./storage/crc32c.ts";
export { RegistryNode } from "./server/registry-node.ts";
export { startRegistry } from "./server/start-registry.ts";
export { RegistryState } from "./state/registry-state.ts";
export { GrpcRaftTransport } from "./transport/grpc-raft-transport.ts";
export { startHttpApi } from "./http/start-http-api.ts";
export { CheckRunner } from "./agent/check-runner.ts";
export type * from "./registry-contract.ts";
