// The application's own probes, which the sidecar-injector moved to the sidecar's status port
// (Istio's probe rewrite): the kubelet calls /app-health/<container>/livez|readyz|startupz on
// 15020, and the sidecar runs the original probe against the application. Under STRICT mutual TLS
// a kubelet probe through the inbound listener would fail (the kubelet has no SVID). The config is
// Istio's ISTIO_KUBE_APP_PROBERS JSON: path → { httpGet | tcpSocket, timeoutSeconds }.

/** One original probe, as the injector recorded it. */
export type AppProber =
  | {
      readonly type: "httpGet";
      readonly path: string;
      readonly port: number;
      readonly scheme: "HTTP" | "HTTPS";
      /** The probe's host; undefined: the sidecar's application address. */
      readonly host: string | undefined;
      readonly headers: readonly (readonly [string, string])[];
      readonly timeoutSeconds: number;
    }
  | { readonly type: "tcpSocket"; readonly port: number; readonly host: string | undefined; readonly timeoutSeconds: number };

export type AppProbersResult = { readonly ok: true; readonly probers: ReadonlyMap<string, AppProber> } | { readonly ok: false; readonly message: string };

/** The status-port paths the injector writes: /app-health/<container>/livez, readyz or startupz. */
export const appHealthPathPattern = /^\/app-health\/[a-z0-9]([-a-z0-9]*[a-z0-9])?\/(livez|readyz|startupz)$/;

/** Kubernetes' default probe timeout. */
const defaultTimeoutSeconds = 1;

/**
 * Parses the probers JSON (`source` names where it came from, for messages). Undefined or empty
 * text: no probers. Errors name the path and field and say what to write.
 */
export function parseAppProbers(text: string | undefined, source = "MESHWORK_KUBE_APP_PROBERS"): AppProbersResult {
  const probers = new Map<string, AppProber>();
  if (text === undefined || text.trim() === "") return { ok: true, probers };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, message: `${source} is not JSON (${(error as Error).message}): write {"/app-health/<container>/livez": {"httpGet": {"path": "/healthz", "port": 8080}}}` };
  }
  if (!isRecord(value)) return { ok: false, message: `${source} must be a JSON object of status-port path → probe, got ${JSON.stringify(value)}` };
  for (const [path, entry] of Object.entries(value)) {
    const where = `${source} "${path}"`;
    if (!appHealthPathPattern.test(path)) return { ok: false, message: `${where}: the path must be /app-health/<container>/livez, readyz or startupz` };
    if (!isRecord(entry)) return { ok: false, message: `${where}: must be an object with httpGet or tcpSocket` };
    const timeout = entry["timeoutSeconds"] ?? defaultTimeoutSeconds;
    if (typeof timeout !== "number" || !Number.isInteger(timeout) || timeout < 1) return { ok: false, message: `${where}: timeoutSeconds must be a whole number of seconds ≥ 1, got ${JSON.stringify(timeout)}` };
    const httpGet = entry["httpGet"];
    const tcpSocket = entry["tcpSocket"];
    if ((httpGet === undefined) === (tcpSocket === undefined)) return { ok: false, message: `${where}: give exactly one of httpGet and tcpSocket (gRPC and exec probes are not rewritten)` };
    const probe = (httpGet ?? tcpSocket) as unknown;
    if (!isRecord(probe)) return { ok: false, message: `${where}: ${httpGet !== undefined ? "httpGet" : "tcpSocket"} must be an object` };
    const port = probe["port"];
    if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
      return { ok: false, message: `${where}: port must be a number from 1 to 65535 (the injector resolves named ports), got ${JSON.stringify(port)}` };
    }
    const host = probe["host"];
    if (host !== undefined && (typeof host !== "string" || host === "")) return { ok: false, message: `${where}: host must be a non-empty string or absent` };
    if (tcpSocket !== undefined) {
      probers.set(path, { type: "tcpSocket", port, host, timeoutSeconds: timeout });
      continue;
    }
    const probePath = probe["path"] ?? "/";
    if (typeof probePath !== "string" || !probePath.startsWith("/")) return { ok: false, message: `${where}: httpGet.path must start with "/", got ${JSON.stringify(probePath)}` };
    const scheme = probe["scheme"] ?? "HTTP";
    if (scheme !== "HTTP" && scheme !== "HTTPS") return { ok: false, message: `${where}: httpGet.scheme must be HTTP or HTTPS, got ${JSON.stringify(scheme)}` };
    const rawHeaders = probe["httpHeaders"] ?? [];
    if (!Array.isArray(rawHeaders)) return { ok: false, message: `${where}: httpGet.httpHeaders must be a list of {name, value}` };
    const headers: [string, string][] = [];
    for (const header of rawHeaders as unknown[]) {
      if (!isRecord(header) || typeof header["name"] !== "string" || header["name"] === "" || typeof header["value"] !== "string") {
        return { ok: false, message: `${where}: httpGet.httpHeaders entries must be {"name": "...", "value": "..."}, got ${JSON.stringify(header)}` };
      }
      headers.push([header["name"], header["value"]]);
    }
    probers.set(path, { type: "httpGet", path: probePath, port, scheme, host, headers, timeoutSeconds: timeout });
  }
  return { ok: true, probers };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
