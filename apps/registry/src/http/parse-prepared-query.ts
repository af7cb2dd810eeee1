// The body of `POST /v1/query` and `PUT /v1/query/:id` (Consul's structs.PreparedQuery) parsed
// into a PreparedQueryDefinition, checked as Consul's PreparedQuery.Apply checks it before Raft
// (parseQuery). A body that is not the right JSON is a 400 "Request decode failed: …"; a query
// Consul would refuse is a 500 "Invalid prepared query: …" with Consul's text, as Consul answers
// errors of its RPC (clients match on those texts), followed by what to do.
import { NAME_PREFIX_MATCH } from "../queries/compile-query-template.ts";
import type { PreparedQueryDefinition } from "../registry-contract.ts";
import { parseDurationMs } from "./consul-duration.ts";
import { HttpError, badRequest } from "./http-error.ts";
import { JsonFields } from "./json-fields.ts";

/** What Consul shows instead of a query's token to those who may not see it. */
export const REDACTED_TOKEN = "<hidden>";

function invalid(what: string): HttpError {
  return new HttpError(500, `Invalid prepared query: ${what}`);
}

/** Fields of Consul's ServiceQuery we cannot honour; refused rather than silently ignored. */
function refuseUnsupported(service: JsonFields, failover: JsonFields | undefined): void {
  if (service.boolean("Connect") === true) throw badRequest("Service.Connect is not supported: the registry has no Connect-capable (sidecar proxy) registrations; leave it false");
  for (const field of ["Peer", "SamenessGroup"]) {
    if ((service.string(field) ?? "") !== "") throw badRequest(`Service.${field} is not supported: the registry has no cluster peering; leave it empty`);
  }
  for (const field of ["Namespace", "Partition"]) {
    const value = service.string(field) ?? "";
    if (value !== "" && value !== "default") throw badRequest(`Service.${field} "${value}" is not supported: the registry has only the default ${field.toLowerCase()}; leave it empty`);
  }
  if ((failover?.objects("Targets") ?? []).length > 0) throw badRequest("Service.Failover.Targets is not supported: there is one datacenter and no peers to fail over to; use Failover.Datacenters or leave it empty");
}

/**
 * The query of a create (`id` made by the caller; the body may not carry one) or an update (`id`
 * from the URL, any ID in the body ignored, as Consul). Throws HttpError.
 */
export function parsePreparedQuery(body: unknown, options: { readonly id: string; readonly create: boolean }): PreparedQueryDefinition {
  const fields = new JsonFields(body, "the prepared query");
  if (options.create && (fields.string("ID") ?? "") !== "") {
    throw new HttpError(500, "ID must be empty when creating a new prepared query: leave ID out (the registry makes one), or PUT /v1/query/<id> to update");
  }
  const template = fields.object("Template");
  const service = fields.object("Service");
  const failover = service?.object("Failover");
  if (service !== undefined) refuseUnsupported(service, failover);
  const type = template?.string("Type") ?? "";
  const query: PreparedQueryDefinition = {
    id: options.id,
    name: fields.string("Name") ?? "",
    session: fields.string("Session") ?? "",
    token: fields.string("Token") ?? "",
    template: { type: type as PreparedQueryDefinition["template"]["type"], regexp: template?.string("Regexp") ?? "", removeEmptyTags: template?.boolean("RemoveEmptyTags") ?? false },
    service: {
      service: service?.string("Service") ?? "",
      failover: { nearestN: failover?.number("NearestN") ?? 0, datacenters: failover?.strings("Datacenters") ?? [] },
      onlyPassing: service?.boolean("OnlyPassing") ?? false,
      ignoreCheckIds: service?.strings("IgnoreCheckIDs") ?? [],
      near: service?.string("Near") ?? "",
      tags: service?.strings("Tags") ?? [],
      nodeMeta: service?.stringMap("NodeMeta") ?? {},
      serviceMeta: service?.stringMap("ServiceMeta") ?? {},
    },
    dns: { ttl: fields.object("DNS")?.string("TTL") ?? "" },
  };
  // Consul's parseQuery, in its order.
  if (query.name === "" && query.template.type === "" && query.session === "") {
    throw invalid("Must be bound to a session: give the query a Name, a Session (it is deleted with the session) or make it a Template");
  }
  if (query.token === REDACTED_TOKEN) throw invalid(`Bad Token '${REDACTED_TOKEN}', it looks like a query definition with a redacted token was submitted`);
  if (query.service.service === "") throw invalid("Must provide a Service name to query: set Service.Service");
  const { nearestN } = query.service.failover;
  if (!Number.isSafeInteger(nearestN)) throw badRequest(`Request decode failed: the prepared query.Service.Failover.NearestN must be an integer, got ${nearestN}`);
  if (nearestN < 0) throw invalid(`Bad NearestN '${nearestN}', must be >= 0`);
  if (query.dns.ttl !== "") checkDnsTtl(query.dns.ttl);
  // Consul checks the type later, when its state store compiles the template; the command here
  // carries only the known type, so the same refusal is made before Raft.
  if (type !== "" && type !== NAME_PREFIX_MATCH) throw new HttpError(500, `failed compiling template: Bad Template.Type '${type}': use "${NAME_PREFIX_MATCH}"`);
  return query;
}

/** Go's time.ParseDuration accepts no bare number but 0; a negative TTL parses but Consul refuses it. */
function checkDnsTtl(ttl: string): void {
  const bad = (why: string): HttpError => invalid(`Bad DNS TTL '${ttl}': ${why}; use a Go duration such as "10s" or "1m"`);
  if (ttl.trim().startsWith("-")) throw invalid(`DNS TTL '${ttl}', must be >=0`);
  if (/^\d+(\.\d+)?$/.test(ttl.trim()) && Number(ttl) !== 0) throw bad(`time: missing unit in duration "${ttl}"`);
  try {
    parseDurationMs(ttl, "DNS.TTL");
  } catch {
    throw bad(`time: invalid duration "${ttl}"`);
  }
}
