import { describe, expect, it } from "vitest";
import { formatProxyStatus, type SynczEntry } from "./format-proxy-status.ts";

const synced = { state: "SYNCED", sentVersion: "3", ackedVersion: "3" };
const entry = (proxy: string, namespace: string, types: SynczEntry["types"]): SynczEntry => ({ proxy, namespace, workload: proxy, kind: "sidecar", controlPlane: "cp-1", revision: "12", state: "SYNCED", types });

describe("formatProxyStatus", () => {
  it("prints one aligned row per proxy, sorted by namespace and name, with each type's state", () => {
    const text = formatProxyStatus([
      entry("reviews-v1", "default", { cluster: synced, endpoints: synced, listener: synced, routeTable: { state: "STALE", sentVersion: "4", ackedVersion: "3" }, trustBundle: synced }),
      entry("gateway", "istio-system", { cluster: synced }),
      entry("details-v1", "default", { cluster: synced, endpoints: synced, listener: synced, routeTable: synced, trustBundle: synced }),
    ]);
    expect(text.split("\n")).toEqual([
      "PROXY       NAMESPACE     KIND     CLUSTERS  ENDPOINTS  LISTENERS  ROUTES    BUNDLE    REVISION  CONTROL-PLANE",
      "details-v1  default       sidecar  SYNCED    SYNCED     SYNCED     SYNCED    SYNCED    12        cp-1",
      "reviews-v1  default       sidecar  SYNCED    SYNCED     SYNCED     STALE     SYNCED    12        cp-1",
      "gateway     istio-system  sidecar  SYNCED    NOT SENT   NOT SENT   NOT SENT  NOT SENT  12        cp-1",
      "",
    ]);
  });

  it("lists the error of every NACK under the table", () => {
    const text = formatProxyStatus([entry("ratings", "default", { listener: { state: "NACKED", sentVersion: "7", ackedVersion: "6", nackError: "bad regex" } })]);
    expect(text).toContain("ratings rejected listeners version 7: bad regex");
  });

  it("says so when no proxy is connected", () => {
    expect(formatProxyStatus([])).toBe("No proxies are connected.\n");
  });
});
