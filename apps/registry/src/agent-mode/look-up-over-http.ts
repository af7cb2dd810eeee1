// The client agent's DNS lookups (dns/answer-query.ts's DnsLookup) answered by asking the registry
// servers over their Consul HTTP API, as a Consul client agent asks its servers over RPC for each
// DNS query. Every read is `?stale` (Consul's dns_config.allow_stale, on by default: any server
// answers from its own state, as the servers' DNS does). Nothing is cached (Consul's default,
// dns_config.use_cache off): each query reads afresh.
//   service  GET /v1/health/service/<name>?stale, critical instances and other tags dropped here
//            (not ?passing: that would drop warning instances too, which the servers' DNS answers
//            with — Consul's only_passing off)
//   node     GET /v1/catalog/node/<node>?stale
//   query    GET /v1/query/<name>/execute?stale (404: NXDOMAIN; its DNS.TTL for the answer's TTL)
// DNS names are matched without case and the HTTP API matches with case, so when the lower-cased
// name finds nothing the catalog's names (/v1/catalog/services, /v1/catalog/nodes) are searched
// for it without case, as the servers' DNS does.
import { type DnsFound, type DnsLookup, type DnsTarget, isDnsInstance, queryTtlSeconds } from "../dns/answer-query.ts";
import type { HealthStatus } from "../registry-contract.ts";
import type { RegistryReadAnswer } from "./registry-client.ts";

/** GETs a path of a registry server (RegistryClient.get: failover included; rejects when no server answers). */
export type RegistryGet = (path: string) => Promise<RegistryReadAnswer>;

/** What a lookup found, and the highest X-Consul-Index among the reads behind it (0 when nothing was read). */
export interface HttpLookupResult {
  readonly found: DnsFound;
  readonly index: number;
}

/** A server answered something that is not the Consul JSON asked for: the lookup fails (SERVFAIL). */
export class UnexpectedRegistryAnswerError extends Error {
  constructor(path: string, problem: string) {
    super(`registry server's answer to GET ${path}: ${problem}`);
    this.name = "UnexpectedRegistryAnswerError";
  }
}

/** Answers `lookup` with reads from the registry servers. Rejects when no server answers or an answer is not understood. */
export async function lookUpOverHttp(get: RegistryGet, lookup: DnsLookup): Promise<HttpLookupResult> {
  switch (lookup.kind) {
    case "zone":
      return { found: { kind: "zone" }, index: 0 };
    case "unknown":
      return { found: { kind: "nothing" }, index: 0 };
    case "node":
      return lookUpNode(get, lookup.node);
    case "service":
      return lookUpService(get, lookup.service, lookup.tag);
    case "query":
      return lookUpQuery(get, lookup.query);
  }
}

async function readJson(get: RegistryGet, path: string): Promise<{ json: unknown; index: number; status: number }> {
  const answer = await get(path);
  if (answer.status === 404) return { json: undefined, index: answer.index, status: 404 };
  if (answer.status !== 200) throw new UnexpectedRegistryAnswerError(path, `status ${answer.status}: ${answer.text.trim()}`);
  try {
    return { json: JSON.parse(answer.text) as unknown, index: answer.index, status: 200 };
  } catch {
    throw new UnexpectedRegistryAnswerError(path, "not JSON");
  }
}

async function lookUpService(get: RegistryGet, service: string, tag: string | undefined): Promise<HttpLookupResult> {
  const exact = `/v1/health/service/${encodeURIComponent(service)}?stale`;
  const first = await readJson(get, exact);
  let entries = healthEntries(first.json, exact);
  let index = first.index;
  if (entries.length === 0) {
    const listPath = "/v1/catalog/services?stale";
    const list = await readJson(get, listPath);
    index = Math.max(index, list.index);
    if (!isRecord(list.json)) throw new UnexpectedRegistryAnswerError(listPath, "not an object of service names");
    for (const name of Object.keys(list.json).filter((n) => n !== service && n.toLowerCase() === service)) {
      const path = `/v1/health/service/${encodeURIComponent(name)}?stale`;
      const more = await readJson(get, path);
      index = Math.max(index, more.index);
      entries = [...entries, ...healthEntries(more.json, path)];
    }
  }
  return { found: { kind: "instances", instances: entries.filter((entry) => isDnsInstance(entry, tag)).map((entry) => entry.target) }, index };
}

async function lookUpNode(get: RegistryGet, node: string): Promise<HttpLookupResult> {
  const path = `/v1/catalog/node/${encodeURIComponent(node)}?stale`;
  const exact = await readJson(get, path);
  if (isRecord(exact.json)) {
    const address = exact.json["Node"];
    if (!isRecord(address) || typeof address["Address"] !== "string") throw new UnexpectedRegistryAnswerError(path, "no Node.Address");
    return { found: { kind: "node", address: address["Address"] }, index: exact.index };
  }
  const listPath = "/v1/catalog/nodes?stale";
  const list = await readJson(get, listPath);
  if (!Array.isArray(list.json)) throw new UnexpectedRegistryAnswerError(listPath, "not an array of nodes");
  const match = list.json.find((n): n is Record<string, unknown> => isRecord(n) && typeof n["Node"] === "string" && n["Node"].toLowerCase() === node);
  const index = Math.max(exact.index, list.index);
  if (match === undefined || typeof match["Address"] !== "string") return { found: { kind: "nothing" }, index };
  return { found: { kind: "node", address: match["Address"] }, index };
}

async function lookUpQuery(get: RegistryGet, query: string): Promise<HttpLookupResult> {
  const path = `/v1/query/${encodeURIComponent(query)}/execute?stale`;
  const answer = await readJson(get, path);
  // Consul: an unknown query and a query without instances are both NXDOMAIN.
  if (answer.status === 404) return { found: { kind: "nothing" }, index: answer.index };
  if (!isRecord(answer.json)) throw new UnexpectedRegistryAnswerError(path, "not a query execution");
  const dns = answer.json["DNS"];
  const ttl = isRecord(dns) && typeof dns["TTL"] === "string" ? dns["TTL"] : "";
  const instances = healthEntries(answer.json["Nodes"] ?? [], path).map((entry) => entry.target);
  return { found: { kind: "instances", instances, ttlSeconds: queryTtlSeconds(ttl) }, index: answer.index };
}

interface HealthEntry {
  readonly target: DnsTarget;
  readonly tags: readonly string[];
  readonly checks: readonly { readonly status: HealthStatus }[];
}

const statuses: readonly string[] = ["passing", "warning", "critical"];

/** CheckServiceNodes (/v1/health/service, a query execution's Nodes) reduced to what DNS needs. */
function healthEntries(json: unknown, path: string): HealthEntry[] {
  if (!Array.isArray(json)) throw new UnexpectedRegistryAnswerError(path, "not an array of health entries");
  return json.map((entry: unknown) => {
    const node = isRecord(entry) ? entry["Node"] : undefined;
    const service = isRecord(entry) ? entry["Service"] : undefined;
    const checks = isRecord(entry) ? entry["Checks"] : undefined;
    if (!isRecord(node) || !isRecord(service) || typeof node["Node"] !== "string" || typeof node["Address"] !== "string" || typeof service["Port"] !== "number") {
      throw new UnexpectedRegistryAnswerError(path, "an entry without Node.Node, Node.Address or Service.Port");
    }
    const serviceAddress = typeof service["Address"] === "string" ? service["Address"] : "";
    const tags = Array.isArray(service["Tags"]) ? service["Tags"].filter((t): t is string => typeof t === "string") : [];
    const checkStatuses = (Array.isArray(checks) ? checks : []).map((check: unknown) => {
      const status = isRecord(check) ? check["Status"] : undefined;
      // An unknown status counts as critical: DNS must not answer with an instance it cannot tell is healthy.
      return { status: typeof status === "string" && statuses.includes(status) ? (status as HealthStatus) : ("critical" as const) };
    });
    return { target: { node: node["Node"], address: serviceAddress !== "" ? serviceAddress : node["Address"], port: service["Port"] }, tags, checks: checkStatuses };
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
