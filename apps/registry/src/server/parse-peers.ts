// Parses --peers (`id=host:port` entries) into Raft ids and addresses, with errors that name the
// entry and the expected form.

export type ParsePeersResult =
  | { readonly ok: true; readonly peers: ReadonlyMap<string, string> }
  | { readonly ok: false; readonly message: string };

/** `["n1=10.0.0.1:8300", ...]` → id → address; refuses duplicates and entries without a port. */
export function parsePeers(entries: readonly string[]): ParsePeersResult {
  const peers = new Map<string, string>();
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === "") continue;
    const eq = entry.indexOf("=");
    const id = eq < 0 ? "" : entry.slice(0, eq).trim();
    const address = eq < 0 ? "" : entry.slice(eq + 1).trim();
    const colon = address.lastIndexOf(":");
    const port = Number(address.slice(colon + 1));
    if (id === "" || colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
      return { ok: false, message: `invalid --peers entry ${JSON.stringify(entry)}: expected ID=HOST:PORT, e.g. n1=10.0.0.1:8300` };
    }
    if (peers.has(id)) return { ok: false, message: `--peers names ${id} twice: give each member once` };
    peers.set(id, address);
  }
  return { ok: true, peers };
}
