import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeStruct, encodePeerMetadata, encodeStruct, peerLabelsFromHeader, peerMetadataHeaderLines, type StructValue } from "./peer-metadata.ts";

const reviews = {
  name: "reviews-v2-5d8f",
  namespace: "bookinfo",
  workloadName: "reviews-v2",
  labels: { app: "reviews", version: "v2" },
  clusterId: "Kubernetes",
  meshId: "cluster.local",
  serviceAccount: "bookinfo-reviews",
};

/** protobuf by hand: a length-delimited field. */
const field = (n: number, bytes: number[]): number[] => [(n << 3) | 2, bytes.length, ...bytes];
const text = (s: string): number[] => [...Buffer.from(s, "utf8")];
const entry = (key: string, value: number[]): number[] => field(1, [...field(1, text(key)), ...field(2, value)]);

describe("peer metadata (Istio's x-envoy-peer-metadata)", () => {
  it("reads the Struct layout Envoy's metadata exchange sends, written byte by byte", () => {
    const labels = [...entry("app", field(3, text("ratings"))), ...entry("service.istio.io/canonical-revision", field(3, text("v1")))];
    const bytes = [...entry("NAMESPACE", field(3, text("default"))), ...entry("WORKLOAD_NAME", field(3, text("ratings-v1"))), ...entry("LABELS", field(5, labels)), ...entry("CLUSTER_ID", field(3, text("Kubernetes")))];
    expect(peerLabelsFromHeader(Buffer.from(bytes).toString("base64"))).toEqual({ workload: "ratings-v1", namespace: "default", cluster: "Kubernetes", app: "ratings", canonicalRevision: "v1" });
  });

  it("round-trips a sidecar's own metadata into the labels the peer records", () => {
    expect(peerLabelsFromHeader(encodePeerMetadata(reviews))).toEqual({ workload: "reviews-v2", namespace: "bookinfo", cluster: "Kubernetes", app: "reviews", version: "v2" });
    const lines = peerMetadataHeaderLines(reviews, "sidecar~10.0.0.7~reviews-v2.bookinfo~bookinfo.svc.cluster.local");
    expect(lines).toMatch(/^x-envoy-peer-metadata-id: sidecar~10\.0\.0\.7~reviews-v2\.bookinfo~bookinfo\.svc\.cluster\.local\r\nx-envoy-peer-metadata: [A-Za-z0-9+/=]+\r\n$/);
  });

  it("round-trips every Value kind", () => {
    const value: Record<string, StructValue> = { s: "x", n: 2.5, t: true, f: false, z: null, l: ["a", 1, { k: "v" }], o: { inner: { deeper: "y" } } };
    expect(decodeStruct(encodeStruct(value))).toEqual(value);
  });

  it("refuses what is not a Struct without throwing: garbage, truncation, nesting without end", () => {
    expect(peerLabelsFromHeader("not base64 at all!")).toBeUndefined();
    const whole = Buffer.from(encodePeerMetadata(reviews), "base64");
    expect(decodeStruct(whole.subarray(0, whole.length - 3))).toBeUndefined();
    let nested: StructValue = "leaf";
    for (let i = 0; i < 20; i++) nested = { n: nested };
    expect(decodeStruct(encodeStruct({ n: nested }))).toBeUndefined();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const decoded = decodeStruct(bytes);
        expect(decoded === undefined || typeof decoded === "object").toBe(true);
      }),
    );
  });
});
