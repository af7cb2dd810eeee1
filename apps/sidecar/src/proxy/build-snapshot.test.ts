import { describe, expect, it } from "vitest";
import { PoolRegistry } from "../upstream/pool-registry.ts";
import { snapshotFromYaml } from "../../tests/support/proxy-fixture.ts";

const reviews = (serviceAccount: string, extra = ""): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews.default.svc.cluster.local]
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, serviceAccount: ${serviceAccount}, labels: { security.istio.io/tlsMode: istio } }]
${extra}`;

const disable = `---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: default }
spec:
  mtls: { mode: DISABLE }
`;

const cluster = "outbound|9080||reviews.default.svc.cluster.local";

describe("buildSnapshot", () => {
  it("keeps a cluster's runtime across a config that changes nothing of it", () => {
    const pools = new PoolRegistry();
    const first = snapshotFromYaml(reviews("bookinfo-reviews"), pools);
    const before = first.clusters.get(cluster);
    expect(before).toBeDefined();
    expect(snapshotFromYaml(reviews("bookinfo-reviews"), pools, first).clusters.get(cluster)).toBe(before);
  });

  it("builds the runtime anew when the service's identities (secure naming) or its auto mTLS change", () => {
    const pools = new PoolRegistry();
    const first = snapshotFromYaml(reviews("bookinfo-reviews"), pools);
    const before = first.clusters.get(cluster);
    const renamed = snapshotFromYaml(reviews("bookinfo-reviews-v2"), pools, first);
    expect(renamed.config.serviceIdentities?.get("reviews.default.svc.cluster.local")).toEqual(["spiffe://cluster.local/ns/default/sa/bookinfo-reviews-v2"]);
    expect(renamed.clusters.get(cluster)).not.toBe(before);
    const plain = snapshotFromYaml(reviews("bookinfo-reviews-v2", disable), pools, renamed);
    expect(plain.clusters.get(cluster)).not.toBe(renamed.clusters.get(cluster));
  });
});
