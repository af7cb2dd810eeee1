// TLS on one inbound port, as the port's config asks: a Sidecar ingress listener with `tls`
// terminates TLS itself with the listener's certificate (SIMPLE, or MUTUAL verifying clients
// against its caCertificates), like a gateway server, and PeerAuthentication does not apply (Istio:
// the sidecar serves clients outside the mesh there); every other port keeps the mesh's mutual
// TLS under its PeerAuthentication mode. The certificate is loaded when the settings change
// (once per config, not per connection) and reloaded when its files do (GatewayTls).
import type { Socket } from "node:net";
import type { GatewayServerTls } from "@meshwork/proxy-core";
import type { Logger } from "@meshwork/telemetry";
import { GatewayTls } from "../tls/gateway-tls.ts";
import type { Serve, TlsAcceptor } from "../tls/inbound-tls.ts";
import type { MeshTls } from "../tls/mesh-tls.ts";

export interface InboundPortTlsOptions {
  /** The port's current TLS settings (read per connection; a new config gives a new object). */
  readonly tls: () => GatewayServerTls | undefined;
  /** The mesh's mutual TLS for the port, when it has no TLS settings of its own. */
  readonly mesh: TlsAcceptor;
  readonly meshTls: MeshTls;
  readonly credentialDir: string | undefined;
  readonly logger: Logger;
  /** The listening port, for logs. */
  readonly port: number;
}

export class InboundPortTls implements TlsAcceptor {
  private readonly options: InboundPortTlsOptions;
  private terminating: GatewayTls | undefined;
  private loaded: GatewayServerTls | undefined;

  constructor(options: InboundPortTlsOptions) {
    this.options = options;
  }

  accept(socket: Socket, serve: Serve): void {
    const tls = this.options.tls();
    if (tls === undefined) {
      this.options.mesh.accept(socket, serve);
      return;
    }
    let terminating = this.terminating;
    if (terminating === undefined) {
      terminating = new GatewayTls(serversOf(tls), { credentialDir: this.options.credentialDir, mesh: this.options.meshTls, logger: this.options.logger, port: this.options.port });
      this.terminating = terminating;
    } else if (tls !== this.loaded) {
      terminating.update(serversOf(tls));
    }
    this.loaded = tls;
    terminating.accept(socket, serve);
  }

  /** Counters of the terminated TLS (handshakes, refused); zero while the port uses the mesh's. */
  get stats(): { readonly handshakes: number; readonly refused: number } {
    return this.terminating?.stats ?? { handshakes: 0, refused: 0 };
  }

  /** Stops watching the certificate files. */
  close(): void {
    this.terminating?.close();
  }
}

/** The port's TLS as the one server of a GatewayTls: every SNI (`*`), since a sidecar port has one certificate. */
function serversOf(tls: GatewayServerTls): { gateway: string; hosts: string[]; server: number; tls: GatewayServerTls }[] {
  return [{ gateway: "sidecar-ingress", hosts: ["*"], server: 0, tls }];
}
