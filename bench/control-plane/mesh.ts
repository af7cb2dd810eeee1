// bench/control-plane: the benchmark mesh, shared by scale.ts (through the registry) and
// compute.ts (in-process): S services in 10 namespaces, 2 instances each (a: v1, b: v2), 100
// VirtualServices (90/10 to a service and the next one), a Sidecar per namespace on request.

export const namespaces = 10;
export const vsCount = 100;

export interface Mesh {
  readonly serviceCount: number;
  nsOf(i: number): string;
  serviceName(i: number): string;
  /** Consul catalog/register body of service i's instance a or b. */
  instance(i: number, which: "a" | "b"): { Node: string; Address: string; Service: { ID: string; Service: string; Address: string; Port: number; Meta: Record<string, string> } };
  /** VirtualService k (on service k·S/100) with a timeout that marks the revision: registry KV key and JSON value. */
  virtualService(k: number, timeoutS: number): { key: string; value: string };
  /** Sidecar of namespace n: imports its own namespace and ns-0. */
  sidecar(n: number): { key: string; value: string };
}

export function createMesh(serviceCount: number): Mesh {
  const nsOf = (i: number) => `ns-${Math.floor((i * namespaces) / serviceCount)}`;
  const serviceName = (i: number) => `svc-${i}`;
  const host = (j: number) => `${serviceName(j)}.${nsOf(j)}.svc.cluster.local`;
  return {
    serviceCount,
    nsOf,
    serviceName,
    instance: (i, which) => ({
      Node: `node-${i % 100}`,
      Address: `10.0.${i % 100}.1`,
      Service: {
        ID: `${serviceName(i)}-${which}`,
        Service: serviceName(i),
        Address: `10.${1 + Math.floor(i / 250)}.${i % 250}.${which === "a" ? 1 : 2}`,
        Port: 8080,
        Meta: { namespace: nsOf(i), app: serviceName(i), version: which === "a" ? "v1" : "v2", protocol: "http" },
      },
    }),
    virtualService: (k, timeoutS) => {
      const i = Math.floor((k * serviceCount) / vsCount);
      const ns = nsOf(i);
      const next = (i + 1) % serviceCount;
      const resource = {
        apiVersion: "networking.istio.io/v1",
        kind: "VirtualService",
        metadata: { name: serviceName(i), namespace: ns },
        spec: {
          hosts: [host(i)],
          http: [{ timeout: `${timeoutS}s`, retries: { attempts: 2, perTryTimeout: "1s" }, route: [{ destination: { host: host(i) }, weight: 90 }, { destination: { host: host(next) }, weight: 10 }] }],
        },
      };
      return { key: `meshwork/config/VirtualService/${ns}/${serviceName(i)}`, value: JSON.stringify(resource) };
    },
    sidecar: (n) => {
      const resource = { apiVersion: "networking.istio.io/v1", kind: "Sidecar", metadata: { name: "default", namespace: `ns-${n}` }, spec: { egress: [{ hosts: ["./*", "ns-0/*"] }] } };
      return { key: `meshwork/config/Sidecar/ns-${n}/default`, value: JSON.stringify(resource) };
    },
  };
}
