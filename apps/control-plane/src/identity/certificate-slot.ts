// A grpc-js CertificateProvider whose certificates are set from outside: the control plane's
// serving certificate (files or its SVID from the CA) and the roots client certificates must
// chain to (the mesh's trust bundle). Every set() reaches the live gRPC server: new handshakes
// use the new material, open streams keep theirs.
import type { experimental } from "@grpc/grpc-js";

type CertificateProvider = experimental.CertificateProvider;
type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

export class CertificateSlot implements CertificateProvider {
  readonly #caListeners = new Set<CaListener>();
  readonly #identityListeners = new Set<IdentityListener>();
  #ca: Buffer | undefined;
  #identity: { certificate: Buffer; privateKey: Buffer } | undefined;

  /** The roots (PEM, concatenated) peer certificates are verified against. */
  setCa(pem: string): void {
    if (this.#ca?.toString() === pem) return;
    this.#ca = Buffer.from(pem);
    for (const listener of this.#caListeners) listener({ caCertificate: this.#ca });
  }

  /** This side's certificate chain (PEM, leaf first) and private key (PEM). */
  setIdentity(certPem: string, keyPem: string): void {
    if (this.#identity?.certificate.toString() === certPem && this.#identity.privateKey.toString() === keyPem) return;
    this.#identity = { certificate: Buffer.from(certPem), privateKey: Buffer.from(keyPem) };
    for (const listener of this.#identityListeners) listener(this.#identity);
  }

  // The current material reaches a new listener on the next microtask, not inside the add call:
  // grpc-js's server credentials add their own watcher only after subscribing here, and a value
  // delivered synchronously would never reach it (the server would drop every connection).
  addCaCertificateListener(listener: CaListener): void {
    this.#caListeners.add(listener);
    queueMicrotask(() => {
      if (this.#ca !== undefined && this.#caListeners.has(listener)) listener({ caCertificate: this.#ca });
    });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.#caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.add(listener);
    queueMicrotask(() => {
      if (this.#identity !== undefined && this.#identityListeners.has(listener)) listener(this.#identity);
    });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.delete(listener);
  }
}
