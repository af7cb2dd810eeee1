// The CA's own serving certificate for its gRPC TLS listener: PEM material, and the node:tls
// options it becomes (a renewed certificate reaches new handshakes through setSecureContext).
import type { SecureContextOptions } from "node:tls";

/** PEM material of the listener. */
export interface ServingMaterial {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/** TLS options serving `material`: the chain (leaf first) and key; clients are not asked for certificates. */
export function servingContext(material: ServingMaterial): SecureContextOptions {
  return { cert: material.cert, key: material.key };
}
