import { describe, expect, it } from "vitest";
import { checkValue, formatPath } from "../check-value.ts";
import { DestinationRuleSpec } from "./destination-rule.ts";

const check = (spec: unknown) => checkValue(DestinationRuleSpec, spec, ["spec"]);
const problems = (spec: unknown) => check(spec).problems.map((p) => [p.name, formatPath(p.path), p.hint]);

describe("DestinationRuleSpec", () => {
  it("decodes the bookinfo reviews rule unchanged", () => {
    const spec = {
      host: "reviews",
      subsets: [
        { name: "v1", labels: { version: "v1" } },
        { name: "v2", labels: { version: "v2" } },
      ],
    };
    const { problems, decoded } = check(spec);
    expect(problems).toEqual([]);
    expect(decoded).toEqual(spec);
  });

  it("decodes the circuit-breaker example: durations to milliseconds, outlier defaults filled in", () => {
    const { problems, decoded } = check({
      host: "httpbin",
      trafficPolicy: {
        connectionPool: { tcp: { maxConnections: 1, connectTimeout: "30ms" }, http: { http1MaxPendingRequests: 1, idleTimeout: "1.5s" } },
        outlierDetection: { consecutive5xxErrors: 1, baseEjectionTime: "3m" },
      },
    });
    expect(problems).toEqual([]);
    expect(decoded).toEqual({
      host: "httpbin",
      trafficPolicy: {
        connectionPool: { tcp: { maxConnections: 1, connectTimeout: 30 }, http: { http1MaxPendingRequests: 1, idleTimeout: 1500 } },
        // interval 10s, maxEjectionPercent 10 and minHealthPercent 0 are Istio's documented defaults.
        outlierDetection: { consecutive5xxErrors: 1, baseEjectionTime: 180_000, interval: 10_000, maxEjectionPercent: 10, minHealthPercent: 0 },
      },
    });
  });

  it("keeps a written outlier interval instead of the default", () => {
    const decoded = check({ host: "r", trafficPolicy: { outlierDetection: { interval: "5m", maxEjectionPercent: 100 } } }).decoded as {
      trafficPolicy: { outlierDetection: Record<string, unknown> };
    };
    expect(decoded.trafficPolicy.outlierDetection).toMatchObject({ interval: 300_000, baseEjectionTime: 30_000, maxEjectionPercent: 100 });
  });

  it("decodes a session cookie (ttl 0s) and cookie attributes", () => {
    const { problems, decoded } = check({
      host: "ratings.prod.svc.cluster.local",
      trafficPolicy: { loadBalancer: { consistentHash: { httpCookie: { name: "user", ttl: "0s", attributes: [{ name: "Secure" }] } } } },
    });
    expect(problems).toEqual([]);
    expect(decoded).toMatchObject({ trafficPolicy: { loadBalancer: { consistentHash: { httpCookie: { name: "user", ttl: 0, attributes: [{ name: "Secure" }] } } } } });
  });

  it("fills the tunnel protocol, PROXY protocol version and retry budget floor with their documented defaults", () => {
    const tunnel = check({ host: "a.example.com", trafficPolicy: { tunnel: { targetHost: "proxy.example.com", targetPort: 3128 }, retryBudget: { percent: 20 } } });
    expect(tunnel.problems).toEqual([]);
    expect(tunnel.decoded).toMatchObject({ trafficPolicy: { tunnel: { protocol: "CONNECT" }, retryBudget: { percent: 20, minRetryConcurrency: 3 } } });
    expect(check({ host: "a", trafficPolicy: { proxyProtocol: {} } }).decoded).toMatchObject({ trafficPolicy: { proxyProtocol: { version: "V1" } } });
  });

  it("accepts every load balancer, TLS and locality field of the reference", () => {
    const { problems } = check({
      host: "helloworld.sample.svc.cluster.local",
      exportTo: ["."],
      workloadSelector: { matchLabels: { app: "ratings" } },
      trafficPolicy: {
        loadBalancer: {
          simple: "LEAST_REQUEST",
          localityLbSetting: {
            enabled: true,
            distribute: [{ from: "us-west/zone1/*", to: { "us-west/zone1/*": 80, "us-west/zone2/*": 20 } }],
            failoverPriority: ["topology.istio.io/network"],
          },
          warmupDurationSecs: "30s",
          warmup: { duration: "60s", minimumPercent: 10, aggression: 1.5 },
        },
        tls: {
          mode: "MUTUAL",
          clientCertificate: "/c",
          privateKey: "/k",
          caCertificates: "/ca",
          caCrl: "/crl",
          subjectAltNames: ["a"],
          sni: "a.example.com",
          insecureSkipVerify: false,
        },
        portLevelSettings: [{ port: { number: 80 }, tls: { mode: "SIMPLE", credentialName: "cred" } }],
      },
    });
    expect(problems).toEqual([]);
  });

  it("rejects simple and consistentHash together (a protobuf oneof)", () => {
    expect(problems({ host: "r", trafficPolicy: { loadBalancer: { simple: "RANDOM", consistentHash: { useSourceIp: true } } } })).toEqual([
      ["ExclusiveFields", "spec.trafficPolicy.loadBalancer.consistentHash", "keep one of simple, consistentHash"],
    ]);
  });

  it("rejects two hash keys and ringHash with maglev", () => {
    expect(
      problems({ host: "r", trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: "x", useSourceIp: true, ringHash: {}, maglev: {} } } } }),
    ).toEqual([
      ["ExclusiveFields", "spec.trafficPolicy.loadBalancer.consistentHash.useSourceIp", "keep one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName"],
      ["ExclusiveFields", "spec.trafficPolicy.loadBalancer.consistentHash.maglev", "keep one of ringHash, maglev"],
    ]);
  });

  it("suggests the right spelling of a misspelled field", () => {
    expect(problems({ host: "r", trafficPolicy: { outlierDetection: { consecutive5xxError: 5 } } })).toEqual([
      ["UnknownField", "spec.trafficPolicy.outlierDetection.consecutive5xxError", 'did you mean "consecutive5xxErrors"?'],
    ]);
  });

  it("says where outlier fields written beside an empty outlierDetection belong", () => {
    expect(problems({ host: "r", trafficPolicy: { outlierDetection: null, interval: "1s" } })).toEqual([
      ["UnknownField", "spec.trafficPolicy.interval", 'did you mean outlierDetection.interval? (indent it under "outlierDetection")'],
    ]);
  });

  it("suggests the upper-case load balancer for a lower-case one", () => {
    expect(problems({ host: "r", trafficPolicy: { loadBalancer: { simple: "round_robin" } } })).toEqual([
      ["InvalidValue", "spec.trafficPolicy.loadBalancer.simple", "did you mean ROUND_ROBIN?"],
    ]);
  });

  it("requires host, subset names and the cookie name", () => {
    expect(problems({ subsets: [{ labels: { version: "v1" } }], trafficPolicy: { loadBalancer: { consistentHash: { httpCookie: { ttl: "1h" } } } } }).map(([n, p]) => [n, p])).toEqual([
      ["MissingField", "spec.subsets[0].name"],
      ["MissingField", "spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.name"],
      ["MissingField", "spec.host"],
    ]);
  });

  it("rejects a duration without a unit", () => {
    expect(problems({ host: "r", trafficPolicy: { outlierDetection: { baseEjectionTime: "30 seconds" } } })).toEqual([
      ["InvalidDuration", "spec.trafficPolicy.outlierDetection.baseEjectionTime", "write a number with a unit, e.g. 250ms, 1.5s, 10s, 5m, 1h"],
    ]);
  });

  it("rejects percentages above 100 and negative connection limits", () => {
    expect(
      problems({ host: "r", trafficPolicy: { outlierDetection: { maxEjectionPercent: 150, minHealthPercent: -1 }, connectionPool: { tcp: { maxConnections: -1 } } } }).map(([n, p]) => [n, p]),
    ).toEqual([
      ["InvalidValue", "spec.trafficPolicy.outlierDetection.maxEjectionPercent"],
      ["InvalidValue", "spec.trafficPolicy.outlierDetection.minHealthPercent"],
      ["InvalidValue", "spec.trafficPolicy.connectionPool.tcp.maxConnections"],
    ]);
  });

  it("rejects a tunnel protocol other than CONNECT or POST and a tunnel without target", () => {
    expect(problems({ host: "r", trafficPolicy: { tunnel: { protocol: "connect" } } }).map(([n, p]) => [n, p])).toEqual([
      ["InvalidValue", "spec.trafficPolicy.tunnel.protocol"],
      ["MissingField", "spec.trafficPolicy.tunnel.targetHost"],
      ["MissingField", "spec.trafficPolicy.tunnel.targetPort"],
    ]);
  });

  it("uses matchLabels (not labels) in the DestinationRule workload selector", () => {
    expect(problems({ host: "r", workloadSelector: { labels: { app: "a" } } })).toEqual([
      ["UnknownField", "spec.workloadSelector.labels", 'valid fields here: matchLabels'],
    ]);
  });
});
