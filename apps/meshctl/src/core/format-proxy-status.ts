// `meshctl proxy-status` output: one row per connected proxy with the sync state of each resource
// type (SYNCED / STALE / NACKED, or NOT SENT), the config revision its last push was computed from
// and the control-plane replica it is connected to, like `istioctl proxy-status`. Rows come from
// every replica's /debug/syncz.

/** One proxy as /debug/syncz reports it. */
export interface SynczEntry {
  readonly proxy: string;
  readonly namespace: string;
  readonly workload: string;
  readonly kind: string;
  readonly controlPlane: string;
  /** Absent before the replica computed the proxy's first config. */
  readonly revision?: string | undefined;
  readonly state: string;
  readonly types: Readonly<Record<string, { readonly state: string; readonly sentVersion: string; readonly ackedVersion: string; readonly nackError?: string | undefined } | undefined>>;
}

const columns = [
  ["cluster", "CLUSTERS"],
  ["endpoints", "ENDPOINTS"],
  ["listener", "LISTENERS"],
  ["routeTable", "ROUTES"],
  ["trustBundle", "BUNDLE"],
] as const;

/** A fixed-width table, sorted by namespace then proxy; NACK errors listed below it. */
export function formatProxyStatus(entries: readonly SynczEntry[]): string {
  if (entries.length === 0) return "No proxies are connected.\n";
  const sorted = [...entries].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.proxy.localeCompare(b.proxy));
  const header = ["PROXY", "NAMESPACE", "KIND", ...columns.map(([, title]) => title), "REVISION", "CONTROL-PLANE"];
  const rows = sorted.map((e) => [e.proxy, e.namespace, e.kind, ...columns.map(([type]) => e.types[type]?.state ?? "NOT SENT"), e.revision ?? "-", e.controlPlane]);
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: readonly string[]): string => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] as number))).join("  ");
  const out = [line(header), ...rows.map(line)];
  for (const e of sorted) {
    for (const [type, title] of columns) {
      const error = e.types[type]?.nackError;
      if (error !== undefined) out.push(`${e.proxy} rejected ${title.toLowerCase()} version ${e.types[type]?.sentVersion ?? "?"}: ${error}`);
    }
  }
  return `${out.join("\n")}\n`;
}
