// Managed mode over mutual TLS (docs/design/config-push.md "Transport security"): a sidecar with
// an SVID connects to the control plane with it as client certificate, verifies the server's
// chain against the roots it holds and the server's SPIFFE ID (default the control plane's,
// spiffe://<td>/ns/istio-system/sa/control-plane) instead of its host name. The material is read
// at every (re)connect, so a renewed SVID or a rotated bundle serves the next stream.
import { spiffeServerIdentityCheck, type SpiffeId } from "@meshwork/pki";
import type { DiscoveryTls } from "@meshwork/protocol";
import type { IdentitySource } from "../tls/tls-identity.ts";

/** The control plane's SPIFFE ID the sidecar expects by default. */
export function defaultDiscoveryIdentity(trustDomain: string): string {
  return `spiffe://${trustDomain}/ns/istio-system/sa/control-plane`;
}

/**
 * The DiscoveryClient's `tls` for `identity`, expecting the server to be `serverId`. Throws when
 * the sidecar holds no certificate yet: the client then retries with backoff.
 */
export function discoveryTls(identity: IdentitySource, serverId: string, options: { readonly clock?: () => Date } = {}): () => DiscoveryTls {
  const clock = options.clock ?? (() => new Date());
  const serverName = new URL(serverId).host;
  return () => {
    const current = identity.current();
    if (current === undefined) throw new Error("managed mode over TLS: the sidecar holds no certificate yet (--ca-address / --cert-dir)");
    const check = spiffeServerIdentityCheck([serverId as SpiffeId], { bundles: current.bundles, clock });
    return { certPem: current.certPem, keyPem: current.keyPem, caPem: current.caPem, checkServerIdentity: check, serverName };
  };
}
