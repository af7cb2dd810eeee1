// The check a node:tls or grpc-js server applies to a client's SVID after the handshake. Wiring:
//
//   const server = tls.createServer({ ...svidTlsMaterial(...), requestCert: true, rejectUnauthorized: true });
//   server.on("secureConnection", (socket) => {
//     const peer = verifyClientChain(socket.getPeerCertificate(true), { bundles, now: new Date() });
//     if (!peer.ok) return socket.destroy();   // else peer.spiffeId is the caller, for authorization
//   });
//   // grpc-js: ServerCredentials.createSsl(Buffer.from(ca), [{ cert_chain, private_key }], true), then in
//   // a handler: verifyClientChain(call.getAuthContext().sslPeerCertificate, { bundles, now: new Date() })
//   // rotation: server.setSecureContext(newMaterial) swaps certificates for new handshakes only.
import type { SvidVerification } from "./check-svid-leaf.ts";
import { checkPeerCertificate, checkResumedLeaf, type AllowedIds, type PeerCertificateLike } from "./peer-certificate.ts";
import { reject } from "./reasons.ts";
import type { TrustBundles } from "./trust-bundles.ts";

/**
 * Checks a client's certificate on a server after OpenSSL verified its chain against the bundle
 * roots (`requestCert: true, rejectUnauthorized: true`): the SVID profile, that it chains to a
 * root of its own trust domain, validity at `now` (checkPeerCertificate). Returns the client's
 * SPIFFE ID or why it is refused; `allowed` optionally restricts the IDs, though authorization
 * policies usually decide that later from the returned ID. `resumed`: the session is resumed
 * (socket.isSessionReused()) *and* this very leaf passed the full check before, in the handshake
 * that made the session; a leaf without its issuer is then checked alone (checkResumedLeaf).
 */
export function verifyClientChain(
  peer: PeerCertificateLike | undefined,
  options: { readonly bundles: TrustBundles; readonly now: Date; readonly allowed?: AllowedIds; readonly resumed?: boolean },
): SvidVerification {
  // node:tls gives `{}` when the client sent no certificate.
  if (!peer?.raw || peer.raw.length === 0) return reject("empty-chain", "the client presented no certificate");
  // A resumed TLS session carries the client's leaf only (OpenSSL keeps no chain in a session;
  // node:tls completes it from the server context's CA store, which may lack the issuer). When
  // the caller knows this leaf passed the full check in the handshake that made the session
  // (`resumed`), the leaf is checked alone.
  if (options.resumed === true && peer.issuerCertificate === undefined) return checkResumedLeaf(peer, options);
  return checkPeerCertificate(peer, options);
}
