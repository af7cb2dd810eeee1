// Reports what the Gateway API conversion left out: routes that cannot attach to their parents,
// references to other namespaces without a ReferenceGrant, features Meshwork does not implement
// (Istio writes these as route and Gateway status conditions; we report them like istioctl analyze).
import type { ConfigIssue } from "../config-issue.ts";
import { convertGatewayApi } from "../gateway-api/convert-gateway-api.ts";
import type { MeshResource } from "../load-resources.ts";
import { makeFinding } from "./make-finding.ts";
import type { MeshIndex } from "./mesh-index.ts";

/** The issues convertGatewayApi reports for the Gateway API resources of the mesh. */
export function findGatewayApiProblems(index: MeshIndex): ConfigIssue[] {
  const resources: MeshResource[] = [...index.list("KubernetesGateway"), ...index.list("HTTPRoute"), ...index.list("GRPCRoute"), ...index.list("TCPRoute"), ...index.list("TLSRoute")];
  if (resources.length === 0) return [];
  resources.push(...index.list("ReferenceGrant"), ...index.list("Namespace"));
  const { issues } = convertGatewayApi(resources, { defaultNamespace: index.defaultNamespace, domainSuffix: index.domainSuffix });
  return issues.map((issue) =>
    makeFinding(issue.name, { resource: issue.resource, namespace: index.namespaceOf(issue.resource), path: issue.path }, { message: issue.message, hint: issue.hint }),
  );
}
