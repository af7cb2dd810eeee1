// WeightsNotHundred: the weights of a route's destinations are meant as percentages but do not add
// up to 100. Istio takes them as relative shares (older releases rejected the resource), so the
// traffic split is not the one written; the message says what each destination really gets. A lone
// destination gets all traffic whatever its weight.
import type { ConfigIssue } from "../config-issue.ts";
import type { FieldPath } from "../field-issue.ts";
import type { Destination } from "../schema/virtual-service.ts";
import { makeFinding, q } from "./make-finding.ts";
import type { MeshIndex } from "./mesh-index.ts";

interface WeightedRoute {
  readonly destinations: readonly { readonly destination: Destination; readonly weight?: number | undefined }[];
  readonly path: FieldPath;
}

/** One finding per HTTP/TLS/TCP route whose explicit weights do not total 100. */
export function findWeightsNotHundred(index: MeshIndex): ConfigIssue[] {
  const findings: ConfigIssue[] = [];
  for (const vs of index.list("VirtualService")) {
    const namespace = index.namespaceOf(vs);
    const routes: WeightedRoute[] = [];
    for (const protocol of ["http", "tls", "tcp"] as const) {
      for (const [i, rule] of (vs.spec[protocol] ?? []).entries()) {
        if (rule.route) routes.push({ destinations: rule.route, path: ["spec", protocol, i, "route"] });
      }
    }
    for (const { destinations, path } of routes) {
      if (!destinations.some((d) => d.weight !== undefined)) continue;
      const total = destinations.reduce((sum, d) => sum + (d.weight ?? 0), 0);
      if (total === 100) continue;
      if (destinations.length === 1) {
        findings.push(
          makeFinding(
            "WeightsNotHundred",
            { resource: vs, namespace, path: [...path, 0, "weight"] },
            {
              message: `the only destination has weight ${total}, but a lone destination receives all traffic`,
              hint: "remove the weight, or add the destinations that should share the traffic",
            },
          ),
        );
        continue;
      }
      // The VirtualService rules already reject a zero total; shares are only meaningful above it.
      if (total === 0) continue;
      const shares = destinations.map((d) => `${describeDestination(d.destination)} ${formatShare(((d.weight ?? 0) * 100) / total)}`).join(", ");
      findings.push(
        makeFinding(
          "WeightsNotHundred",
          { resource: vs, namespace, path },
          {
            message: `weights add up to ${total}, not 100; as relative shares they send ${shares}`,
            hint: "make the weights add up to 100 so they read as the percentages they are",
          },
        ),
      );
    }
  }
  return findings;
}

function describeDestination(d: Destination): string {
  return `${q(d.host)}${d.subset ? ` subset ${q(d.subset)}` : ""}${d.port?.number !== undefined ? ` port ${d.port.number}` : ""}`;
}

function formatShare(percent: number): string {
  return `${Number.isInteger(percent) ? percent : percent.toFixed(1)}%`;
}
