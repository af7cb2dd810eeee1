// The X-Consul-Index of `/v1/event/list` (Consul's uuidToUint64 in agent/event_endpoint.go):
// events have no Raft index, so Consul folds the newest listed event's UUID into 64 bits — the
// first 16 hex digits XOR the last 16. Not monotonic: a blocking list waits until it differs.

/** The 64-bit index of event id `uuid` (8-4-4-4-12 hex). */
export function eventIndex(uuid: string): bigint {
  const lower = uuid.slice(0, 8) + uuid.slice(9, 13) + uuid.slice(14, 18);
  const upper = uuid.slice(19, 23) + uuid.slice(24, 36);
  if (!/^[0-9a-fA-F]{16}$/.test(lower) || !/^[0-9a-fA-F]{16}$/.test(upper)) throw new Error(`eventIndex: ${JSON.stringify(uuid)} is not a UUID`);
  return BigInt(`0x${lower}`) ^ BigInt(`0x${upper}`);
}
