// TLS the sidecar originates towards an upstream endpoint (DESIGN.md §3.5 "mTLS origination"):
// which mode applies (DestinationRule `tls`, else auto mTLS: ISTIO_MUTUAL to endpoints with a
// sidecar whose policy allows it), and the connection itself: our SVID, the server's SPIFFE ID
// checked against the identities that may serve the service (secure naming), Istio's SNI, ALPN,
// and TLS session resumption per pool.
import { isIP, Socket, type OnReadOpts } from "node:net";
import type { ConnectionOptions, PeerCertificate, SecureContext } from "node:tls";
import type { ClusterSpec, ProxyConfig } from "@meshwork/proxy-core";
import type { SpiffeId } from "@meshwork/pki";
import { nodeTls } from "../lazy-builtins.ts";
import { pkiChecks } from "./pki-checks.ts";
import type { MeshTls } from "./mesh-tls.ts";

/** The TLS an upstream connection uses. */
export interface UpstreamTlsSpec {
  readonly mode: "ISTIO_MUTUAL" | "SIMPLE" | "MUTUAL";
  /** True when auto mTLS chose ISTIO_MUTUAL (no DestinationRule `tls`). */
  readonly auto: boolean;
  /** SNI to send; undefined = none (an IP address is never sent as SNI, RFC 6066 §3). */
  readonly sni: string | undefined;
  /** ISTIO_MUTUAL: SPIFFE IDs the server may present (empty: any SVID of the bundle). SIMPLE/MUTUAL: accepted SANs (empty: the SNI host name). */
  readonly expectedNames: readonly string[];
  readonly insecureSkipVerify: boolean;
  readonly caCertificates: string | undefined;
  readonly clientCertificate: string | undefined;
  readonly privateKey: string | undefined;
  /** SIMPLE/MUTUAL: the secret (`--credential-dir`) holding the client certificate and the CA; replaces the three files. */
  readonly credentialName?: string | undefined;
}

/** An error of TLS origination, classified as a connection failure (503 UF) with Envoy's `TLS_error` detail. */
export class UpstreamTlsError extends Error {
  readonly tlsReason: string;
  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "UpstreamTlsError";
    this.tlsReason = reason;
  }
}

/**
 * The TLS towards endpoint `index` of `cluster`, or undefined for plain text. A DestinationRule
 * `tls` decides when present (DISABLE = plain text); otherwise auto mTLS (ProxyConfig.autoMtls).
 * ISTIO_MUTUAL checks the server against the rule's `subjectAltNames`, else the service's
 * identities (ProxyConfig.serviceIdentities).
 */
export function upstreamTlsFor(cluster: ClusterSpec, index: number, config: Pick<ProxyConfig, "autoMtls" | "serviceIdentities">): UpstreamTlsSpec | undefined {
  const identities = config.serviceIdentities?.get(cluster.host) ?? [];
  const tls = cluster.tls;
  if (tls === undefined) {
    if (config.autoMtls?.get(cluster.name)?.[index] !== true) return undefined;
    return {
      mode: "ISTIO_MUTUAL",
      auto: true,
      sni: `outbound_.${cluster.port}_.${cluster.subset ?? ""}_.${cluster.host}`,
      expectedNames: identities,
      insecureSkipVerify: false,
      caCertificates: undefined,
      clientCertificate: undefined,
      privateKey: undefined,
    };
  }
  if (tls.mode === "DISABLE") return undefined;
  return {
    mode: tls.mode,
    auto: false,
    sni: tls.sni ?? (tls.mode === "ISTIO_MUTUAL" ? undefined : cluster.host),
    expectedNames: tls.mode === "ISTIO_MUTUAL" && tls.subjectAltNames.length === 0 ? identities : tls.subjectAltNames,
    insecureSkipVerify: tls.insecureSkipVerify,
    caCertificates: tls.caCertificates,
    clientCertificate: tls.clientCertificate,
    privateKey: tls.privateKey,
    credentialName: tls.credentialName,
  };
}

/** A key of the settings, so pools are separate per TLS setting (and plain text). */
export function upstreamTlsKey(spec: UpstreamTlsSpec | undefined): string {
  if (!spec) return "plaintext";
  return [spec.mode, spec.sni ?? "", spec.expectedNames.join(","), spec.insecureSkipVerify ? "insecure" : "", spec.caCertificates ?? "", spec.clientCertificate ?? "", spec.privateKey ?? "", spec.credentialName ?? ""].join("|");
}

/** Opens TLS connections with one spec, resuming the last session while the client context is unchanged. */
export class UpstreamTls {
  readonly spec: UpstreamTlsSpec;
  readonly key: string;
  private readonly mesh: MeshTls;
  private session: { readonly context: SecureContext; readonly alpn: string; readonly data: Buffer } | undefined;

  constructor(spec: UpstreamTlsSpec, mesh: MeshTls) {
    this.spec = spec;
    this.key = upstreamTlsKey(spec);
    this.mesh = mesh;
  }

  /**
   * Starts a TLS connection to `host:port` offering `alpn`. Setup problems (no workload
   * certificate yet, unreadable files) give a socket that fails at once with an UpstreamTlsError,
   * so callers handle them like any connect failure. `onread`: tls.connect's (the decrypted bytes
   * read into the caller's buffer instead of a new Buffer per read).
   */
  connect(host: string, port: number, alpn: readonly string[], onread?: OnReadOpts): Socket {
    const spec = this.spec;
    const context = spec.mode === "ISTIO_MUTUAL" ? this.mesh.istioClientContext() : this.mesh.fileClientContext(spec);
    if (context === undefined) return failedSocket(new UpstreamTlsError("no_workload_certificate", "ISTIO_MUTUAL needs the sidecar's own certificate: give --cert-dir or --ca-address"));
    if (context instanceof Error) return failedSocket(new UpstreamTlsError("bad_tls_files", context.message));
    // tls.connect documents `onread` (honoured without a `socket` option); @types/node lacks it.
    const options: ConnectionOptions & { onread?: OnReadOpts } = {
      host,
      port,
      secureContext: context,
      ALPNProtocols: [...alpn],
      rejectUnauthorized: !spec.insecureSkipVerify,
      checkServerIdentity: this.identityCheck(host),
    };
    if (spec.sni !== undefined && isIP(spec.sni) === 0) options.servername = spec.sni;
    if (onread !== undefined) options.onread = onread;
    const alpnKey = alpn.join(",");
    if (this.session && this.session.context === context && this.session.alpn === alpnKey) options.session = this.session.data;
    const socket = nodeTls().connect(options);
    socket.on("session", (data: Buffer) => {
      this.session = { context, alpn: alpnKey, data };
    });
    // Node reports a failed handshake as the socket's error: mark it for UF and Envoy's detail.
    let secured = false;
    socket.once("secureConnect", () => {
      secured = true;
    });
    socket.once("error", (error: Error & { tlsReason?: string }) => {
      if (!secured) error.tlsReason ??= tlsReasonOf(error);
    });
    return socket;
  }

  private identityCheck(host: string): (hostname: string, cert: PeerCertificate) => Error | undefined {
    const spec = this.spec;
    if (spec.mode === "ISTIO_MUTUAL") {
      const identity = this.mesh.current;
      const pki = pkiChecks();
      // Without an identity of our own there is no mesh root to check the server against.
      if (!identity || !pki) return () => new UpstreamTlsError("spiffe_peer_check", "ISTIO_MUTUAL needs a workload identity (--cert-dir or --ca-address)");
      const allowed = spec.expectedNames.length > 0 ? (spec.expectedNames as readonly SpiffeId[]) : () => true;
      const check = pki.spiffeServerIdentityCheck(allowed, { bundles: identity.bundles, clock: () => new Date() });
      return (hostname, cert) => {
        const problem = check(hostname, cert as unknown as Parameters<typeof check>[1]);
        if (!problem) return undefined;
        const reason = (problem as Error & { code?: string }).code === "unexpected-id" ? "secure_naming" : "spiffe_peer_check";
        return new UpstreamTlsError(reason, problem.message);
      };
    }
    if (spec.insecureSkipVerify) return () => undefined;
    const names = spec.expectedNames;
    return (hostname, cert) => {
      if (names.length === 0) return nodeTls().checkServerIdentity(spec.sni ?? hostname ?? host, cert);
      const sans = (cert.subjectaltname ?? "").split(", ").map((s) => s.replace(/^(DNS|URI|IP Address):/, ""));
      if (names.some((n) => sans.includes(n))) return undefined;
      return new UpstreamTlsError("san_mismatch", `server certificate SANs [${sans.join(", ")}] include none of ${names.join(", ")} (DestinationRule tls.subjectAltNames)`);
    };
  }
}

/** Envoy-style reason of a TLS failure for the access log (`TLS_error:<reason>`). */
function tlsReasonOf(error: Error & { code?: string }): string {
  if (error instanceof UpstreamTlsError) return error.tlsReason;
  return error.code ?? "handshake_failed";
}

/** `upstream_reset_before_response_started{connection_failure,TLS_error:<reason>:<message>}` detail part for a TLS failure, or "". */
export function tlsFailureDetail(error: Error | undefined): string {
  const reason = (error as (Error & { tlsReason?: string }) | undefined)?.tlsReason;
  if (reason === undefined || error === undefined) return "";
  return `,TLS_error:${reason}:${error.message.replace(/[\s,{}]+/g, "_")}`;
}

function failedSocket(error: Error): Socket {
  const socket = new Socket();
  process.nextTick(() => socket.destroy(error));
  return socket;
}
