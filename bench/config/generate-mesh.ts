// Generates a realistic mesh config of N services (default 1,000): per service a VirtualService
// (header match, weighted subsets, timeout, retries, fault on a share), a DestinationRule (three
// subsets, LB, connection pool, outlier detection), an AuthorizationPolicy, a PeerAuthentication
// and a Sidecar, and for every tenth a ServiceEntry — about 5 resources per service — plus the
// catalog (three versioned instances per service).
import { stringify } from "yaml";

export interface GeneratedMesh {
  readonly yaml: string;
  readonly resourceCount: number;
  readonly catalog: { services: { name: string; namespace: string; ports: { number: number; name: string }[]; instances: { labels: Record<string, string> }[] }[] };
}

export function generateMesh(serviceCount = 1_000): GeneratedMesh {
  const docs: unknown[] = [];
  const services: GeneratedMesh["catalog"]["services"] = [];
  for (let i = 0; i < serviceCount; i++) {
    const name = `svc-${i}`;
    const namespace = `team-${i % 20}`;
    services.push({
      name,
      namespace,
      ports: [{ number: 8080, name: "http" }],
      instances: ["v1", "v2", "v3"].map((version) => ({ labels: { app: name, version } })),
    });
    docs.push({
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name, namespace },
      spec: {
        hosts: [name],
        http: [
          {
            name: "canary-users",
            match: [{ headers: { "end-user": { exact: `user-${i}` } }, uri: { prefix: "/api/" } }],
            route: [{ destination: { host: name, subset: "v2", port: { number: 8080 } } }],
            timeout: "2s",
          },
          {
            name: "default",
            route: [
              { destination: { host: name, subset: "v1" }, weight: 90 },
              { destination: { host: name, subset: "v3" }, weight: 10 },
            ],
            retries: { attempts: 3, perTryTimeout: "500ms", retryOn: "5xx,connect-failure,reset" },
            timeout: "10s",
            ...(i % 10 === 0 ? { fault: { delay: { percentage: { value: 0.1 }, fixedDelay: "5s" } } } : {}),
          },
        ],
      },
    });
    docs.push({
      apiVersion: "networking.istio.io/v1",
      kind: "DestinationRule",
      metadata: { name, namespace },
      spec: {
        host: name,
        trafficPolicy: {
          loadBalancer: { simple: "LEAST_REQUEST" },
          connectionPool: { tcp: { maxConnections: 100, connectTimeout: "1s" }, http: { http1MaxPendingRequests: 64, maxRequestsPerConnection: 100 } },
          outlierDetection: { consecutive5xxErrors: 5, interval: "10s", baseEjectionTime: "30s", maxEjectionPercent: 50 },
        },
        subsets: ["v1", "v2", "v3"].map((version) => ({ name: version, labels: { version } })),
      },
    });
    docs.push({
      apiVersion: "security.istio.io/v1",
      kind: "AuthorizationPolicy",
      metadata: { name: `${name}-allow`, namespace },
      spec: {
        selector: { matchLabels: { app: name } },
        action: "ALLOW",
        rules: [
          {
            from: [{ source: { principals: [`cluster.local/ns/${namespace}/sa/svc-${(i + serviceCount - 1) % serviceCount}`] } }],
            to: [{ operation: { methods: ["GET", "POST"], paths: ["/api/*"] } }],
          },
        ],
      },
    });
    docs.push({
      apiVersion: "security.istio.io/v1",
      kind: "PeerAuthentication",
      metadata: { name: `${name}-mtls`, namespace },
      spec: { selector: { matchLabels: { app: name } }, mtls: { mode: "STRICT" }, portLevelMtls: { "9090": { mode: "PERMISSIVE" } } },
    });
    docs.push({
      apiVersion: "networking.istio.io/v1",
      kind: "Sidecar",
      metadata: { name, namespace },
      spec: {
        workloadSelector: { labels: { app: name } },
        egress: [{ hosts: ["./*", "istio-system/*", `team-${(i + 1) % 20}/svc-${(i + 1) % serviceCount}.team-${(i + 1) % 20}.svc.cluster.local`] }],
        outboundTrafficPolicy: { mode: "REGISTRY_ONLY" },
      },
    });
    if (i % 10 === 0) {
      docs.push({
        apiVersion: "networking.istio.io/v1",
        kind: "ServiceEntry",
        metadata: { name: `${name}-external`, namespace },
        spec: {
          hosts: [`api-${i}.example.com`],
          location: "MESH_EXTERNAL",
          resolution: "DNS",
          ports: [{ number: 443, name: "https", protocol: "TLS" }],
        },
      });
    }
  }
  return { yaml: docs.map((d) => stringify(d)).join("---\n"), resourceCount: docs.length, catalog: { services } };
}
