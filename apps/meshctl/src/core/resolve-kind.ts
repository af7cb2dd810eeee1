// The resource kind a user names on the command line: `VirtualService`, `virtualservice`,
// `virtualservices` or a short name (`vs`), as kubectl accepts them for Istio's CRDs.
import { resourceKinds, type AnyResourceKind } from "@meshwork/config";

export type ResolvedKind = { readonly ok: true; readonly kind: AnyResourceKind } | { readonly ok: false; readonly message: string };

export function resolveKind(name: string): ResolvedKind {
  const wanted = name.toLowerCase();
  for (const kind of resourceKinds) {
    if (kind.kind.toLowerCase() === wanted || kind.plural === wanted || kind.shortNames.includes(wanted)) return { ok: true, kind };
  }
  const known = resourceKinds.map((k) => [k.kind, ...k.shortNames].join("|")).join(", ");
  return { ok: false, message: `unknown kind "${name}"; use one of ${known}` };
}
