import { describe, expect, it } from "vitest";
import { toConfigEntry } from "./to-config-entry.ts";

describe("toConfigEntry", () => {
  it("keeps the user's resource and drops the server's bookkeeping", () => {
    const entry = toConfigEntry(
      {
        apiVersion: "security.istio.io/v1",
        kind: "PeerAuthentication",
        metadata: { name: "default", namespace: "istio-system", annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{...}", team: "mesh" }, labels: {} },
        spec: { mtls: { mode: "STRICT" } },
        ...({ status: { observedGeneration: 3 } } as object),
      },
      { apiVersion: "security.istio.io/v1", kind: "PeerAuthentication" },
    );
    expect(entry.key).toBe("kubernetes/security.istio.io/PeerAuthentication/istio-system/default");
    expect(JSON.parse(entry.text)).toEqual({ apiVersion: "security.istio.io/v1", kind: "PeerAuthentication", metadata: { name: "default", namespace: "istio-system", annotations: { team: "mesh" } }, spec: { mtls: { mode: "STRICT" } } });
  });

  it("fills apiVersion and kind that a watch event left out from the collection", () => {
    const entry = toConfigEntry({ metadata: { name: "r", namespace: "ns" }, spec: {} }, { apiVersion: "networking.istio.io/v1", kind: "VirtualService" });
    expect(JSON.parse(entry.text)).toMatchObject({ apiVersion: "networking.istio.io/v1", kind: "VirtualService" });
  });
});
