// The wire form of one proxy's resources: per type, the JSON bodies and a version that is a hash
// of them, so equal sets have equal versions on every replica and an unchanged type is not resent.
import { createHash } from "node:crypto";
import { encodeResourceBody, pushOrder, type NamedResource, type ProxyResources, type ResourceType } from "@meshwork/proxy-core";

export interface EncodedType {
  /** First 16 hex digits of SHA-256 over the names and the SHA-256 (hex) of each body, NUL-separated. */
  readonly version: string;
  readonly resources: readonly { readonly name: string; readonly body: Buffer }[];
  /** SHA-256 (hex, 16 digits) of each body, by resource name: what an incremental Endpoints push compares. */
  readonly digests: ReadonlyMap<string, string>;
  /** Sum of the body sizes. */
  readonly bytes: number;
}

export type EncodedResources = { readonly [T in ResourceType]: EncodedType };

/**
 * By identity: proxies share compiled lists and resources (createProxyCompiler shares all but the
 * inbound listener between the proxies of a namespace), so they share their encodings too.
 */
const encodedLists = new WeakMap<readonly NamedResource[], EncodedType>();
const encodedResources = new WeakMap<NamedResource, { readonly body: Buffer; readonly digest: string }>();

function encodeOne(resource: NamedResource): { readonly body: Buffer; readonly digest: string } {
  let encoded = encodedResources.get(resource);
  if (encoded === undefined) {
    const body = Buffer.from(encodeResourceBody(resource), "utf8");
    encoded = { body, digest: createHash("sha256").update(body).digest("hex") };
    encodedResources.set(resource, encoded);
  }
  return encoded;
}

export function encodeProxyResources(resources: ProxyResources): EncodedResources {
  const out: Partial<Record<ResourceType, EncodedType>> = {};
  for (const type of pushOrder) {
    const list: readonly NamedResource[] = resources[type];
    const cached = encodedLists.get(list);
    if (cached !== undefined) {
      out[type] = cached;
      continue;
    }
    let bytes = 0;
    const digests = new Map<string, string>();
    // One hash update over "name\0digest" of every resource (hex digests: one string, not 3 updates per resource).
    const parts: string[] = [];
    const encoded = list.map((r) => {
      const { body, digest } = encodeOne(r);
      parts.push(r.name, digest);
      digests.set(r.name, digest.slice(0, 16));
      bytes += body.length;
      return { name: r.name, body };
    });
    const version = createHash("sha256").update(parts.join("\0")).digest("hex").slice(0, 16);
    const result = { version, resources: encoded, digests, bytes };
    encodedLists.set(list, result);
    out[type] = result;
  }
  return out as EncodedResources;
}
