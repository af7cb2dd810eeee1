// The wire encoding of DiscoveryResponse for the StreamConfig server. A push sends the same
// resources (a scope's clusters, route table, ...) to many proxies; only the header (nonce) and the
// mix of resources differ. Each resource's protobuf field (tag, length, name, body) is encoded once
// per body Buffer (encodeProxyResources keeps one Buffer per resource object) and a response is its
// header fields followed by those fields (protobuf decoders take fields in any order; repeated ones
// keep theirs). Cached per resource, not per list: per-proxy lists (the listeners) would otherwise
// keep a copy of the large outbound listener for every proxy.
import { DiscoveryResponse, DiscoveryServiceService } from "@meshwork/protocol";

type Resource = DiscoveryResponse["resources"][number];

const encodedFields = new WeakMap<Buffer, { readonly name: string; readonly field: Buffer }>();

function encodeField(resource: Resource): Buffer {
  const cached = encodedFields.get(resource.body);
  if (cached !== undefined && cached.name === resource.name) return cached.field;
  const field = Buffer.from(DiscoveryResponse.encode({ typeUrl: "", versionInfo: "", nonce: "", resources: [resource], controlPlaneId: "" }).finish());
  if (cached === undefined) encodedFields.set(resource.body, { name: resource.name, field });
  return field;
}

export function encodeDiscoveryResponse(message: DiscoveryResponse): Buffer {
  const header = DiscoveryResponse.encode({ ...message, resources: [] }).finish();
  return Buffer.concat([header, ...message.resources.map(encodeField)]);
}

/** DiscoveryServiceService with encodeDiscoveryResponse as the response serializer: `server.addService(discoveryService, ...)`. */
export const discoveryService = {
  ...DiscoveryServiceService,
  streamConfig: { ...DiscoveryServiceService.streamConfig, responseSerialize: encodeDiscoveryResponse },
} as const;
