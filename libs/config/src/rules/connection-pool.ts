// Connection pool settings (circuit breaking), as DestinationRule traffic policies and Sidecar
// inbound pools set them.
import type { FieldIssue, FieldPath } from "../field-issue.ts";
import type { ConnectionPoolSettings } from "../schema/destination-rule.ts";
import { checkDuration } from "./durations.ts";

/** Checks connection pool settings found at `path`: not empty, durations Istio accepts, HTTP settings that agree. */
export function checkConnectionPool(pool: ConnectionPoolSettings | undefined, path: FieldPath): FieldIssue[] {
  if (pool === undefined) return [];
  if (pool.tcp === undefined && pool.http === undefined) {
    return [{ path, message: "connectionPool is empty", hint: "set tcp and/or http limits, or remove connectionPool" }];
  }
  const issues: FieldIssue[] = [];
  const { tcp, http } = pool;
  if (tcp !== undefined) {
    issues.push(
      ...checkDuration(tcp.connectTimeout, [...path, "tcp", "connectTimeout"]),
      ...checkDuration(tcp.maxConnectionDuration, [...path, "tcp", "maxConnectionDuration"]),
      // Documented: 0s disables the TCP idle timeout.
      ...checkDuration(tcp.idleTimeout, [...path, "tcp", "idleTimeout"], { allowZero: true }),
      ...checkDuration(tcp.tcpKeepalive?.time, [...path, "tcp", "tcpKeepalive", "time"]),
      ...checkDuration(tcp.tcpKeepalive?.interval, [...path, "tcp", "tcpKeepalive", "interval"]),
    );
  }
  if (http !== undefined) {
    issues.push(...checkDuration(http.idleTimeout, [...path, "http", "idleTimeout"]));
    if (http.h2UpgradePolicy === "UPGRADE" && http.useClientProtocol === true) {
      issues.push({
        name: "ExclusiveFields",
        path: [...path, "http", "useClientProtocol"],
        message: "useClientProtocol: true keeps the client's HTTP version, which contradicts h2UpgradePolicy: UPGRADE",
        hint: "remove one of useClientProtocol and h2UpgradePolicy: UPGRADE",
      });
    }
  }
  return issues;
}
