// Byte-string equality, for comparing DER names, certificates and bundle roots.

/** True when `a` and `b` hold the same bytes. Not constant-time: it compares public data only. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
