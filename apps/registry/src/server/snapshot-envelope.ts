// The data of a registry Raft snapshot: the state machine's bytes plus the node's peer address
// book (Raft ids → Raft addresses), so a node restored from a snapshot can still reach members
// whose conf-change entries (which carry their addresses) were compacted away.
//   "MWRS1\n" | u32 BE header length | header JSON {"peers": {...}} | state bytes

const magic = Buffer.from("MWRS1\n", "latin1");

export interface SnapshotEnvelope {
  readonly peers: Readonly<Record<string, string>>;
  readonly state: Uint8Array;
}

/** Wraps state bytes and the address book into snapshot data. */
export function encodeSnapshotEnvelope(envelope: SnapshotEnvelope): Uint8Array {
  return Buffer.concat([encodeSnapshotEnvelopeHead(envelope.peers), envelope.state]);
}

/** The envelope's bytes before the state bytes: snapshot data is this followed by the state's. */
export function encodeSnapshotEnvelopeHead(peers: Readonly<Record<string, string>>): Uint8Array {
  const header = Buffer.from(JSON.stringify({ peers }), "utf8");
  const length = Buffer.alloc(4);
  length.writeUInt32BE(header.length);
  return Buffer.concat([magic, length, header]);
}

/** Unwraps snapshot data; throws naming the problem when it was not written by `encodeSnapshotEnvelope`. */
export function decodeSnapshotEnvelope(data: Uint8Array): SnapshotEnvelope {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.length < magic.length + 4 || !bytes.subarray(0, magic.length).equals(magic)) {
    throw new Error(`registry snapshot data of ${bytes.length} bytes does not start with the MWRS1 envelope: it was not written by this registry version`);
  }
  const headerLength = bytes.readUInt32BE(magic.length);
  const headerStart = magic.length + 4;
  if (headerStart + headerLength > bytes.length) throw new Error("registry snapshot envelope: header runs past the end of the data (truncated snapshot)");
  const header = JSON.parse(bytes.subarray(headerStart, headerStart + headerLength).toString("utf8")) as { peers?: unknown };
  const peers: Record<string, string> = {};
  if (typeof header.peers === "object" && header.peers !== null) {
    for (const [id, address] of Object.entries(header.peers)) if (typeof address === "string") peers[id] = address;
  }
  return { peers, state: bytes.subarray(headerStart + headerLength) };
}
