// Maps a request path of the Consul HTTP API to a bounded metric label (the endpoint family), so
// keys, service names and ids never become label values.

const families = new Set(["kv", "txn", "session", "catalog", "health", "agent", "status", "operator"]);

/**
 * `/v1/kv/a/b` → "kv", `/v1/catalog/service/web` → "catalog/service", `/v1/health/service/web` →
 * "health/service", `/v1/agent/check/pass/x` → "agent/check"; anything else → "other".
 */
export function endpointFamily(path: string): string {
  const parts = path.split("/");
  if (parts[0] !== "" || parts[1] !== "v1") return "other";
  const group = parts[2] ?? "";
  if (!families.has(group)) return "other";
  if (group === "kv" || group === "txn") return group;
  const verb = parts[3] ?? "";
  return /^[a-z-]+$/.test(verb) ? `${group}/${verb}` : group;
}
