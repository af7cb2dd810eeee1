// Random bytes from the operating system without node:crypto: trace ids and x-request-id need
// unpredictable bytes, not a crypto library, and node:crypto (with node:tls, which a plain-text
// sidecar never needs) is ~1.8 MB of a sidecar's idle memory (bench/proxy/README.md, "Idle
// memory"). Reads /dev/urandom (the kernel's CSPRNG, as getrandom(2) and node:crypto do);
// where there is none, the Web Crypto API of the runtime (Node, Deno).
import { closeSync, openSync, readSync } from "node:fs";

/** The Web Crypto API's limit per getRandomValues call. */
const webCryptoMaxBytes = 65_536;

/**
 * A function filling buffers with random bytes from `device` (/dev/urandom), opened on first use
 * and kept open; when it cannot be opened or read, from globalThis.crypto.getRandomValues.
 */
export function systemRandomFill(device = "/dev/urandom"): (buffer: Uint8Array) => void {
  let fd: number | undefined;
  let useWebCrypto = false;
  const fromWebCrypto = (buffer: Uint8Array): void => {
    for (let at = 0; at < buffer.length; at += webCryptoMaxBytes) globalThis.crypto.getRandomValues(buffer.subarray(at, at + webCryptoMaxBytes) as Uint8Array<ArrayBuffer>);
  };
  return (buffer) => {
    if (!useWebCrypto) {
      try {
        fd ??= openSync(device, "r");
        let at = 0;
        while (at < buffer.length) {
          const n = readSync(fd, buffer, at, buffer.length - at, null);
          if (n <= 0) throw new Error(`${device}: no bytes`);
          at += n;
        }
        return;
      } catch {
        useWebCrypto = true;
        if (fd !== undefined) closeSync(fd);
        fd = undefined;
      }
    }
    fromWebCrypto(buffer);
  };
}
