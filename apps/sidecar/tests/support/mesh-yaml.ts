// YAML snippets for integration tests: a VirtualService with one HTTP route to a host, and a
// DestinationRule with a trafficPolicy, from plain text fragments.

/** A VirtualService routing all of `host` to itself, with `extra` spliced into the HTTP route (indented YAML lines). */
export function routeYaml(host: string, extra = "", destination = `{ host: ${host} }`): string {
  const indented = extra
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => `      ${l}`)
    .join("\n");
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${host.replace(/\./g, "-")}-routes, namespace: default }
spec:
  hosts: [${host}]
  http:
    - route: [{ destination: ${destination} }]
${indented}
`;
}

/** A DestinationRule for `host` whose trafficPolicy is `policy` (YAML lines, indented under trafficPolicy), plus optional subsets. */
export function destinationRuleYaml(host: string, policy: string, subsets = ""): string {
  const indent = (text: string, by: string) =>
    text
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => `${by}${l}`)
      .join("\n");
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ${host.replace(/\./g, "-")}-policy, namespace: default }
spec:
  host: ${host}
  trafficPolicy:
${indent(policy, "    ")}
${subsets === "" ? "" : `  subsets:\n${indent(subsets, "    ")}\n`}`;
}

/** Joins YAML documents. */
export const docs = (...parts: string[]): string => parts.join("\n---\n");
