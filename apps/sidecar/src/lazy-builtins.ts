// node:tls and node:crypto on first use, not at start: a sidecar without TLS (no identity, no
// DestinationRule `tls`) and without RequestAuthentication never needs them, and the two are
// ~1.8 MB of every such sidecar's resident memory (bench/proxy/README.md, "Idle memory"). The
// modules of those paths call nodeTls() / nodeCrypto() where they had a static import (type
// imports stay as they were); Node loads a builtin once, so later calls cost a property read.
import { createRequire } from "node:module";
import type * as Crypto from "node:crypto";
import type { Socket } from "node:net";
import type * as Tls from "node:tls";

const load = createRequire(import.meta.url);
let tls: typeof Tls | undefined;
let crypto: typeof Crypto | undefined;

/** node:tls, loaded by the first call. */
export function nodeTls(): typeof Tls {
  return (tls ??= load("node:tls") as typeof Tls);
}

/** node:crypto, loaded by the first call. */
export function nodeCrypto(): typeof Crypto {
  return (crypto ??= load("node:crypto") as typeof Crypto);
}

/** Whether `socket` is a TLS socket (`tls.TLSSocket#encrypted`), without loading node:tls for an `instanceof`. */
export function isTlsSocket(socket: Socket): socket is Tls.TLSSocket {
  return (socket as { encrypted?: unknown }).encrypted === true;
}

/** Session ticket keys for a TLS server (48 random bytes, as node:tls takes them). */
export function newTicketKeys(): Buffer {
  return nodeCrypto().randomBytes(48);
}
