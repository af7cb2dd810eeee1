import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import jsYaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { checkValue, formatPath } from "../check-value.ts";
import { DestinationRuleSpec } from "../schema/destination-rule.ts";
import { checkDestinationRule } from "./destination-rule-rules.ts";

/** Runs the schema (which must pass) and then the rule: [severity, path, message]. */
function issues(spec: unknown, namespace: string | undefined = "default"): [string, string, string][] {
  const { problems, decoded } = checkValue(DestinationRuleSpec, spec, ["spec"]);
  expect(problems).toEqual([]);
  return checkDestinationRule(decoded as DestinationRuleSpec, { namespace, name: "dr" }).map((i) => [i.severity ?? "error", formatPath(i.path), i.message]);
}

/** Only [severity, path]. */
const where = (spec: unknown, namespace?: string) => issues(spec, namespace).map(([s, p]) => [s, p]);

const withPolicy = (trafficPolicy: unknown) => ({ host: "reviews", trafficPolicy });

describe("checkDestinationRule: host and subsets", () => {
  it("accepts short names, FQDNs and wildcard hosts", () => {
    for (const host of ["reviews", "reviews.prod.svc.cluster.local", "*.foo.com", "*"]) expect(issues({ host })).toEqual([]);
  });

  it("rejects a host with an underscore, naming the bad label", () => {
    expect(issues({ host: "my_service.default" })).toEqual([
      ["error", "spec.host", 'host "my_service.default" is not a valid host name: it has an invalid label "my_service"'],
    ]);
  });

  it("rejects a URL as host and says to drop scheme and port", () => {
    const [issue] = checkDestinationRule(checkValue(DestinationRuleSpec, { host: "http://reviews:9080" }).decoded as DestinationRuleSpec, { namespace: undefined, name: "x" });
    expect(issue).toMatchObject({ name: "InvalidHost", path: ["spec", "host"], hint: "write only the host name, without scheme or port (ports go in portLevelSettings)" });
  });

  it("rejects a wildcard that is not the first label", () => {
    expect(where({ host: "api.*.example.com" })).toEqual([["error", "spec.host"]]);
  });

  it("rejects subset names that are not DNS labels and duplicate subset names", () => {
    expect(issues({ host: "r", subsets: [{ name: "V1_beta", labels: { version: "v1" } }, { name: "v2", labels: { version: "v2" } }, { name: "v2", labels: { version: "v3" } }] })).toEqual([
      ["error", "spec.subsets[0].name", 'subset name "V1_beta" is not a DNS label'],
      ["error", "spec.subsets[2].name", 'subset "v2" is already defined (subsets[1])'],
    ]);
  });

  it("warns about a subset without labels, which selects every endpoint", () => {
    expect(issues({ host: "reviews", subsets: [{ name: "all" }] })).toEqual([
      ["warning", "spec.subsets[0].name", 'subset "all" has no labels, so it selects every endpoint of "reviews"'],
    ]);
  });

  it("rejects invalid subset label keys and values", () => {
    expect(where({ host: "r", subsets: [{ name: "v1", labels: { "bad key!": "v1", version: "-v1" } }] })).toEqual([
      ["error", 'spec.subsets[0].labels["bad key!"]'],
      ["error", "spec.subsets[0].labels.version"],
    ]);
  });

  it("checks the traffic policy of each subset", () => {
    expect(where({ host: "r", subsets: [{ name: "v1", labels: { version: "v1" }, trafficPolicy: { tls: { mode: "MUTUAL" } } }] })).toEqual([
      ["error", "spec.subsets[0].trafficPolicy.tls.clientCertificate"],
      ["error", "spec.subsets[0].trafficPolicy.tls.privateKey"],
    ]);
  });
});

describe("checkDestinationRule: traffic policy", () => {
  it("accepts Istio's circuit breaker, outlier and locality failover examples", () => {
    expect(
      issues(
        withPolicy({
          connectionPool: { tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 } },
          outlierDetection: { consecutive5xxErrors: 1, interval: "1s", baseEjectionTime: "3m", maxEjectionPercent: 100 },
          loadBalancer: { simple: "ROUND_ROBIN", localityLbSetting: { enabled: true, failover: [{ from: "region1", to: "region2" }] } },
        }),
      ),
    ).toEqual([]);
  });

  it("rejects an empty trafficPolicy and an empty connectionPool", () => {
    expect(issues(withPolicy({}))).toEqual([["error", "spec.trafficPolicy", "trafficPolicy is empty"]]);
    expect(issues(withPolicy({ connectionPool: {} }))).toEqual([["error", "spec.trafficPolicy.connectionPool", "connectionPool is empty"]]);
  });

  it("rejects tunnel together with proxyProtocol", () => {
    expect(issues(withPolicy({ tunnel: { targetHost: "proxy.example.com", targetPort: 3128 }, proxyProtocol: { version: "V2" } }))).toEqual([
      ["error", "spec.trafficPolicy.proxyProtocol", "tunnel and proxyProtocol cannot be set together"],
    ]);
  });

  it("rejects a tunnel target that is neither a host name nor an IP", () => {
    expect(where(withPolicy({ tunnel: { targetHost: "proxy_1.example.com", targetPort: 3128 } }))).toEqual([["error", "spec.trafficPolicy.tunnel.targetHost"]]);
    expect(issues(withPolicy({ tunnel: { targetHost: "2001:db8::1", targetPort: 3128 } }))).toEqual([]);
  });

  it("requires a port on each port-level setting and rejects two settings for one port", () => {
    expect(
      issues(
        withPolicy({
          portLevelSettings: [
            { loadBalancer: { simple: "RANDOM" } },
            { port: { number: 9080 }, loadBalancer: { simple: "RANDOM" } },
            { port: { number: 9080 }, tls: { mode: "SIMPLE" } },
            { port: {}, tls: { mode: "SIMPLE" } },
          ],
        }),
      ),
    ).toEqual([
      ["error", "spec.trafficPolicy.portLevelSettings[0].port", "a port-level setting needs a port"],
      ["error", "spec.trafficPolicy.portLevelSettings[2].port.number", "port 9080 already has a port-level setting (portLevelSettings[1])"],
      ["error", "spec.trafficPolicy.portLevelSettings[3].port.number", "port.number must be set (1-65535)"],
    ]);
  });

  it("rejects a port-level setting that sets nothing", () => {
    expect(issues(withPolicy({ portLevelSettings: [{ port: { number: 80 } }] }))).toEqual([
      ["error", "spec.trafficPolicy.portLevelSettings[0]", "the port-level setting for port 80 sets nothing"],
    ]);
  });

  it("rejects durations below 1ms or with sub-millisecond precision, but allows tcp idleTimeout 0s", () => {
    expect(
      issues(withPolicy({ outlierDetection: { interval: "500us", baseEjectionTime: "1.5ms" }, connectionPool: { tcp: { connectTimeout: "0s", idleTimeout: "0s" } } })),
    ).toEqual([
      ["error", "spec.trafficPolicy.outlierDetection.interval", "duration 0.5ms is shorter than 1ms"],
      ["error", "spec.trafficPolicy.outlierDetection.baseEjectionTime", "duration 1.5ms is not a whole number of milliseconds"],
      ["error", "spec.trafficPolicy.connectionPool.tcp.connectTimeout", "duration 0s is shorter than 1ms"],
    ]);
  });

  it("rejects useClientProtocol with h2UpgradePolicy UPGRADE", () => {
    expect(where(withPolicy({ connectionPool: { http: { h2UpgradePolicy: "UPGRADE", useClientProtocol: true } } }))).toEqual([
      ["error", "spec.trafficPolicy.connectionPool.http.useClientProtocol"],
    ]);
    expect(issues(withPolicy({ connectionPool: { http: { h2UpgradePolicy: "DO_NOT_UPGRADE", useClientProtocol: true } } }))).toEqual([]);
  });
});

describe("checkDestinationRule: outlier detection", () => {
  it("rejects consecutiveLocalOriginFailures without splitExternalLocalOriginErrors", () => {
    expect(where(withPolicy({ outlierDetection: { consecutiveLocalOriginFailures: 3 } }))).toEqual([
      ["error", "spec.trafficPolicy.outlierDetection.consecutiveLocalOriginFailures"],
    ]);
    expect(issues(withPolicy({ outlierDetection: { consecutiveLocalOriginFailures: 3, splitExternalLocalOriginErrors: true } }))).toEqual([]);
  });

  it("warns that consecutiveErrors is deprecated, and ignored beside consecutive5xxErrors", () => {
    expect(issues(withPolicy({ outlierDetection: { consecutiveErrors: 5 } }))).toEqual([
      ["warning", "spec.trafficPolicy.outlierDetection.consecutiveErrors", "consecutiveErrors is deprecated"],
    ]);
    expect(issues(withPolicy({ outlierDetection: { consecutiveErrors: 5, consecutive5xxErrors: 3 } }))).toEqual([
      ["warning", "spec.trafficPolicy.outlierDetection.consecutiveErrors", "consecutiveErrors is deprecated and ignored because consecutive5xxErrors is set"],
    ]);
  });
});

describe("checkDestinationRule: load balancer", () => {
  const lb = (loadBalancer: unknown) => withPolicy({ loadBalancer });

  it("accepts each single hash key", () => {
    for (const key of [{ httpHeaderName: "x-user" }, { httpCookie: { name: "user", ttl: "0s" } }, { useSourceIp: true }, { httpQueryParameterName: "q" }]) {
      expect(issues(lb({ consistentHash: key }))).toEqual([]);
    }
  });

  it("rejects consistentHash without a hash key, or with useSourceIp: false only", () => {
    expect(issues(lb({ consistentHash: { ringHash: { minimumRingSize: 1024 } } }))).toEqual([
      ["error", "spec.trafficPolicy.loadBalancer.consistentHash", "consistentHash has no hash key, so requests are not tied to any host"],
    ]);
    expect(where(lb({ consistentHash: { useSourceIp: false } }))).toEqual([["error", "spec.trafficPolicy.loadBalancer.consistentHash.useSourceIp"]]);
  });

  it("rejects Maglev table sizes that are missing, not prime, or too large", () => {
    const maglev = (tableSize?: number) => lb({ consistentHash: { httpHeaderName: "x", maglev: tableSize === undefined ? {} : { tableSize } } });
    expect(issues(maglev(65537))).toEqual([]);
    expect(issues(maglev())).toEqual([["error", "spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize", "maglev needs a tableSize"]]);
    expect(issues(maglev(65536))).toEqual([["error", "spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize", "tableSize 65536 is not a prime number"]]);
    expect(issues(maglev(5_000_011))).toEqual([["error", "spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize", "tableSize 5000011 is not below 5000011"]]);
  });

  it("warns about the deprecated minimumRingSize, and rejects it beside ringHash", () => {
    expect(issues(lb({ consistentHash: { httpHeaderName: "x", minimumRingSize: 1024 } }))).toEqual([
      ["warning", "spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize", "consistentHash.minimumRingSize is deprecated"],
    ]);
    expect(where(lb({ consistentHash: { httpHeaderName: "x", minimumRingSize: 1024, ringHash: { minimumRingSize: 2048 } } }))).toEqual([
      ["error", "spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize"],
    ]);
  });

  it("warns about LEAST_CONN, warmupDurationSecs, and warmup with an algorithm that ignores it", () => {
    expect(where(lb({ simple: "LEAST_CONN" }))).toEqual([["warning", "spec.trafficPolicy.loadBalancer.simple"]]);
    expect(where(lb({ simple: "ROUND_ROBIN", warmupDurationSecs: "30s" }))).toEqual([["warning", "spec.trafficPolicy.loadBalancer.warmupDurationSecs"]]);
    expect(issues(lb({ simple: "RANDOM", warmup: { duration: "30s" } }))).toEqual([
      ["warning", "spec.trafficPolicy.loadBalancer.warmup", "warmup has no effect with RANDOM"],
    ]);
    expect(issues(lb({ simple: "LEAST_REQUEST", warmup: { duration: "30s", minimumPercent: 10 } }))).toEqual([]);
  });
});

describe("checkDestinationRule: locality load balancing", () => {
  const locality = (localityLbSetting: unknown, outlier = true) =>
    withPolicy({ loadBalancer: { localityLbSetting }, ...(outlier ? { outlierDetection: { consecutive5xxErrors: 1 } } : {}) });

  it("accepts the reference's distribute example", () => {
    expect(
      issues(
        locality({
          distribute: [
            { from: "us-west/zone1/*", to: { "us-west/zone1/*": 80, "us-west/zone2/*": 20 } },
            { from: "us-west/zone2/*", to: { "us-west/zone1/*": 20, "us-west/zone2/*": 80 } },
          ],
        }),
      ),
    ).toEqual([]);
  });

  it("rejects weights that do not add up to 100 for a `from` locality", () => {
    expect(issues(locality({ distribute: [{ from: "us-west/zone1/*", to: { "us-west/zone1/*": 70, "us-west/zone2/*": 20 } }] }))).toEqual([
      ["error", "spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to", 'weights for traffic from "us-west/zone1/*" add up to 90, not 100'],
    ]);
  });

  it("rejects a zero weight, overlapping and malformed localities", () => {
    expect(where(locality({ distribute: [{ from: "us-west/*", to: { "us-west/*": 100, "us-east": 0 } }] }))).toEqual([
      ["error", "spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to.us-east"],
    ]);
    expect(issues(locality({ distribute: [{ from: "us-west/*", to: { "us-west/*": 50, "us-west/zone1": 50 } }] }))).toEqual([
      ["error", 'spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to["us-west/zone1"]', 'locality "us-west/zone1" overlaps "us-west/*"'],
    ]);
    expect(where(locality({ distribute: [{ from: "us-*/zone1", to: { "us-west": 100 } }] }))).toEqual([
      ["error", "spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].from"],
    ]);
  });

  it("rejects distribute together with failover", () => {
    expect(issues(locality({ distribute: [{ from: "a/*", to: { "a/*": 100 } }], failover: [{ from: "a", to: "b" }] }))).toEqual([
      ["error", "spec.trafficPolicy.loadBalancer.localityLbSetting.failover", "distribute and failover cannot be set together"],
    ]);
  });

  it("rejects failover to the same region, to a zone, or with a wildcard", () => {
    expect(where(locality({ failover: [{ from: "region1", to: "region1" }, { from: "region2", to: "region3/zone1" }, { from: "*", to: "region1" }] }))).toEqual([
      ["error", "spec.trafficPolicy.loadBalancer.localityLbSetting.failover[0].to"],
      ["error", "spec.trafficPolicy.loadBalancer.localityLbSetting.failover[1].to"],
      ["error", "spec.trafficPolicy.loadBalancer.localityLbSetting.failover[2].from"],
    ]);
  });

  it("rejects region/zone topology labels in failoverPriority beside failover", () => {
    expect(where(locality({ failover: [{ from: "a", to: "b" }], failoverPriority: ["topology.istio.io/network", "topology.kubernetes.io/region"] }))).toEqual([
      ["error", "spec.trafficPolicy.loadBalancer.localityLbSetting.failoverPriority[1]"],
    ]);
  });

  it("warns that failover does nothing without outlier detection", () => {
    expect(issues(locality({ failoverPriority: ["topology.istio.io/network"] }, false))).toEqual([
      ["warning", "spec.trafficPolicy.loadBalancer.localityLbSetting.failoverPriority", "locality failover has no effect without outlierDetection"],
    ]);
  });
});

describe("checkDestinationRule: client TLS", () => {
  const tls = (settings: unknown) => withPolicy({ tls: settings });

  it("accepts MUTUAL with files, MUTUAL with a credential, SIMPLE and ISTIO_MUTUAL with an SNI", () => {
    expect(issues(tls({ mode: "MUTUAL", clientCertificate: "/c.pem", privateKey: "/k.pem", caCertificates: "/ca.pem" }))).toEqual([]);
    expect(issues(tls({ mode: "MUTUAL", credentialName: "client-credential" }))).toEqual([]);
    expect(issues(tls({ mode: "SIMPLE" }))).toEqual([]);
    expect(issues(tls({ mode: "ISTIO_MUTUAL", sni: "edition.cnn.com" }))).toEqual([]);
  });

  it("requires the client certificate and key for MUTUAL without credentialName", () => {
    expect(issues(tls({ mode: "MUTUAL", caCertificates: "/ca.pem" }))).toEqual([
      ["error", "spec.trafficPolicy.tls.clientCertificate", "mode MUTUAL needs clientCertificate"],
      ["error", "spec.trafficPolicy.tls.privateKey", "mode MUTUAL needs privateKey"],
    ]);
  });

  it("rejects certificate files together with credentialName", () => {
    expect(where(tls({ mode: "SIMPLE", credentialName: "c", caCertificates: "/ca.pem", caCrl: "/crl.pem" }))).toEqual([
      ["error", "spec.trafficPolicy.tls.caCertificates"],
      ["error", "spec.trafficPolicy.tls.caCrl"],
    ]);
  });

  it("rejects verification settings when insecureSkipVerify turns verification off", () => {
    expect(where(tls({ mode: "SIMPLE", insecureSkipVerify: true, subjectAltNames: ["a"] }))).toEqual([["error", "spec.trafficPolicy.tls.subjectAltNames"]]);
    expect(where(tls({ mode: "MUTUAL", credentialName: "c", insecureSkipVerify: true, subjectAltNames: ["a"] }))).toEqual([["error", "spec.trafficPolicy.tls.subjectAltNames"]]);
  });

  it("warns that certificates are ignored with ISTIO_MUTUAL", () => {
    expect(where(tls({ mode: "ISTIO_MUTUAL", clientCertificate: "/c.pem" }))).toEqual([["warning", "spec.trafficPolicy.tls.clientCertificate"]]);
  });
});

describe("checkDestinationRule: exportTo and workloadSelector", () => {
  it("accepts ., * and namespace names", () => {
    expect(issues({ host: "r", exportTo: ["."] })).toEqual([]);
    expect(issues({ host: "r", exportTo: ["*"] })).toEqual([]);
    expect(issues({ host: "r", exportTo: [".", "prod"] })).toEqual([]);
  });

  it("rejects duplicates, including . beside the rule's own namespace", () => {
    expect(issues({ host: "r", exportTo: ["prod", "prod"] })).toEqual([["error", "spec.exportTo[1]", '"prod" is listed twice']]);
    expect(issues({ host: "r", exportTo: [".", "default"] }, "default")).toEqual([["error", "spec.exportTo[1]", '"default" and "." both name namespace "default"']]);
  });

  it("rejects ~ (ServiceEntry only), * beside other entries, and names that are not namespaces", () => {
    expect(where({ host: "r", exportTo: ["~"] })).toEqual([["error", "spec.exportTo[0]"]]);
    expect(where({ host: "r", exportTo: ["*", "prod"] })).toEqual([["error", "spec.exportTo[0]"]]);
    expect(where({ host: "r", exportTo: ["Prod_1"] })).toEqual([["error", "spec.exportTo[0]"]]);
  });

  it("keeps a rule with a workloadSelector in its own namespace", () => {
    const selector = { matchLabels: { app: "ratings" } };
    expect(issues({ host: "r", workloadSelector: selector, exportTo: ["."] }, "default")).toEqual([]);
    expect(issues({ host: "r", workloadSelector: selector, exportTo: ["default"] }, "default")).toEqual([]);
    expect(where({ host: "r", workloadSelector: selector, exportTo: ["istio-system"] }, "default")).toEqual([["error", "spec.exportTo[0]"]]);
  });

  it("rejects wildcards in the selector and warns about a selector without labels", () => {
    expect(where({ host: "r", workloadSelector: { matchLabels: { app: "rat*" } } })).toEqual([["error", "spec.workloadSelector.matchLabels.app"]]);
    expect(where({ host: "r", workloadSelector: {} })).toEqual([["warning", "spec.workloadSelector"]]);
  });
});

describe("testdata/cases with DestinationRule resources", () => {
  // Files named *-invalid-* show mistakes: each DestinationRule in them must be rejected;
  // every DestinationRule in the other case files must be accepted (warnings allowed).
  const dir = join(import.meta.dirname, "../../testdata/cases");
  const files = readdirSync(dir).filter((f) => /^destination-rule-.*\.yaml$/.test(f)).sort();

  it("has valid and invalid cases", () => {
    expect(files.filter((f) => f.includes("-invalid-")).length).toBeGreaterThan(3);
    expect(files.filter((f) => !f.includes("-invalid-")).length).toBeGreaterThan(3);
  });

  it.each(files)("%s", (file) => {
    const documents = jsYaml.loadAll(readFileSync(join(dir, file), "utf8")) as { kind?: string; metadata?: { name?: string; namespace?: string }; spec?: unknown }[];
    const rules = documents.filter((d) => d.kind === "DestinationRule");
    expect(rules.length).toBeGreaterThan(0);
    for (const doc of rules) {
      const { problems, decoded } = checkValue(DestinationRuleSpec, doc.spec ?? {}, ["spec"]);
      const errors = [
        ...problems.map((p) => `${p.name} ${formatPath(p.path)}`),
        ...(problems.length > 0 ? [] : checkDestinationRule(decoded as DestinationRuleSpec, { namespace: doc.metadata?.namespace, name: doc.metadata?.name ?? "" }))
          .filter((i) => (i.severity ?? "error") === "error")
          .map((i) => `${formatPath(i.path)}: ${i.message}`),
      ];
      if (file.includes("-invalid-")) expect(errors, `${doc.metadata?.name} should be rejected`).not.toEqual([]);
      else expect(errors, `${doc.metadata?.name} should be accepted`).toEqual([]);
    }
  });
});
