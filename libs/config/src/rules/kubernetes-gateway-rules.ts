// Semantic checks on a Gateway API Gateway spec that the schema cannot express: the rules of the
// Gateway API's CEL validations and what Meshwork's gateway can serve (HTTP, HTTPS, TLS passthrough,
// TCP), written in our own words.
import type { SpecRule } from "../field-issue.ts";
import { listenerRouteKinds } from "../gateway-api/listener-route-kinds.ts";
import type { KubernetesGatewaySpec } from "../schema/kubernetes-gateway.ts";
import { wildcardDomainProblem } from "./host-names.ts";
import { isIpAddress } from "./ip-addresses.ts";
import { IssueList } from "./issue-list.ts";

const q = (value: unknown): string => JSON.stringify(value);

/** The listener protocols Meshwork's gateway serves. */
export const gatewayListenerProtocols = ["HTTP", "HTTPS", "TLS", "TCP"] as const;

/** Protocols that share a port: HTTP listeners of different host names, HTTPS/TLS ones by SNI. */
const portFamily = (protocol: string): string => (protocol === "HTTPS" || protocol === "TLS" ? "tls" : protocol);

/**
 * Semantic checks of a Gateway API Gateway: listener names unique, supported protocols, TLS
 * settings matching the protocol, host names, one protocol family per port, allowedRoutes.
 */
export const checkKubernetesGateway: SpecRule<KubernetesGatewaySpec> = (spec) => {
  const issues = new IssueList();
  const names = new Map<string, number>();
  const families = new Map<number, { family: string; index: number }>();
  for (const [i, listener] of spec.listeners.entries()) {
    const path = ["spec", "listeners", i];
    const first = names.get(listener.name);
    if (first !== undefined) issues.error([...path, "name"], `listener name ${q(listener.name)} is already used by listeners[${first}]`, "give each listener a unique name, e.g. http or https-example");
    else names.set(listener.name, i);

    const protocol = listener.protocol;
    if (!(gatewayListenerProtocols as readonly string[]).includes(protocol)) {
      const upper = protocol.toUpperCase();
      issues.error(
        [...path, "protocol"],
        `protocol ${q(protocol)} is not served by Meshwork's gateway`,
        (gatewayListenerProtocols as readonly string[]).includes(upper) ? `protocols are case-sensitive: write ${upper}` : "use HTTP, HTTPS, TLS (with tls.mode Passthrough) or TCP",
      );
      continue;
    }
    const mode = listener.tls?.mode ?? "Terminate";
    if (protocol === "HTTP" || protocol === "TCP") {
      if (listener.tls !== undefined) issues.error([...path, "tls"], `a ${protocol} listener has no TLS settings`, "remove tls, or use protocol HTTPS (terminate) or TLS (passthrough)");
    } else if (protocol === "HTTPS") {
      if (mode === "Passthrough") issues.error([...path, "tls", "mode"], "an HTTPS listener terminates TLS; Passthrough is for TLS listeners", "use protocol TLS with mode Passthrough, or mode Terminate with certificateRefs");
      else if ((listener.tls?.certificateRefs ?? []).length === 0) issues.error([...path, "tls"], "an HTTPS listener needs a certificate", "add tls.certificateRefs: [{name: <kubernetes.io/tls Secret>}]", "MissingField");
    } else if (protocol === "TLS") {
      if (listener.tls === undefined || mode === "Terminate") issues.error([...path, "tls", "mode"], "Meshwork's gateway serves TLS listeners in Passthrough mode only", "set tls.mode: Passthrough (TLSRoutes route by SNI), or use protocol HTTPS to terminate");
    }
    for (const [j, ref] of (listener.tls?.certificateRefs ?? []).entries()) {
      if ((ref.group ?? "") !== "" || ref.kind !== "Secret") issues.error([...path, "tls", "certificateRefs", j], `certificateRef ${q(`${ref.group ?? ""}/${ref.kind ?? "Secret"}`)} is not a Secret`, "refer to a Secret: group \"\" (or unset), kind Secret");
    }
    // Gateway API: protocols without host names (TCP) ignore the listener's hostname.
    if (listener.hostname !== undefined && protocol === "TCP") issues.warn([...path, "hostname"], `a TCP listener's hostname ${q(listener.hostname)} is ignored: TCP carries no host name`, "remove hostname, or use protocol TLS (Passthrough) to route by SNI");
    else if (listener.hostname !== undefined) {
      const problem = isIpAddress(listener.hostname) ? "is an IP address" : listener.hostname === "*" ? "is a bare wildcard" : wildcardDomainProblem(listener.hostname);
      if (problem !== undefined) issues.error([...path, "hostname"], `hostname ${q(listener.hostname)} ${problem}`, "write a DNS name, optionally starting with `*.`, or leave hostname unset for every host");
    }
    const from = listener.allowedRoutes?.namespaces;
    if (from?.from === "Selector" && from.selector === undefined) issues.error([...path, "allowedRoutes", "namespaces", "selector"], "from: Selector needs a selector", "add selector.matchLabels, or use from: Same or All", "MissingField");
    for (const [e, expression] of (from?.selector?.matchExpressions ?? []).entries()) {
      const at = [...path, "allowedRoutes", "namespaces", "selector", "matchExpressions", e, "values"];
      const values = expression.values ?? [];
      // Kubernetes' LabelSelectorRequirement: In and NotIn need values, Exists and DoesNotExist take none.
      if ((expression.operator === "In" || expression.operator === "NotIn") && values.length === 0) issues.error(at, `operator ${expression.operator} needs values`, `add values: [<label value>], or use operator ${expression.operator === "In" ? "Exists" : "DoesNotExist"}`, "MissingField");
      if ((expression.operator === "Exists" || expression.operator === "DoesNotExist") && values.length > 0) issues.error(at, `operator ${expression.operator} takes no values`, `remove values, or use operator ${expression.operator === "Exists" ? "In" : "NotIn"}`);
    }
    const served = listenerRouteKinds(protocol);
    for (const [k, kind] of (listener.allowedRoutes?.kinds ?? []).entries()) {
      if ((kind.group ?? "gateway.networking.k8s.io") === "gateway.networking.k8s.io" && served.includes(kind.kind)) continue;
      issues.warn([...path, "allowedRoutes", "kinds", k], `a ${protocol} listener cannot take ${kind.group !== undefined && kind.group !== "gateway.networking.k8s.io" ? `${kind.group}/` : ""}${kind.kind}s; the entry admits nothing`, `a ${protocol} listener takes ${served.join(" and ")}`);
    }

    const family = portFamily(protocol);
    const other = families.get(listener.port);
    if (other !== undefined && other.family !== family) {
      issues.error([...path, "protocol"], `port ${listener.port} is already ${spec.listeners[other.index]?.protocol ?? ""} in listeners[${other.index}]`, "listeners sharing a port must use compatible protocols (HTTP with HTTP, HTTPS and TLS by SNI); pick another port");
    } else if (other === undefined) {
      families.set(listener.port, { family, index: i });
    }
  }
  return issues.list;
};
