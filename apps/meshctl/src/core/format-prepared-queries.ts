// The tables `meshctl registry query list|execute` print: prepared queries (GET /v1/query) and
// the instances an execution selected (GET /v1/query/:id/execute), parsed from Consul's JSON.

/** A prepared query as `list` shows it. */
export interface PreparedQueryRow {
  readonly id: string;
  readonly name: string;
  readonly service: string;
  readonly template: boolean;
  readonly tags: readonly string[];
  readonly onlyPassing: boolean;
  readonly session: string;
  readonly dnsTtl: string;
}

/** One instance of an execution. */
export interface ExecutedInstance {
  readonly node: string;
  readonly address: string;
  readonly port: number;
  readonly serviceId: string;
  readonly tags: readonly string[];
}

export interface QueryExecutionView {
  readonly service: string;
  readonly datacenter: string;
  readonly failovers: number;
  readonly dnsTtl: string;
  readonly instances: readonly ExecutedInstance[];
}

type Fields = Record<string, unknown>;
const isFields = (value: unknown): value is Fields => typeof value === "object" && value !== null && !Array.isArray(value);
const text = (value: unknown): string => (typeof value === "string" ? value : "");
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : []);

/** GET /v1/query's body; undefined when it is not a list of prepared queries. */
export function parsePreparedQueries(body: unknown): PreparedQueryRow[] | undefined {
  if (!Array.isArray(body)) return undefined;
  const rows: PreparedQueryRow[] = [];
  for (const item of body as unknown[]) {
    if (!isFields(item) || typeof item["ID"] !== "string" || !isFields(item["Service"])) return undefined;
    const service = item["Service"];
    rows.push({
      id: item["ID"],
      name: text(item["Name"]),
      service: text(service["Service"]),
      template: isFields(item["Template"]) && text(item["Template"]["Type"]) !== "",
      tags: strings(service["Tags"]),
      onlyPassing: service["OnlyPassing"] === true,
      session: text(item["Session"]),
      dnsTtl: isFields(item["DNS"]) ? text(item["DNS"]["TTL"]) : "",
    });
  }
  return rows;
}

/** GET /v1/query/:id/execute's body; undefined when it is not an execution. */
export function parseQueryExecution(body: unknown): QueryExecutionView | undefined {
  if (!isFields(body) || !Array.isArray(body["Nodes"])) return undefined;
  const instances: ExecutedInstance[] = [];
  for (const entry of body["Nodes"] as unknown[]) {
    if (!isFields(entry) || !isFields(entry["Node"]) || !isFields(entry["Service"])) return undefined;
    const node = entry["Node"];
    const service = entry["Service"];
    const address = text(service["Address"]) !== "" ? text(service["Address"]) : text(node["Address"]);
    instances.push({ node: text(node["Node"]), address, port: typeof service["Port"] === "number" ? service["Port"] : 0, serviceId: text(service["ID"]), tags: strings(service["Tags"]) });
  }
  return {
    service: text(body["Service"]),
    datacenter: text(body["Datacenter"]),
    failovers: typeof body["Failovers"] === "number" ? body["Failovers"] : 0,
    dnsTtl: isFields(body["DNS"]) ? text(body["DNS"]["TTL"]) : "",
    instances,
  };
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
  return `${rows.map((row) => row.map((cell, column) => (column < row.length - 1 ? cell.padEnd((widths[column] ?? 0) + 2) : cell)).join("").trimEnd()).join("\n")}\n`;
}

/** Columns ID, NAME ("-" when anonymous), SERVICE, KIND (static / template), TAGS, ONLY-PASSING, DNS-TTL. */
export function formatPreparedQueries(rows: readonly PreparedQueryRow[]): string {
  if (rows.length === 0) return "No prepared queries.\n";
  return table([
    ["ID", "NAME", "SERVICE", "KIND", "TAGS", "ONLY-PASSING", "DNS-TTL"],
    ...rows.map((row) => [row.id, row.name === "" ? "-" : row.name, row.service, row.template ? "template" : "static", row.tags.join(",") || "-", row.onlyPassing ? "yes" : "no", row.dnsTtl || "-"]),
  ]);
}

/** A summary line, then columns NODE, ADDRESS, PORT, SERVICE-ID, TAGS. */
export function formatQueryExecution(view: QueryExecutionView): string {
  const summary = `Service ${view.service}: ${view.instances.length} instance${view.instances.length === 1 ? "" : "s"} (datacenter ${view.datacenter}, failovers ${view.failovers}, DNS TTL ${view.dnsTtl || "default"})\n`;
  if (view.instances.length === 0) return summary;
  return summary + table([["NODE", "ADDRESS", "PORT", "SERVICE-ID", "TAGS"], ...view.instances.map((i) => [i.node, i.address, String(i.port), i.serviceId, i.tags.join(",") || "-"])]);
}
