// Public entry of @meshwork/registry: for now its durable Raft storage (WAL, snapshots, recovery).
export { DurableStorage } from "./storage/durable-storage.ts";
export type { DurableStorageOptions, ReadyToSave } from "./storage/durable-storage.ts";
export { Wal, WalCorruptionError } from "./storage/wal.ts";
export type { WalOptions } from "./storage/wal.ts";
export { nodeWalFs } from "./storage/wal-fs.ts";
export type { WalFs } from "./storage/wal-fs.ts";
export { crc32c } from "./storage/crc32c.ts";
