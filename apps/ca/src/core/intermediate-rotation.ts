// When the CA replaces its intermediate signing CA: halfway through its life, and early enough that
// a leaf with the maximum TTL still fits before it expires (leaves are clamped to the issuer's
// notAfter, so a late rotation would silently shorten them).

/**
 * The instant (ms) from which a new intermediate should sign: the earlier of the midpoint of
 * [notBefore, notAfter] and `notAfter - 2 × maxLeafTtl`, but never before notBefore.
 */
export function intermediateRotationAtMs(window: { readonly notBefore: Date; readonly notAfter: Date }, maxLeafTtlSeconds: number): number {
  const from = window.notBefore.getTime();
  const to = window.notAfter.getTime();
  return Math.max(from, Math.min(from + (to - from) / 2, to - 2 * maxLeafTtlSeconds * 1000));
}
