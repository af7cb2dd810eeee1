// Which TLS the sidecar originates per endpoint: DestinationRule tls first, else auto mTLS from the
// ProxyConfig (built from YAML by buildProxyConfig), with Istio's SNI and the service's identities.
import { loadResources } from "@meshwork/config";
import { buildProxyConfig, type ProxyConfig } from "@meshwork/proxy-core";
import { describe, expect, it } from "vitest";
import { tlsFailureDetail, upstreamTlsFor, upstreamTlsKey, UpstreamTlsError } from "./upstream-tls.ts";

function configOf(yaml: string): ProxyConfig {
  const loaded = loadResources([{ path: "test.yaml", text: yaml }]);
  const errors = loaded.issues.filter((i) => i.severity === "error");
  if (errors.length > 0) throw new Error(JSON.stringify(errors));
  return buildProxyConfig(loaded.resources, { namespace: "default", domainSuffix: "cluster.local", proxyLabels: {}, version: "t" }).config;
}

const services = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http }]
  endpoints:
  - { address: 10.0.0.1, serviceAccount: reviews, labels: { security.istio.io/tlsMode: istio, version: v1 } }
  - { address: 10.0.0.2, serviceAccount: reviews, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: payments, namespace: default }
spec:
  hosts: [payments.example.com]
  subjectAltNames: [payments.example.com]
  resolution: STATIC
  ports: [{ number: 443, name: tls-payments }]
  endpoints: [{ address: 192.0.2.10 }]
`;

const cluster = (config: ProxyConfig, name: string) => {
  const found = config.clusters.get(name);
  if (!found) throw new Error(`no cluster ${name}`);
  return found;
};

describe("upstreamTlsFor()", () => {
  it("auto mTLS: ISTIO_MUTUAL with Istio's SNI and the service's SPIFFE IDs to an endpoint with a sidecar, plain text to one without", () => {
    const config = configOf(services);
    const reviews = cluster(config, "outbound|9080||reviews.default.svc.cluster.local");
    expect(upstreamTlsFor(reviews, 0, config)).toMatchObject({
      mode: "ISTIO_MUTUAL",
      auto: true,
      sni: "outbound_.9080_._.reviews.default.svc.cluster.local",
      expectedNames: ["spiffe://cluster.local/ns/default/sa/reviews"],
    });
    expect(upstreamTlsFor(reviews, 1, config)).toBeUndefined();
  });

  it("auto mTLS stays off when the destination's PeerAuthentication is DISABLE", () => {
    const config = configOf(`${services}---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: v1-plain, namespace: default }
spec:
  selector: { matchLabels: { version: v1 } }
  mtls: { mode: DISABLE }
`);
    expect(upstreamTlsFor(cluster(config, "outbound|9080||reviews.default.svc.cluster.local"), 0, config)).toBeUndefined();
  });

  it("a DestinationRule tls decides over auto mTLS: DISABLE is plain text, SIMPLE keeps sni and SANs", () => {
    const disabled = configOf(`${services}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: reviews.default.svc.cluster.local
  trafficPolicy: { tls: { mode: DISABLE } }
`);
    expect(upstreamTlsFor(cluster(disabled, "outbound|9080||reviews.default.svc.cluster.local"), 0, disabled)).toBeUndefined();
    const simple = configOf(`${services}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: payments, namespace: default }
spec:
  host: payments.example.com
  trafficPolicy: { tls: { mode: SIMPLE, caCertificates: /etc/ca.pem } }
`);
    const spec = upstreamTlsFor(cluster(simple, "outbound|443||payments.example.com"), 0, simple);
    expect(spec).toMatchObject({ mode: "SIMPLE", auto: false, sni: "payments.example.com", expectedNames: ["payments.example.com"], caCertificates: "/etc/ca.pem" });
    expect(upstreamTlsKey(spec)).not.toBe(upstreamTlsKey(undefined));
  });

  it("ISTIO_MUTUAL from a DestinationRule checks the service identities unless the rule lists subjectAltNames", () => {
    const config = configOf(`${services}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: reviews.default.svc.cluster.local
  trafficPolicy: { tls: { mode: ISTIO_MUTUAL } }
  subsets:
  - name: v2
    labels: { version: v2 }
    trafficPolicy: { tls: { mode: ISTIO_MUTUAL, subjectAltNames: [spiffe://cluster.local/ns/default/sa/reviews-v2] } }
`);
    expect(upstreamTlsFor(cluster(config, "outbound|9080||reviews.default.svc.cluster.local"), 1, config)).toMatchObject({
      mode: "ISTIO_MUTUAL",
      auto: false,
      sni: "outbound_.9080_._.reviews.default.svc.cluster.local",
      expectedNames: ["spiffe://cluster.local/ns/default/sa/reviews"],
    });
    expect(upstreamTlsFor(cluster(config, "outbound|9080|v2|reviews.default.svc.cluster.local"), 0, config)).toMatchObject({
      sni: "outbound_.9080_.v2_.reviews.default.svc.cluster.local",
      expectedNames: ["spiffe://cluster.local/ns/default/sa/reviews-v2"],
    });
  });
});

describe("tlsFailureDetail()", () => {
  it("formats Envoy's TLS_error part for TLS failures only", () => {
    expect(tlsFailureDetail(new UpstreamTlsError("secure_naming", "peer x is not one of y"))).toBe(",TLS_error:secure_naming:peer_x_is_not_one_of_y");
    expect(tlsFailureDetail(new Error("ECONNREFUSED"))).toBe("");
    expect(tlsFailureDetail(undefined)).toBe("");
  });
});
