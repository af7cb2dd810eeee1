// The Prometheus text of the CA metrics: counters by reason and cumulative histogram buckets.
import { describe, expect, it } from "vitest";
import { CaMetrics } from "./ca-metrics.ts";

describe("CaMetrics", () => {
  it("renders counters and a cumulative histogram", () => {
    const metrics = new CaMetrics();
    metrics.issued = 2;
    metrics.countRefusal("token-expired");
    metrics.countRefusal("token-expired");
    metrics.countRefusal("id-mismatch");
    metrics.observeSigning(0.0008);
    metrics.observeSigning(0.03);
    const text = metrics.render(["process_cpu_seconds_total 1"]);
    expect(text).toContain("meshwork_ca_certificates_issued_total 2\n");
    expect(text).toContain('meshwork_ca_certificates_refused_total{reason="id-mismatch"} 1\nmeshwork_ca_certificates_refused_total{reason="token-expired"} 2\n');
    expect(text).toContain('meshwork_ca_signing_duration_seconds_bucket{le="0.0005"} 0\n');
    expect(text).toContain('meshwork_ca_signing_duration_seconds_bucket{le="0.001"} 1\n');
    expect(text).toContain('meshwork_ca_signing_duration_seconds_bucket{le="0.05"} 2\n');
    expect(text).toContain('meshwork_ca_signing_duration_seconds_bucket{le="+Inf"} 2\n');
    expect(text).toContain("meshwork_ca_signing_duration_seconds_count 2\n");
    expect(text.endsWith("process_cpu_seconds_total 1\n")).toBe(true);
  });
});
