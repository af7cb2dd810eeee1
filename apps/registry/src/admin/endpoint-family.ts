// Maps a request path of the Consul HTTP API to a bounded metric label (the endpoint family), so
// keys, service names and ids never become label values.

const families = new Set(["kv", "txn", "session", "catalog", "health", "agent", "status", "operator", "snapshot", "query", "event"]);

/**
 * `/v1/kv/a/b` → "kv", `/v1/catalog/service/web` → "catalog/service", `/v1/health/service/web` →
 * "health/service", `/v1/agent/check/pass/x` → "agent/check", `/v1/query/<id or name>/execute` →
 * "query/execute" (a query's name is data: only execute and explain are kept), `/v1/event/fire/x`
 * → "event/fire"; anything else → "other".
 */
export function endpointFamily(path: string): string {
  const parts = path.split("/");
  if (parts[0] !== "" || parts[1] !== "v1") return "other";
  const group = parts[2] ?? "";
  if (!families.has(group)) return "other";
  if (group === "kv" || group === "txn" || group === "snapshot") return group;
  if (group === "query") {
    const last = parts[parts.length - 1];
    return parts.length > 4 && (last === "execute" || last === "explain") ? `query/${last}` : "query";
  }
  const verb = parts[3] ?? "";
  return /^[a-z-]+$/.test(verb) ? `${group}/${verb}` : group;
}
