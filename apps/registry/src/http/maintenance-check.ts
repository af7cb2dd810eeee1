// Consul's maintenance mode, the same on a server's agent endpoints (agent-routes.ts) and on a
// client agent (agent-mode/): `PUT /v1/agent/maintenance` and `/v1/agent/service/maintenance/<id>`
// with `?enable=` register a critical check `_node_maintenance` / `_service_maintenance:<id>`, which
// takes the node's or the service's instances out of healthy answers, or remove it. Pure.
import type { CheckDefinition } from "../registry-contract.ts";
import { badRequest } from "./http-error.ts";

export const nodeMaintenanceCheckId = "_node_maintenance";
export const serviceMaintenanceCheckPrefix = "_service_maintenance:";

/** The maintenance check's ID: the node's (serviceId undefined) or one service's. */
export function maintenanceCheckId(serviceId: string | undefined): string {
  return serviceId === undefined ? nodeMaintenanceCheckId : `${serviceMaintenanceCheckPrefix}${serviceId}`;
}

/** The critical check maintenance registers, with Consul's names and default note. */
export function maintenanceCheck(serviceId: string | undefined, reason: string): CheckDefinition {
  const what = serviceId === undefined ? "node" : "service";
  return {
    checkId: maintenanceCheckId(serviceId),
    name: serviceId === undefined ? "Node Maintenance Mode" : "Service Maintenance Mode",
    serviceId,
    status: "critical",
    output: reason !== "" ? reason : `Maintenance mode is enabled for this ${what}, but no reason was provided. This is a default message.`,
    type: "serf",
  };
}

/**
 * `?enable=true|false&reason=`: the reason ("" when none) when turning maintenance on, undefined
 * when turning it off. `enable` is read as Go's strconv.ParseBool reads it, as Consul does.
 */
export function maintenanceReason(query: URLSearchParams, usage: string): string | undefined {
  const enable = query.get("enable");
  if (enable === null || enable === "") throw badRequest(`Missing value for enable: ${usage}`);
  if (["1", "t", "T", "TRUE", "true", "True"].includes(enable)) return query.get("reason") ?? "";
  if (["0", "f", "F", "FALSE", "false", "False"].includes(enable)) return undefined;
  throw badRequest(`Invalid value for enable: ${JSON.stringify(enable)}; use true or false`);
}
