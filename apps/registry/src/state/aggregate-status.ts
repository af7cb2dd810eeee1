// Consul's aggregation of health checks into one status (`/v1/health/...?passing`, DNS answers).
import type { HealthStatus } from "../registry-contract.ts";

/**
 * The worst of `checks`' statuses: critical > warning > passing; passing when there are none
 * (Consul's `HealthChecks.AggregatedStatus`, where no checks means healthy).
 */
export function aggregateStatus(checks: readonly { readonly status: HealthStatus }[]): HealthStatus {
  let worst: HealthStatus = "passing";
  for (const check of checks) {
    if (check.status === "critical") return "critical";
    if (check.status === "warning") worst = "warning";
  }
  return worst;
}
