// Istio's probe rewrite (pure): the kubelet's HTTP and TCP probes of an injected pod's containers
// would go through the inbound capture to the sidecar, which under STRICT mutual TLS refuses the
// kubelet (no client certificate) and which accepts any TCP connect even when the app is down. So
// each such probe is pointed at the sidecar's status port, /app-health/<container>/livez|readyz|
// startupz, and the original goes to the sidecar in MESHWORK_KUBE_APP_PROBERS (Istio's
// ISTIO_KUBE_APP_PROBERS JSON), which the sidecar runs against the app from inside the pod.
// gRPC and exec probes are left alone (exec runs in the container; gRPC is not rewritten yet).
import type { JsonPatchOperation } from "./admission-review.ts";

/** The probe fields of a container the rewrite reads (the rest is kept as it is). */
export interface ProbeLike {
  readonly httpGet?: {
    readonly path?: string;
    readonly port: number | string;
    readonly host?: string;
    readonly scheme?: string;
    readonly httpHeaders?: readonly { readonly name: string; readonly value: string }[];
  };
  readonly tcpSocket?: { readonly port: number | string; readonly host?: string };
  readonly timeoutSeconds?: number;
  readonly [field: string]: unknown;
}

export interface ProbedContainer {
  readonly name: string;
  readonly ports?: readonly { readonly name?: string; readonly containerPort: number }[];
  readonly livenessProbe?: ProbeLike;
  readonly readinessProbe?: ProbeLike;
  readonly startupProbe?: ProbeLike;
}

/** Container probe field → the status-port path's last segment (Istio's names). */
const probeKinds = [
  ["livenessProbe", "livez"],
  ["readinessProbe", "readyz"],
  ["startupProbe", "startupz"],
] as const;

export interface ProbeRewrite {
  /** `replace` operations on /spec/containers/<i>/<probe>. */
  readonly patch: readonly JsonPatchOperation[];
  /** Status-port path → original probe; the value of MESHWORK_KUBE_APP_PROBERS (empty: nothing rewritten). */
  readonly probers: Readonly<Record<string, unknown>>;
}

/**
 * Rewrites the HTTP and TCP probes of `containers` (the pod's own, at their indexes) to GETs on
 * `statusPort`. Named ports resolve against the container's ports; a probe whose named port does
 * not resolve is left as it is (the kubelet reports it, as it would without a sidecar).
 */
export function rewriteAppProbes(containers: readonly ProbedContainer[], statusPort: number): ProbeRewrite {
  const patch: JsonPatchOperation[] = [];
  const probers: Record<string, unknown> = {};
  containers.forEach((container, index) => {
    for (const [field, suffix] of probeKinds) {
      const probe = container[field];
      if (probe === undefined) continue;
      const original = probe.httpGet ?? probe.tcpSocket;
      if (original === undefined) continue;
      const port = resolvePort(original.port, container);
      if (port === undefined) continue;
      const path = `/app-health/${container.name}/${suffix}`;
      const timeoutSeconds = probe.timeoutSeconds ?? 1;
      if (probe.httpGet !== undefined) {
        const { path: appPath, host, scheme, httpHeaders } = probe.httpGet;
        probers[path] = { httpGet: { path: appPath ?? "/", port, ...(scheme === undefined ? {} : { scheme }), ...(host === undefined ? {} : { host }), ...(httpHeaders === undefined ? {} : { httpHeaders }) }, timeoutSeconds };
      } else {
        const host = probe.tcpSocket?.host;
        probers[path] = { tcpSocket: { port, ...(host === undefined ? {} : { host }) }, timeoutSeconds };
      }
      const { httpGet: _httpGet, tcpSocket: _tcpSocket, ...timing } = probe;
      patch.push({ op: "replace", path: `/spec/containers/${index}/${field}`, value: { ...timing, httpGet: { path, port: statusPort, scheme: "HTTP" } } });
    }
  });
  return { patch, probers };
}

function resolvePort(port: number | string, container: ProbedContainer): number | undefined {
  if (typeof port === "number") return port;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}
