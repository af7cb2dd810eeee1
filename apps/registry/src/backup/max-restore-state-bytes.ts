// How large a state `PUT /v1/snapshot` can restore: the state travels base64-encoded in ONE Raft
// entry (a `state-restore` command), so the entry must fit where entries go — a follower's `prop`
// to the leader and the leader's appends each travel in one peer-transport batch of at most 64 MiB
// (transport/grpc-raft-transport.ts), and a batch may carry the same entry twice (a resent append).

/** The largest `state-restore` entry: half the transport's 64 MiB message limit, less a margin. */
export const maxRestoreEntryBytes = 30 * 1024 * 1024;

/** The largest state bytes that fit (base64 is 4/3 of them; the entry's JSON around it under 1 KiB). */
export const maxRestoreStateBytes = Math.floor((maxRestoreEntryBytes - 1024) / 4) * 3;
