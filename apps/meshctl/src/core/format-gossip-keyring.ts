// What `meshctl registry keyring list` prints: each gossip pool's installed keys with how many
// members hold each and use it as primary, parsed from GET /v1/operator/keyring (Consul's
// KeyringResponse list; `consul keyring -list` prints the same counts as "KEY [n/N]").

/** One pool of the answer. */
export interface KeyringPoolView {
  readonly datacenter: string;
  readonly wan: boolean;
  readonly numNodes: number;
  /** Base64 key → members holding it, and members encrypting with it. */
  readonly keys: readonly { readonly key: string; readonly installed: number; readonly primary: number }[];
  /** Per member: why it failed or did not answer. */
  readonly messages: readonly { readonly node: string; readonly message: string }[];
}

type Fields = Record<string, unknown>;
const isFields = (value: unknown): value is Fields => typeof value === "object" && value !== null && !Array.isArray(value);
const counts = (value: unknown): Record<string, number> =>
  isFields(value) ? Object.fromEntries(Object.entries(value).filter((entry): entry is [string, number] => typeof entry[1] === "number")) : {};

/** GET /v1/operator/keyring's body; undefined when it is not a list of keyring pools. */
export function parseKeyringPools(body: unknown): KeyringPoolView[] | undefined {
  if (!Array.isArray(body) || !body.every((pool) => isFields(pool) && typeof pool.Datacenter === "string" && isFields(pool.Keys))) return undefined;
  return (body as Fields[]).map((pool) => {
    const installed = counts(pool.Keys);
    const primary = counts(pool.PrimaryKeys);
    const messages = isFields(pool.Messages) ? Object.entries(pool.Messages).map(([node, message]) => ({ node, message: String(message) })) : [];
    return {
      datacenter: String(pool.Datacenter),
      wan: pool.WAN === true,
      numNodes: typeof pool.NumNodes === "number" ? pool.NumNodes : 0,
      // Primary key first, then by how many members hold it: the order a rotation reads in.
      keys: Object.keys(installed)
        .map((key) => ({ key, installed: installed[key] ?? 0, primary: primary[key] ?? 0 }))
        .sort((a, b) => b.primary - a.primary || b.installed - a.installed || a.key.localeCompare(b.key)),
      messages: messages.sort((a, b) => a.node.localeCompare(b.node)),
    };
  });
}

/** A table per pool: KEY, INSTALLED n/N, PRIMARY n/N; then any member messages. */
export function formatKeyringPools(pools: readonly KeyringPoolView[]): string {
  const out: string[] = [];
  for (const pool of pools) {
    out.push(`${pool.datacenter} (${pool.wan ? "WAN" : "LAN"}), ${pool.numNodes} member${pool.numNodes === 1 ? "" : "s"}:`);
    const rows = [["KEY", "INSTALLED", "PRIMARY"], ...pool.keys.map((k) => [k.key, `${k.installed}/${pool.numNodes}`, `${k.primary}/${pool.numNodes}`])];
    const widths = [0, 1].map((i) => Math.max(...rows.map((row) => (row[i] as string).length)));
    for (const row of rows) out.push(`  ${(row[0] as string).padEnd(widths[0] as number)}  ${(row[1] as string).padEnd(widths[1] as number)}  ${row[2] as string}`);
    for (const { node, message } of pool.messages) out.push(`  ${node}: ${message}`);
  }
  return `${out.join("\n")}\n`;
}
