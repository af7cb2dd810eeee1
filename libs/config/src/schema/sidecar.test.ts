import { describe, expect, it } from "vitest";
import { checkValue, formatPath } from "../check-value.ts";
import { SidecarSpec } from "./sidecar.ts";

const check = (spec: unknown) => checkValue(SidecarSpec, spec, ["spec"]);
const problems = (spec: unknown) => check(spec).problems.map((p) => [p.name, formatPath(p.path), p.hint]);

describe("SidecarSpec", () => {
  it("decodes the prod-us1 example of the reference unchanged", () => {
    const spec = { egress: [{ hosts: ["prod-us1/*", "prod-apis/*", "istio-system/*"] }] };
    const { problems, decoded } = check(spec);
    expect(problems).toEqual([]);
    expect(decoded).toEqual(spec);
  });

  it("decodes ingress TLS, connection pools (durations to ms) and the outbound traffic policy", () => {
    const { problems, decoded } = check({
      workloadSelector: { labels: { app: "ratings" } },
      ingress: [
        {
          port: { number: 9080, protocol: "HTTPS", name: "somename" },
          bind: "0.0.0.0",
          captureMode: "IPTABLES",
          defaultEndpoint: "127.0.0.1:8080",
          tls: { mode: "SIMPLE", privateKey: "/etc/istio/ratings-certs/tls.key", serverCertificate: "/etc/istio/ratings-certs/tls.crt" },
          connectionPool: { http: { idleTimeout: "30s" } },
        },
      ],
      inboundConnectionPool: { tcp: { connectTimeout: "2s" } },
      egress: [{ port: { number: 0, protocol: "HTTP", name: "uds" }, bind: "unix:///var/run/egress.sock", captureMode: "NONE", hosts: ["./*"] }],
      outboundTrafficPolicy: { mode: "ALLOW_ANY", egressProxy: { host: "proxy.egress.svc.cluster.local", subset: "v1", port: { number: 3128 } } },
    });
    expect(problems).toEqual([]);
    expect(decoded).toMatchObject({
      ingress: [{ connectionPool: { http: { idleTimeout: 30_000 } } }],
      inboundConnectionPool: { tcp: { connectTimeout: 2000 } },
      outboundTrafficPolicy: { mode: "ALLOW_ANY", egressProxy: { port: { number: 3128 } } },
    });
  });

  it("requires the port of an ingress listener and the hosts of an egress listener", () => {
    expect(problems({ ingress: [{ defaultEndpoint: "127.0.0.1:8080" }], egress: [{ port: { number: 80 } }, { hosts: [] }] }).map(([n, p]) => [n, p])).toEqual([
      ["MissingField", "spec.ingress[0].port"],
      ["MissingField", "spec.egress[0].hosts"],
      ["InvalidValue", "spec.egress[1].hosts"],
    ]);
  });

  it("rejects an unknown capture mode and outbound mode, suggesting the right one", () => {
    expect(problems({ egress: [{ captureMode: "iptables", hosts: ["./*"] }], outboundTrafficPolicy: { mode: "REGISTRY" } })).toEqual([
      ["InvalidValue", "spec.egress[0].captureMode", "did you mean IPTABLES?"],
      ["InvalidValue", "spec.outboundTrafficPolicy.mode", undefined],
    ]);
  });

  it("says where hosts written beside an empty egress listener belong", () => {
    expect(problems({ egress: null, hosts: ["./*"] })).toEqual([["UnknownField", "spec.hosts", 'did you mean egress.hosts? (indent it under "egress")']]);
  });

  it("rejects gateway-only TLS fields that ServerTLSSettings does not have", () => {
    expect(problems({ ingress: [{ port: { number: 9080 }, tls: { mode: "SIMPLE", clientCertificate: "/c" } }] }).map(([n, p]) => [n, p])).toEqual([
      ["UnknownField", "spec.ingress[0].tls.clientCertificate"],
    ]);
  });
});
