// Trust bundles: the root certificates each trust domain's SVIDs must chain to (X509-SVID §5.1,
// §6). Root rotation publishes old + new roots side by side, then retires the old one.
import { equalBytes } from "./equal-bytes.ts";
import { certificatesToPem } from "./pem.ts";
import type { TrustDomain } from "./spiffe-id.ts";

/**
 * Roots (DER) by trust domain. An immutable value: addRoot / removeRoot return a new one, so a
 * verifier built from a bundle keeps seeing that bundle until it is rebuilt with the next.
 */
export interface TrustBundles {
  readonly byTrustDomain: ReadonlyMap<TrustDomain, readonly Uint8Array[]>;
}

/** Bundles holding the given roots (duplicates dropped). */
export function trustBundles(entries: Iterable<readonly [TrustDomain, readonly Uint8Array[]]> = []): TrustBundles {
  let bundles: TrustBundles = { byTrustDomain: new Map() };
  for (const [td, roots] of entries) for (const root of roots) bundles = addRoot(bundles, td, root);
  return bundles;
}

/** Adds `root` to `trustDomain`'s bundle (no-op when present): the first step of a root rotation. */
export function addRoot(bundles: TrustBundles, trustDomain: TrustDomain, root: Uint8Array): TrustBundles {
  const roots = bundles.byTrustDomain.get(trustDomain) ?? [];
  if (roots.some((r) => equalBytes(r, root))) return bundles;
  const next = new Map(bundles.byTrustDomain);
  next.set(trustDomain, [...roots, root]);
  return { byTrustDomain: next };
}

/**
 * Removes `root` from `trustDomain`'s bundle: the last step of a root rotation, once every
 * workload holds a chain to the new root. A trust domain left without roots is dropped.
 */
export function removeRoot(bundles: TrustBundles, trustDomain: TrustDomain, root: Uint8Array): TrustBundles {
  const roots = bundles.byTrustDomain.get(trustDomain);
  if (!roots?.some((r) => equalBytes(r, root))) return bundles;
  const next = new Map(bundles.byTrustDomain);
  const kept = roots.filter((r) => !equalBytes(r, root));
  if (kept.length === 0) next.delete(trustDomain);
  else next.set(trustDomain, kept);
  return { byTrustDomain: next };
}

/** The roots of `trustDomain` (empty when the domain is unknown). */
export function rootsOf(bundles: TrustBundles, trustDomain: TrustDomain): readonly Uint8Array[] {
  return bundles.byTrustDomain.get(trustDomain) ?? [];
}

/** Every root of every trust domain, in trust-domain order, for a TLS `ca` option. */
export function allRoots(bundles: TrustBundles): readonly Uint8Array[] {
  return [...bundles.byTrustDomain.values()].flat();
}

/**
 * Every root as concatenated PEM: the `ca` of `tls.createSecureContext` or the `rootCerts` of
 * grpc-js `credentials.createSsl` (as a Buffer). OpenSSL then accepts a chain to *any* trust
 * domain's root; binding the leaf's ID to its own domain's roots is the job of
 * spiffeServerIdentityCheck / verifyClientChain.
 */
export function bundlesToCaPem(bundles: TrustBundles): string {
  return certificatesToPem(allRoots(bundles));
}
