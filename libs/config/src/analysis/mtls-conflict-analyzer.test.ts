import { describe, expect, it } from "vitest";
import { loadResources } from "../load-resources.ts";
import type { MeshCatalog } from "./analyze-resources.ts";
import { buildMeshIndex } from "./mesh-index.ts";
import { findMtlsConflicts } from "./mtls-conflict-analyzer.ts";

function analyze(text: string, catalog?: MeshCatalog) {
  const { resources, issues } = loadResources([{ path: "in.yaml", text }]);
  expect(issues.filter((i) => i.severity === "error")).toEqual([]);
  return findMtlsConflicts(buildMeshIndex(resources, { catalog }));
}

const pa = (name: string, namespace: string, mode: string, selector?: string) => `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
${selector ? `  selector:\n    matchLabels: ${selector}\n` : ""}  mtls:
    mode: ${mode}
---
`;

const disable = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: plain
  namespace: shop
spec:
  host: reviews
  trafficPolicy:
    tls:
      mode: DISABLE
`;

const catalog: MeshCatalog = {
  services: [{ name: "reviews", namespace: "shop", ports: [{ number: 9080 }], instances: [{ labels: { app: "reviews", version: "v1" } }, { labels: { app: "reviews", version: "v2" } }] }],
};

describe("findMtlsConflicts", () => {
  it("reports DISABLE towards a namespace made STRICT, at the tls mode line", () => {
    expect(analyze(pa("default", "shop", "STRICT") + disable)).toEqual([
      expect.objectContaining({
        code: "MW0111",
        severity: "warning",
        line: 19,
        field: "spec.trafficPolicy.tls.mode",
        message: 'tls mode DISABLE sends plaintext to "reviews.shop.svc.cluster.local", but PeerAuthentication shop/default makes its workloads STRICT (mutual TLS only), so they refuse the connections',
      }),
    ]);
  });

  it("follows Istio's precedence: mesh < namespace < workload, UNSET inheriting", () => {
    expect(analyze(pa("mesh", "istio-system", "STRICT") + disable)).toHaveLength(1);
    expect(analyze(pa("mesh", "istio-system", "STRICT") + pa("ns", "shop", "PERMISSIVE") + disable)).toEqual([]);
    expect(analyze(pa("mesh", "istio-system", "STRICT") + pa("ns", "shop", "UNSET") + disable)).toHaveLength(1);
    expect(analyze(pa("ns", "shop", "PERMISSIVE") + disable)).toEqual([]);
    expect(analyze(disable)).toEqual([]);
  });

  it("with a catalog, looks at the workloads behind the host", () => {
    const v2Strict = pa("ns", "shop", "PERMISSIVE") + pa("v2", "shop", "STRICT", "{version: v2}");
    expect(analyze(v2Strict + disable, catalog).map((f) => f.message)).toEqual([
      'tls mode DISABLE sends plaintext to "reviews.shop.svc.cluster.local", but PeerAuthentication shop/v2 makes its workloads STRICT (mutual TLS only), so they refuse the connections',
    ]);
    const subsetV1 = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: plain
  namespace: shop
spec:
  host: reviews
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      tls: {mode: DISABLE}
`;
    expect(analyze(v2Strict + subsetV1, catalog)).toEqual([]);
    expect(analyze(v2Strict + subsetV1.replace("{version: v1}", "{version: v2}"), catalog).map((f) => f.field)).toEqual(["spec.subsets[0].trafficPolicy.tls.mode"]);
  });

  it("respects a port-level exception of the deciding policy", () => {
    const portDisable = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: plain
  namespace: shop
spec:
  host: reviews
  trafficPolicy:
    portLevelSettings:
    - port: {number: 9080}
      tls: {mode: DISABLE}
`;
    const strictExcept9080 = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: reviews
  namespace: shop
spec:
  selector:
    matchLabels: {app: reviews}
  mtls: {mode: STRICT}
  portLevelMtls:
    9080: {mode: PERMISSIVE}
---
`;
    expect(analyze(strictExcept9080 + portDisable, catalog)).toEqual([]);
    expect(analyze(pa("ns", "shop", "STRICT") + portDisable, catalog).map((f) => f.field)).toEqual(["spec.trafficPolicy.portLevelSettings[0].tls.mode"]);
  });
});
