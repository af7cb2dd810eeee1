// The CA's own serving certificate for its gRPC TLS listener, as a grpc-js CertificateProvider so a
// renewed certificate reaches new handshakes without restarting the server.
import type { experimental } from "@grpc/grpc-js";

type CertificateProvider = experimental.CertificateProvider;
type CaListener = Parameters<CertificateProvider["addCaCertificateListener"]>[0];
type IdentityListener = Parameters<CertificateProvider["addIdentityCertificateListener"]>[0];

/** PEM material of the listener. */
export interface ServingMaterial {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/**
 * An in-memory provider of both the identity (cert + key) and the CA certificates. Pass the same
 * instance as both providers of `createCertificateProviderServerCredentials`.
 */
export class ServingCertificateProvider implements CertificateProvider {
  readonly #ca = new Set<CaListener>();
  readonly #identity = new Set<IdentityListener>();
  #material: ServingMaterial;

  constructor(material: ServingMaterial) {
    this.#material = material;
  }

  /** Pushes new material to the server: later handshakes use it, open connections keep theirs. */
  update(material: ServingMaterial): void {
    this.#material = material;
    for (const listener of this.#ca) listener({ caCertificate: Buffer.from(material.ca) });
    for (const listener of this.#identity) listener({ certificate: Buffer.from(material.cert), privateKey: Buffer.from(material.key) });
  }

  addCaCertificateListener(listener: CaListener): void {
    this.#ca.add(listener);
    // Asynchronously, as grpc-js's own providers do: it registers its watcher after this call.
    queueMicrotask(() => this.#ca.has(listener) && listener({ caCertificate: Buffer.from(this.#material.ca) }));
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.#ca.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.#identity.add(listener);
    queueMicrotask(() => this.#identity.has(listener) && listener({ certificate: Buffer.from(this.#material.cert), privateKey: Buffer.from(this.#material.key) }));
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.#identity.delete(listener);
  }
}
