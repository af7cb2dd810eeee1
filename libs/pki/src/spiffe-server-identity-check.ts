// The hook node:tls and grpc-js clients use to authenticate a server by SPIFFE ID instead of
// host name. Wiring (this lib imports neither node:tls nor grpc-js):
//
//   const material = svidTlsMaterial({ chain, privateKeyPem, bundles });   // { cert, key, ca } PEM
//   const checkServerIdentity = spiffeServerIdentityCheck([serverId], { bundles, clock: () => new Date() });
//   tls.connect({ host, port, ...material, checkServerIdentity });
//   grpc.credentials.createSsl(Buffer.from(material.ca), Buffer.from(material.key), Buffer.from(material.cert),
//     { checkServerIdentity });
//
// OpenSSL verifies the chain against `ca` (every trust domain's roots) first; the hook then runs
// checkPeerCertificate on the `raw` DER of the server certificate and its issuer chain. On a
// bundle or SVID rotation, build new material and a new checker; open connections keep theirs.
import { checkPeerCertificate, type AllowedIds, type PeerCertificateLike } from "./peer-certificate.ts";
import type { Rejection, SvidRejectReason } from "./reasons.ts";
import type { TrustBundles } from "./trust-bundles.ts";

/** The error a SPIFFE peer check hands to node:tls: `code` is the reason, `message` the detail. */
export class SvidRejectedError extends Error {
  readonly code: SvidRejectReason;
  constructor(rejection: Rejection<SvidRejectReason>) {
    super(`SPIFFE peer check failed (${rejection.reason}): ${rejection.detail}`);
    this.name = "SvidRejectedError";
    this.code = rejection.reason;
  }
}

/**
 * A `checkServerIdentity(hostname, cert)` for node:tls `connect` and grpc-js `createSsl`: the
 * server's certificate must be an SVID for one of `expectedIds` (or pass the predicate) that
 * chains to a root of its own trust domain's bundle (checkPeerCertificate). The host name is
 * ignored: the SPIFFE ID is the server's identity. Returns an Error to abort the handshake,
 * `undefined` to accept. `clock` is read on every handshake; the bundles are fixed.
 */
export function spiffeServerIdentityCheck(
  expectedIds: AllowedIds,
  options: { readonly bundles: TrustBundles; readonly clock: () => Date },
): (hostname: string, cert: PeerCertificateLike) => Error | undefined {
  return (_hostname, cert) => {
    const result = checkPeerCertificate(cert, { bundles: options.bundles, now: options.clock(), allowed: expectedIds });
    return result.ok ? undefined : new SvidRejectedError(result);
  };
}
