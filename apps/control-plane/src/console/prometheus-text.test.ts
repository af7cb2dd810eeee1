import { describe, expect, it } from "vitest";
import { parsePrometheusText } from "./prometheus-text.ts";

describe("parsePrometheusText", () => {
  it("reads names, labels with escapes, values and skips comments and bad lines", () => {
    const text = [
      "# HELP istio_requests_total Total requests.",
      "# TYPE istio_requests_total counter",
      'istio_requests_total{reporter="source",path="a\\"b\\\\c",response_code="200"} 7',
      'istio_request_duration_milliseconds_bucket{le="+Inf",reporter="destination"} 3 1700000000000',
      "process_cpu_seconds_total 1.5",
      'broken{le="1" 3',
      "",
    ].join("\n");
    expect(parsePrometheusText(text)).toEqual([
      { name: "istio_requests_total", labels: { reporter: "source", path: 'a"b\\c', response_code: "200" }, value: 7 },
      { name: "istio_request_duration_milliseconds_bucket", labels: { le: "+Inf", reporter: "destination" }, value: 3 },
      { name: "process_cpu_seconds_total", labels: {}, value: 1.5 },
    ]);
  });

  it("keeps only the names asked for", () => {
    expect(parsePrometheusText("a 1\nb 2\n", (n) => n === "b")).toEqual([{ name: "b", labels: {}, value: 2 }]);
  });
});
