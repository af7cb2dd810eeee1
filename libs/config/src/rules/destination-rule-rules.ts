// Semantic checks of a DestinationRule beyond its schema: host and subset names, traffic policy
// consistency (TLS modes, consistent hashing, locality weights, durations), exportTo. Follows what
// Istio's webhook rejects (istio/istio pkg/config/validation: ValidateDestinationRule and helpers)
// and warns where Istio accepts something that rarely does what was meant.
import type { FieldIssue, FieldPath, SpecRule } from "../field-issue.ts";
import type {
  ClientTLSSettings,
  DestinationRuleSpec,
  LoadBalancerSettings,
  LocalityLoadBalancerSetting,
  OutlierDetection,
  PortTrafficPolicy,
  TrafficPolicy,
} from "../schema/destination-rule.ts";
import { checkConnectionPool } from "./connection-pool.ts";
import { checkDuration } from "./durations.ts";
import { exportToIssues } from "./export-to.ts";
import { fqdnProblem, isDnsLabel, wildcardDomainProblem } from "./host-names.ts";
import { isIpAddress } from "./ip-addresses.ts";
import { labelIssues, selectorIssues } from "./labels.ts";

// --- outlier detection ----------------------------------------------------------------------

function checkOutlierDetection(outlier: OutlierDetection | undefined, path: FieldPath): FieldIssue[] {
  if (outlier === undefined) return [];
  const issues: FieldIssue[] = [
    ...checkDuration(outlier.interval, [...path, "interval"]),
    ...checkDuration(outlier.baseEjectionTime, [...path, "baseEjectionTime"]),
  ];
  if (outlier.consecutiveErrors !== undefined && outlier.consecutiveErrors !== 0) {
    issues.push({
      path: [...path, "consecutiveErrors"],
      severity: "warning",
      message: `consecutiveErrors is deprecated${outlier.consecutive5xxErrors !== undefined ? " and ignored because consecutive5xxErrors is set" : ""}`,
      hint: `use consecutive5xxErrors: ${outlier.consecutiveErrors} (or consecutiveGatewayErrors for 502/503/504 only)`,
    });
  }
  if (outlier.splitExternalLocalOriginErrors !== true && (outlier.consecutiveLocalOriginFailures ?? 0) > 0) {
    issues.push({
      path: [...path, "consecutiveLocalOriginFailures"],
      message: `consecutiveLocalOriginFailures (${outlier.consecutiveLocalOriginFailures}) only counts when splitExternalLocalOriginErrors is true`,
      hint: "add splitExternalLocalOriginErrors: true, or remove consecutiveLocalOriginFailures",
    });
  }
  return issues;
}

// --- load balancing -------------------------------------------------------------------------

// Envoy's test (source/common/common/utility.cc), which Istio copies: Maglev table sizes must be prime.
function isPrime(n: number): boolean {
  if (n !== 0 && n < 4) return true;
  if (n % 2 === 0) return false;
  for (let factor = 3; factor * factor <= n; factor += 2) if (n % factor === 0) return false;
  return true;
}

const maglevTableSizeLimit = 5_000_011;

function checkLoadBalancer(lb: LoadBalancerSettings | undefined, path: FieldPath, outlier: OutlierDetection | undefined): FieldIssue[] {
  if (lb === undefined) return [];
  const issues: FieldIssue[] = [];
  if (lb.simple === "LEAST_CONN") {
    issues.push({ path: [...path, "simple"], severity: "warning", message: "LEAST_CONN is deprecated", hint: "use LEAST_REQUEST (same behaviour)" });
  }
  const hash = lb.consistentHash;
  if (hash !== undefined) {
    const hashPath = [...path, "consistentHash"];
    const keys = (["httpHeaderName", "httpCookie", "useSourceIp", "httpQueryParameterName"] as const).filter((k) => hash[k] !== undefined);
    if (keys.length === 0) {
      issues.push({
        name: "MissingField",
        path: hashPath,
        message: "consistentHash has no hash key, so requests are not tied to any host",
        hint: "set one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName",
      });
    }
    if (hash.useSourceIp === false && keys.length === 1) {
      issues.push({ path: [...hashPath, "useSourceIp"], message: "useSourceIp: false selects no hash key", hint: "set useSourceIp: true or use another hash key" });
    }
    if (hash.minimumRingSize !== undefined && hash.minimumRingSize !== 0) {
      if (hash.ringHash !== undefined || hash.maglev !== undefined) {
        issues.push({
          name: "ExclusiveFields",
          path: [...hashPath, "minimumRingSize"],
          message: `the deprecated minimumRingSize cannot be combined with ${hash.ringHash !== undefined ? "ringHash" : "maglev"}`,
          hint: "move the value to ringHash.minimumRingSize",
        });
      } else {
        issues.push({
          path: [...hashPath, "minimumRingSize"],
          severity: "warning",
          message: "consistentHash.minimumRingSize is deprecated",
          hint: `write ringHash: {minimumRingSize: ${hash.minimumRingSize}}`,
        });
      }
    }
    const tableSize = hash.maglev?.tableSize;
    if (hash.maglev !== undefined) {
      const sizePath = [...hashPath, "maglev", "tableSize"];
      if (tableSize === undefined || tableSize === 0) {
        issues.push({ name: "MissingField", path: sizePath, message: "maglev needs a tableSize", hint: "set a prime such as 65537" });
      } else if (tableSize >= maglevTableSizeLimit) {
        issues.push({ path: sizePath, message: `tableSize ${tableSize} is not below ${maglevTableSizeLimit}`, hint: "use a prime below 5000011, e.g. 65537" });
      } else if (!isPrime(tableSize)) {
        issues.push({ path: sizePath, message: `tableSize ${tableSize} is not a prime number`, hint: "use a prime, e.g. 65537 or 131071" });
      }
    }
  }
  issues.push(...checkDuration(lb.warmupDurationSecs, [...path, "warmupDurationSecs"]));
  if (lb.warmupDurationSecs !== undefined) {
    issues.push({
      path: [...path, "warmupDurationSecs"],
      severity: "warning",
      message: "warmupDurationSecs is deprecated",
      hint: lb.warmup !== undefined ? "remove it: warmup is set" : "write warmup: {duration: ...} instead",
    });
  }
  if (lb.warmup !== undefined) issues.push(...checkDuration(lb.warmup.duration, [...path, "warmup", "duration"]));
  if (lb.warmup !== undefined || lb.warmupDurationSecs !== undefined) {
    const algorithm = hash !== undefined ? "consistentHash" : lb.simple;
    if (algorithm !== undefined && algorithm !== "ROUND_ROBIN" && algorithm !== "LEAST_REQUEST" && algorithm !== "UNSPECIFIED") {
      issues.push({
        path: [...path, lb.warmup !== undefined ? "warmup" : "warmupDurationSecs"],
        severity: "warning",
        message: `warmup has no effect with ${algorithm}`,
        hint: "warmup works with ROUND_ROBIN and LEAST_REQUEST only",
      });
    }
  }
  issues.push(...checkLocality(lb.localityLbSetting, [...path, "localityLbSetting"], outlier));
  return issues;
}

// Topology labels that failover already orders by; Istio rejects them beside failover.
const regionZoneLabels = new Set(["topology.kubernetes.io/region", "topology.kubernetes.io/zone", "topology.istio.io/subzone"]);

/** `region/zone/sub-zone` with an optional trailing `*` segment, as segments without the wildcard; undefined when malformed. */
function localitySegments(locality: string): { segments: string[]; problem?: string } {
  const stars = locality.split("*").length - 1;
  if (stars > 1 || (stars === 1 && !locality.endsWith("*"))) {
    return { segments: [], problem: `locality "${locality}" may contain one "*", only at the end` };
  }
  const parts = locality.split("/");
  if (parts.length > 3) return { segments: [], problem: `locality "${locality}" has more than region/zone/sub-zone` };
  if (parts.at(-1) === "*") parts.pop();
  if (parts.some((p) => p === "")) return { segments: [], problem: `locality "${locality}" has an empty region, zone or sub-zone` };
  return { segments: parts };
}

/** Checks a set of localities for format and overlap (one covering another, e.g. `us-west/*` and `us-west/zone1`). */
function checkLocalities(localities: readonly { value: string; path: FieldPath }[]): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const accepted: { value: string; segments: string[] }[] = [];
  for (const { value, path } of localities) {
    const { segments, problem } = localitySegments(value);
    if (problem !== undefined) {
      issues.push({ path, message: problem, hint: "write region, region/zone or region/zone/sub-zone, optionally ending in /*" });
      continue;
    }
    const overlap = accepted.find((a) => a.segments.length <= segments.length ? a.segments.every((s, i) => s === segments[i]) : segments.every((s, i) => s === a.segments[i]));
    if (overlap !== undefined) {
      issues.push({ path, message: `locality "${value}" overlaps "${overlap.value}"`, hint: "list each locality once; a shorter locality covers everything below it" });
      continue;
    }
    accepted.push({ value, segments });
  }
  return issues;
}

function checkLocality(setting: LocalityLoadBalancerSetting | undefined, path: FieldPath, outlier: OutlierDetection | undefined): FieldIssue[] {
  if (setting === undefined) return [];
  const distribute = setting.distribute ?? [];
  const failover = setting.failover ?? [];
  const priority = setting.failoverPriority ?? [];
  if (distribute.length > 0 && failover.length > 0) {
    return [{
      name: "ExclusiveFields",
      path: [...path, "failover"],
      message: "distribute and failover cannot be set together",
      hint: "use distribute to weight localities, or failover to order regions, not both",
    }];
  }
  const issues: FieldIssue[] = [];
  if (failover.length > 0) {
    priority.forEach((label, i) => {
      if (regionZoneLabels.has(label)) {
        issues.push({
          path: [...path, "failoverPriority", i],
          message: `"${label}" cannot be used in failoverPriority together with failover`,
          hint: "failover already orders by region, zone and sub-zone; remove the label or the failover list",
        });
      }
    });
  }
  distribute.forEach((d, i) => {
    const toPath = [...path, "distribute", i, "to"];
    let total = 0;
    for (const [locality, weight] of Object.entries(d.to)) {
      if (weight < 1 || weight > 100) {
        issues.push({ path: [...toPath, locality], message: `weight ${weight} for "${locality}" is not in 1..100`, hint: "give each locality a weight from 1 to 100; leave out localities that get no traffic" });
      }
      total += weight;
    }
    if (total !== 100) {
      issues.push({
        path: toPath,
        message: `weights for traffic from "${d.from}" add up to ${total}, not 100`,
        hint: "make the weights in `to` sum to exactly 100",
      });
    }
    issues.push(...checkLocalities(Object.keys(d.to).map((value) => ({ value, path: [...toPath, value] }))));
  });
  issues.push(...checkLocalities(distribute.map((d, i) => ({ value: d.from, path: [...path, "distribute", i, "from"] }))));
  if ((failover.length > 0 || priority.length > 0) && outlier === undefined) {
    issues.push({
      path: [...path, failover.length > 0 ? "failover" : "failoverPriority"],
      severity: "warning",
      message: "locality failover has no effect without outlierDetection",
      hint: "add trafficPolicy.outlierDetection so unhealthy endpoints are detected",
    });
  }
  failover.forEach((f, i) => {
    const fPath = [...path, "failover", i];
    if (f.from === f.to) {
      issues.push({ path: [...fPath, "to"], message: `failover from "${f.from}" to itself`, hint: "fail over to a different region" });
    }
    for (const key of ["from", "to"] as const) {
      if (f[key].includes("/")) {
        issues.push({ path: [...fPath, key], message: `"${f[key]}" is not a region: failover works between regions`, hint: "write only the region, e.g. us-east" });
      } else if (f[key].includes("*")) {
        issues.push({ path: [...fPath, key], message: `"${f[key]}" contains a wildcard`, hint: "name one region, without *" });
      }
    }
  });
  return issues;
}

// --- TLS ------------------------------------------------------------------------------------

/** Checks client-side TLS settings (DestinationRule `tls`). */
export function checkClientTls(tls: ClientTLSSettings | undefined, path: FieldPath): FieldIssue[] {
  if (tls === undefined) return [];
  const issues: FieldIssue[] = [];
  const mode = tls.mode ?? "DISABLE";
  const has = (v: string | undefined): boolean => v !== undefined && v !== "";
  if (tls.insecureSkipVerify === true) {
    const verifying =
      mode === "SIMPLE"
        ? (["caCertificates", "credentialName", "subjectAltNames"] as const)
        : mode === "MUTUAL"
          ? (["caCertificates", "subjectAltNames"] as const)
          : [];
    for (const field of verifying) {
      if (tls[field] !== undefined) {
        issues.push({
          name: "ExclusiveFields",
          path: [...path, field],
          message: `${field} is used to verify the server, which insecureSkipVerify: true turns off`,
          hint: `remove ${field} or insecureSkipVerify`,
        });
      }
    }
  }
  if ((mode === "SIMPLE" || mode === "MUTUAL") && has(tls.credentialName)) {
    for (const field of ["clientCertificate", "privateKey", "caCertificates", "caCrl"] as const) {
      if (has(tls[field])) {
        issues.push({
          name: "ExclusiveFields",
          path: [...path, field],
          message: `${field} cannot be combined with credentialName "${tls.credentialName}"`,
          hint: "put the certificates in the credential's secret, or use file paths without credentialName",
        });
      }
    }
    return issues;
  }
  if (mode === "MUTUAL") {
    for (const field of ["clientCertificate", "privateKey"] as const) {
      if (!has(tls[field])) {
        issues.push({
          name: "MissingField",
          path: [...path, field],
          message: `mode MUTUAL needs ${field}`,
          hint: "set clientCertificate and privateKey (file paths), or credentialName (a secret)",
        });
      }
    }
  }
  if (mode === "ISTIO_MUTUAL") {
    for (const field of ["clientCertificate", "privateKey", "caCertificates", "credentialName", "caCrl"] as const) {
      if (has(tls[field])) {
        issues.push({
          path: [...path, field],
          severity: "warning",
          message: `${field} is ignored with mode ISTIO_MUTUAL, which uses Istio-issued certificates`,
          hint: "remove it, or use mode MUTUAL to present your own certificate",
        });
      }
    }
  }
  return issues;
}

// --- traffic policy -------------------------------------------------------------------------

/** The settings a traffic policy and a port-level policy have in common. */
function checkPolicySettings(policy: TrafficPolicy | PortTrafficPolicy, path: FieldPath): FieldIssue[] {
  return [
    ...checkOutlierDetection(policy.outlierDetection, [...path, "outlierDetection"]),
    ...checkConnectionPool(policy.connectionPool, [...path, "connectionPool"]),
    ...checkLoadBalancer(policy.loadBalancer, [...path, "loadBalancer"], policy.outlierDetection),
    ...checkClientTls(policy.tls, [...path, "tls"]),
  ];
}

function checkPortTrafficPolicy(policy: PortTrafficPolicy, path: FieldPath): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const number = policy.port?.number;
  if (policy.port === undefined) {
    issues.push({ name: "MissingField", path: [...path, "port"], message: "a port-level setting needs a port", hint: "add port: {number: 9080}" });
  } else if (number === undefined || number === 0) {
    issues.push({ name: "MissingField", path: [...path, "port", "number"], message: "port.number must be set (1-65535)", hint: "add number: 9080" });
  }
  if (policy.loadBalancer === undefined && policy.connectionPool === undefined && policy.outlierDetection === undefined && policy.tls === undefined) {
    issues.push({
      path,
      message: `the port-level setting for port ${number ?? "?"} sets nothing`,
      hint: "add loadBalancer, connectionPool, outlierDetection or tls, or remove the entry",
    });
  }
  issues.push(...checkPolicySettings(policy, path));
  return issues;
}

/** Checks a traffic policy (DestinationRule or subset level) found at `path`. */
export function checkTrafficPolicy(policy: TrafficPolicy | undefined, path: FieldPath): FieldIssue[] {
  if (policy === undefined) return [];
  if (Object.keys(policy).length === 0) {
    return [{ path, message: "trafficPolicy is empty", hint: "set loadBalancer, connectionPool, outlierDetection, tls or portLevelSettings, or remove trafficPolicy" }];
  }
  const issues: FieldIssue[] = [];
  if (policy.tunnel !== undefined && policy.proxyProtocol !== undefined) {
    issues.push({
      name: "ExclusiveFields",
      path: [...path, "proxyProtocol"],
      message: "tunnel and proxyProtocol cannot be set together",
      hint: "keep one of tunnel, proxyProtocol",
    });
  }
  issues.push(...checkPolicySettings(policy, path));
  const seenPorts = new Map<number, number>();
  (policy.portLevelSettings ?? []).forEach((portPolicy, i) => {
    const portPath = [...path, "portLevelSettings", i];
    issues.push(...checkPortTrafficPolicy(portPolicy, portPath));
    const number = portPolicy.port?.number;
    if (number === undefined || number === 0) return;
    const earlier = seenPorts.get(number);
    if (earlier !== undefined) {
      issues.push({
        path: [...portPath, "port", "number"],
        message: `port ${number} already has a port-level setting (portLevelSettings[${earlier}])`,
        hint: "merge the two entries into one",
      });
    } else {
      seenPorts.set(number, i);
    }
  });
  const tunnel = policy.tunnel;
  if (tunnel !== undefined) {
    const target = tunnel.targetHost;
    if (!isIpAddress(target) && (fqdnProblem(target) !== undefined || target.includes("*"))) {
      issues.push({
        name: "InvalidHost",
        path: [...path, "tunnel", "targetHost"],
        message: `tunnel targetHost "${target}" is neither an FQDN nor an IP address`,
        hint: "write a host name such as proxy.example.com or an IP address",
      });
    }
  }
  issues.push(...checkDuration(policy.retryBudget?.budgetInterval, [...path, "retryBudget", "budgetInterval"], { allowZero: true }));
  return issues;
}

// --- the rule -------------------------------------------------------------------------------

/** Semantic checks of a DestinationRule spec beyond its schema. */
export const checkDestinationRule: SpecRule<DestinationRuleSpec> = (spec, context) => {
  const issues: FieldIssue[] = [];
  const hostProblem = wildcardDomainProblem(spec.host);
  if (hostProblem !== undefined) {
    issues.push({
      name: "InvalidHost",
      path: ["spec", "host"],
      message: `host "${spec.host}" is not a valid host name: it ${hostProblem}`,
      hint: spec.host.includes(":")
        ? "write only the host name, without scheme or port (ports go in portLevelSettings)"
        : "use a service name such as reviews, reviews.prod.svc.cluster.local or *.example.com",
    });
  }
  issues.push(...checkTrafficPolicy(spec.trafficPolicy, ["spec", "trafficPolicy"]));
  const subsetNames = new Map<string, number>();
  (spec.subsets ?? []).forEach((subset, i) => {
    const path: FieldPath = ["spec", "subsets", i];
    if (!isDnsLabel(subset.name)) {
      issues.push({
        path: [...path, "name"],
        message: `subset name "${subset.name}" is not a DNS label`,
        hint: "use lowercase letters, digits and '-', at most 63 characters, e.g. v1 or canary",
      });
    }
    const earlier = subsetNames.get(subset.name);
    if (earlier !== undefined) {
      issues.push({
        path: [...path, "name"],
        message: `subset "${subset.name}" is already defined (subsets[${earlier}])`,
        hint: "give each subset a unique name",
      });
    } else {
      subsetNames.set(subset.name, i);
    }
    if (subset.labels === undefined || Object.keys(subset.labels).length === 0) {
      issues.push({
        path: [...path, subset.labels === undefined ? "name" : "labels"],
        severity: "warning",
        message: `subset "${subset.name}" has no labels, so it selects every endpoint of "${spec.host}"`,
        hint: "add labels such as version: v1 (a subset without labels is only useful to attach a policy, e.g. a TLS SNI, to a name)",
      });
    }
    issues.push(...labelIssues(subset.labels, [...path, "labels"]), ...checkTrafficPolicy(subset.trafficPolicy, [...path, "trafficPolicy"]));
  });
  issues.push(
    ...exportToIssues(spec.exportTo, ["spec", "exportTo"], { namespace: context.namespace, hasWorkloadSelector: spec.workloadSelector !== undefined }),
    ...selectorIssues(spec.workloadSelector, ["spec", "workloadSelector"], { labelsField: "matchLabels" }),
  );
  return issues;
};
