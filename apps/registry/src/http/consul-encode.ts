// The registry's state in Consul's JSON shapes (structs.DirEntry, Session, Node, ServiceNode,
// CheckServiceNode, HealthCheck, AgentService, PreparedQuery, UserEvent), field for field, PascalCase.
import type { UserEvent } from "../events/user-event.ts";
import type { CatalogNode, CheckDefinition, KvEntry, ServiceDefinition, ServiceInstance, SessionInfo, StoredPreparedQuery } from "../registry-contract.ts";
import { formatDurationMs } from "./consul-duration.ts";

export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json | undefined };

type InstanceCheck = ServiceInstance["checks"][number];
type InstanceService = ServiceInstance["service"];

/** A KV entry (GET /v1/kv, txn results). Value is base64, null when empty; Session only when locked. */
export function encodeKvEntry(entry: KvEntry): Json {
  return {
    LockIndex: entry.lockIndex,
    Key: entry.key,
    Flags: entry.flags,
    Value: entry.valueBase64 !== undefined ? entry.valueBase64 || null : entry.value.length === 0 ? null : Buffer.from(entry.value).toString("base64"),
    ...(entry.session === undefined ? {} : { Session: entry.session }),
    CreateIndex: entry.createIndex,
    ModifyIndex: entry.modifyIndex,
  };
}

/** A session (GET /v1/session/info, list, renew). LockDelay is in nanoseconds, TTL a Go duration or "". */
export function encodeSession(session: SessionInfo): Json {
  return {
    ID: session.id,
    Name: session.name,
    Node: session.node,
    LockDelay: session.lockDelayMs * 1e6,
    Behavior: session.behavior,
    TTL: session.ttlMs === 0 ? "" : formatDurationMs(session.ttlMs),
    NodeChecks: [...session.checks],
    ServiceChecks: null,
    CreateIndex: session.createIndex,
    ModifyIndex: session.createIndex,
  };
}

function taggedAddresses(address: string): Json {
  return { lan: address, lan_ipv4: address, wan: address, wan_ipv4: address };
}

/** A node (GET /v1/catalog/nodes, and the Node of a health entry). */
export function encodeNode(node: CatalogNode, datacenter: string): Json {
  return {
    ID: "",
    Node: node.node,
    Address: node.address,
    Datacenter: datacenter,
    TaggedAddresses: taggedAddresses(node.address),
    Meta: { ...node.meta },
    CreateIndex: node.createIndex,
    ModifyIndex: node.modifyIndex,
  };
}

const defaultWeights = { Passing: 1, Warning: 1 };

/** A service of the catalog (GET /v1/catalog/service/:name): node fields flattened with Service* ones. */
export function encodeCatalogService(instance: ServiceInstance, datacenter: string): Json {
  const { node, service } = instance;
  return {
    ID: "",
    Node: node.node,
    Address: node.address,
    Datacenter: datacenter,
    TaggedAddresses: taggedAddresses(node.address),
    NodeMeta: { ...node.meta },
    ServiceKind: "",
    ServiceID: service.id,
    ServiceName: service.service,
    ServiceTags: [...service.tags],
    ServiceAddress: service.address,
    ServiceWeights: defaultWeights,
    ServiceMeta: { ...service.meta },
    ServicePort: service.port,
    ServiceEnableTagOverride: false,
    // No Connect here: the empty proxy/connect blocks Consul gives a plain service.
    ServiceProxy: { DestinationServiceName: "", DestinationServiceID: "", LocalServiceAddress: "", LocalServicePort: 0, Mode: "", Config: null, Upstreams: null, MeshGateway: {}, Expose: {} },
    ServiceConnect: { Native: false, Proxy: null },
    CreateIndex: service.createIndex,
    ModifyIndex: service.modifyIndex,
  };
}

/** A service as the agent and the health endpoints show it (AgentService / NodeService). */
export function encodeService(service: ServiceDefinition | InstanceService, datacenter: string): Json {
  return {
    ID: service.id,
    Service: service.service,
    Tags: [...service.tags],
    Address: service.address,
    Meta: { ...service.meta },
    Port: service.port,
    Weights: defaultWeights,
    EnableTagOverride: false,
    Datacenter: datacenter,
    ...("createIndex" in service ? { CreateIndex: service.createIndex, ModifyIndex: service.modifyIndex } : {}),
  };
}

/** Consul's `Type` of a check: "" for checks nobody runs (serfHealth-like). */
function checkType(check: CheckDefinition): string {
  return check.type === "serf" ? "" : check.type;
}

function checkDefinition(check: CheckDefinition): Json {
  return {
    ...(check.http === undefined ? {} : { HTTP: check.http }),
    ...(check.tcp === undefined ? {} : { TCP: check.tcp }),
    ...(check.grpc === undefined ? {} : { GRPC: check.grpc }),
    ...(check.intervalMs === undefined ? {} : { Interval: formatDurationMs(check.intervalMs) }),
    ...(check.timeoutMs === undefined ? {} : { Timeout: formatDurationMs(check.timeoutMs) }),
    ...(check.ttlMs === undefined ? {} : { TTL: formatDurationMs(check.ttlMs) }),
    ...(check.deregisterCriticalAfterMs === undefined ? {} : { DeregisterCriticalServiceAfter: formatDurationMs(check.deregisterCriticalAfterMs) }),
  };
}

/** A health check (GET /v1/health/*, /v1/agent/checks). `service` names the check's service, if any. */
export function encodeCheck(check: CheckDefinition & { readonly node: string; readonly createIndex?: number; readonly modifyIndex?: number }, service: ServiceDefinition | undefined): Json {
  return {
    Node: check.node,
    CheckID: check.checkId,
    Name: check.name,
    Status: check.status,
    Notes: "",
    Output: check.output,
    ServiceID: check.serviceId ?? "",
    ServiceName: service?.service ?? "",
    ServiceTags: service === undefined ? [] : [...service.tags],
    Type: checkType(check),
    Interval: check.intervalMs === undefined ? "" : formatDurationMs(check.intervalMs),
    Timeout: check.timeoutMs === undefined ? "" : formatDurationMs(check.timeoutMs),
    Definition: checkDefinition(check),
    ...(check.createIndex === undefined ? {} : { CreateIndex: check.createIndex, ModifyIndex: check.modifyIndex ?? check.createIndex }),
  };
}

/** One entry of GET /v1/health/service/:name (CheckServiceNode). */
export function encodeHealthEntry(instance: ServiceInstance, datacenter: string): Json {
  return {
    Node: encodeNode(instance.node, datacenter),
    Service: encodeService(instance.service, datacenter),
    Checks: instance.checks.map((check) => encodeCheck(check, check.serviceId === instance.service.id ? instance.service : undefined)),
  };
}

/** The aggregate status of checks as Consul's `?passing` sees it: any non-passing check excludes. */
export function isPassing(checks: readonly InstanceCheck[]): boolean {
  return checks.every((check) => check.status === "passing");
}

/** Go's JSON of a nil slice or map is null; we keep no difference between absent and empty, so both are null. */
function listOrNull(items: readonly string[]): Json {
  return items.length === 0 ? null : [...items];
}

function mapOrNull(record: Readonly<Record<string, string>>): Json {
  return Object.keys(record).length === 0 ? null : { ...record };
}

/**
 * A prepared query (GET /v1/query, /v1/query/:id, the Query of /explain): structs.PreparedQuery
 * with its RaftIndex flattened into CreateIndex / ModifyIndex, as Consul's JSON has it.
 */
export function encodePreparedQuery(query: StoredPreparedQuery): Json {
  const { service } = query;
  return {
    ID: query.id,
    Name: query.name,
    Session: query.session,
    Token: query.token,
    Template: { Type: query.template.type, Regexp: query.template.regexp, RemoveEmptyTags: query.template.removeEmptyTags },
    Service: {
      Service: service.service,
      Failover: { NearestN: service.failover.nearestN, Datacenters: listOrNull(service.failover.datacenters), Targets: null },
      OnlyPassing: service.onlyPassing,
      IgnoreCheckIDs: listOrNull(service.ignoreCheckIds),
      Near: service.near,
      Tags: listOrNull(service.tags),
      NodeMeta: mapOrNull(service.nodeMeta),
      ServiceMeta: mapOrNull(service.serviceMeta),
      Peer: "",
      SamenessGroup: "",
      Connect: false,
    },
    DNS: { TTL: query.dns.ttl },
    CreateIndex: query.createIndex,
    ModifyIndex: query.modifyIndex,
  };
}

/** GET /v1/query/:id/execute (structs.PreparedQueryExecuteResponse). */
export function encodeQueryExecution(execution: { readonly service: string; readonly instances: readonly ServiceInstance[]; readonly failovers: number }, dnsTtl: string, datacenter: string): Json {
  return {
    Service: execution.service,
    Nodes: execution.instances.map((instance) => encodeHealthEntry(instance, datacenter)),
    DNS: { TTL: dnsTtl },
    Datacenter: datacenter,
    Failovers: execution.failovers,
  };
}

/** A user event (PUT /v1/event/fire, GET /v1/event/list): Payload base64, null when empty. */
export function encodeUserEvent(event: UserEvent): Json {
  return {
    ID: event.id,
    Name: event.name,
    Payload: event.payload.length === 0 ? null : Buffer.from(event.payload).toString("base64"),
    NodeFilter: event.nodeFilter,
    ServiceFilter: event.serviceFilter,
    TagFilter: event.tagFilter,
    Version: event.version,
    LTime: event.ltime,
  };
}
