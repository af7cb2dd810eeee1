// Picks the WebCrypto implementation a call uses: the one passed in, else the platform's
// `globalThis.crypto` (Node 20+, Deno, browsers). Randomness and signing all come through it.

/**
 * Returns `crypto` when given, else `globalThis.crypto`. Throws when neither exists: running
 * without WebCrypto is a deployment error, not an input the lib can handle.
 */
export function resolveCrypto(crypto?: Crypto): Crypto {
  if (crypto) return crypto;
  const platform = (globalThis as { crypto?: Crypto }).crypto;
  if (!platform?.subtle) throw new Error("WebCrypto is not available (globalThis.crypto.subtle): use Node 20+ or pass a Crypto");
  return platform;
}
