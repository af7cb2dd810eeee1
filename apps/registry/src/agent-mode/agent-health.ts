// Consul's local service health (GET /v1/agent/health/service/id/<id> and .../name/<name>): the
// worst status of a service's checks and of its node's checks, as this agent has them, with the HTTP
// code a load balancer reads (200 passing, 429 warning, 503 critical or maintenance, 404 unknown).
// Pure: the agent's checks in, Consul's answer out (agent/agent_endpoint.go, api.HealthChecks.AggregatedStatus).
import { type ApiResponse, jsonResponse, textResponse } from "../http/api-context.ts";
import { type Json, encodeCheck, encodeService } from "../http/consul-encode.ts";
import type { ServiceDefinition } from "../registry-contract.ts";
import { nodeMaintenanceCheckId, serviceMaintenanceCheckPrefix } from "../http/maintenance-check.ts";
import type { AgentCheck } from "./registry-agent.ts";

export type AggregatedStatus = "passing" | "warning" | "critical" | "maintenance";

/** Consul's AggregatedStatus: maintenance over critical over warning over passing; no checks is passing. */
export function aggregatedStatus(checks: readonly AgentCheck[]): AggregatedStatus {
  let worst: AggregatedStatus = "passing";
  for (const { check } of checks) {
    if (check.checkId === nodeMaintenanceCheckId || check.checkId.startsWith(serviceMaintenanceCheckPrefix)) return "maintenance";
    if (check.status === "critical") worst = "critical";
    else if (check.status === "warning" && worst === "passing") worst = "warning";
  }
  return worst;
}

/** The HTTP code of an aggregated status (Consul: passing 200, warning 429, anything else 503). */
export function healthCode(status: AggregatedStatus): number {
  return status === "passing" ? 200 : status === "warning" ? 429 : 503;
}

export interface LocalHealthInput {
  readonly node: string;
  readonly datacenter: string;
  readonly services: readonly ServiceDefinition[];
  readonly checks: readonly AgentCheck[];
  /** `?format=text` (or Accept: text/plain): the status alone. */
  readonly text: boolean;
}

function serviceInfo(input: LocalHealthInput, service: ServiceDefinition): { status: AggregatedStatus; info: Json } {
  // The service's checks and the node's: node maintenance takes every service out.
  const checks = input.checks.filter(({ check }) => check.serviceId === service.id || check.serviceId === undefined);
  const status = aggregatedStatus(checks);
  return {
    status,
    info: {
      AggregatedStatus: status,
      Service: encodeService(service, input.datacenter),
      Checks: checks.map(({ check }) => encodeCheck({ ...check, node: input.node }, check.serviceId === service.id ? service : undefined)),
    },
  };
}

/** `GET /v1/agent/health/service/id/<id>`. */
export function serviceHealthById(input: LocalHealthInput, id: string): ApiResponse {
  const service = input.services.find((s) => s.id === id);
  if (service === undefined) {
    const reason = `ServiceId ${id} not found`;
    return input.text ? textResponse(404, reason) : jsonResponse({ AggregatedStatus: "critical", Service: null, Checks: null }, {}, 404);
  }
  const { status, info } = serviceInfo(input, service);
  return input.text ? textResponse(healthCode(status), status) : jsonResponse(info, {}, healthCode(status));
}

/** `GET /v1/agent/health/service/name/<name>`: every instance of the name here; the code is the worst one's. */
export function serviceHealthByName(input: LocalHealthInput, name: string): ApiResponse {
  let code = 404;
  let status = `ServiceName ${name} Not Found`;
  const out: Json[] = [];
  for (const service of input.services.filter((s) => s.service === name)) {
    const one = serviceInfo(input, service);
    out.push(one.info);
    const oneCode = healthCode(one.status);
    // Consul keeps the worst: passing 200 < warning 429 < critical 503.
    if (code === 404 || oneCode > code) {
      code = oneCode;
      status = one.status;
    }
  }
  return input.text ? textResponse(code, status) : jsonResponse(out, {}, code);
}
