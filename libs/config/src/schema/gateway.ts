// Schema of `networking.istio.io` Gateway: the ports, hosts and TLS settings of an edge proxy.
// Field names follow istio/api networking/v1alpha3/gateway.proto as users write them in YAML.
// `Port` and `ServerTLSSettings` are shared with the Sidecar schema (ingress listeners).
import { Type } from "@sinclair/typebox";
import { closed, mapOf, stringEnum, PortNumber, type Decoded } from "./common.ts";

/** Protocols a gateway or sidecar listener port may declare (case-sensitive, as Istio writes them). */
export const GatewayPortProtocols = ["HTTP", "HTTPS", "GRPC", "GRPC-WEB", "HTTP2", "MONGO", "TCP", "TLS"] as const;

/** Istio `Port`: a port a proxy listens on, with its protocol and name. */
export const Port = closed(
  {
    number: PortNumber({ description: "The port number the proxy listens on." }),
    protocol: Type.String({
      description: "The protocol exposed on the port: HTTP, HTTPS, GRPC, GRPC-WEB, HTTP2, MONGO, TCP or TLS.",
    }),
    name: Type.String({ description: "Label assigned to the port; unique among the servers of a gateway." }),
    targetPort: Type.Optional(
      PortNumber({
        description:
          "Deprecated (ignored by Istio): the port on the workload where traffic is received. Kept so old resources still load.",
      }),
    ),
  },
  { description: "The properties of a port a proxy listens on: number, protocol and name." },
);
export type Port = Decoded<typeof Port>;

/** `ServerTLSSettings.TLSmode`. */
export const ServerTLSMode = stringEnum(["PASSTHROUGH", "SIMPLE", "MUTUAL", "AUTO_PASSTHROUGH", "ISTIO_MUTUAL", "OPTIONAL_MUTUAL"], {
  description:
    "How TLS is handled on the port: PASSTHROUGH (route on SNI without terminating), SIMPLE (terminate TLS), " +
    "MUTUAL (terminate and require a client certificate), AUTO_PASSTHROUGH (SNI-encoded destinations, no VirtualService needed), " +
    "ISTIO_MUTUAL (mTLS with Istio-issued certificates), OPTIONAL_MUTUAL (like MUTUAL but a client certificate is not required).",
});
export type ServerTLSMode = Decoded<typeof ServerTLSMode>;

/** `ServerTLSSettings.TLSProtocol`. */
export const TLSProtocol = stringEnum(["TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3"], {
  description: "A TLS protocol version; TLS_AUTO lets the proxy choose.",
});
export type TLSProtocol = Decoded<typeof TLSProtocol>;

/** `ServerTLSSettings.TLSCertificate`: one certificate/key pair when a server offers several (e.g. RSA and ECDSA). */
export const TLSCertificate = closed(
  {
    serverCertificate: Type.Optional(Type.String({ description: "Path to the file holding the server certificate." })),
    privateKey: Type.Optional(Type.String({ description: "Path to the file holding the server's private key." })),
    caCertificates: Type.Optional(
      Type.String({ description: "Path to a file of CA certificates used to verify client certificates." }),
    ),
  },
  { description: "A server certificate, its private key and optionally the CA certificates, given as file paths." },
);
export type TLSCertificate = Decoded<typeof TLSCertificate>;

/** Istio `ServerTLSSettings`: TLS termination / passthrough settings of a server (also used by Sidecar ingress). */
export const ServerTLSSettings = closed(
  {
    httpsRedirect: Type.Optional(
      Type.Boolean({ description: "When true, plain HTTP requests get a 301 redirect to HTTPS." }),
    ),
    mode: Type.Optional(ServerTLSMode),
    serverCertificate: Type.Optional(
      Type.String({ description: "Path to the server certificate file; required for SIMPLE and MUTUAL unless credentialName is set." }),
    ),
    privateKey: Type.Optional(
      Type.String({ description: "Path to the private key file; required for SIMPLE and MUTUAL unless credentialName is set." }),
    ),
    caCertificates: Type.Optional(
      Type.String({ description: "Path to CA certificates used to verify client certificates; required for MUTUAL unless credentialName is set." }),
    ),
    caCrl: Type.Optional(
      Type.String({ description: "Path to a certificate revocation list (PEM) used to reject revoked client certificates." }),
    ),
    credentialName: Type.Optional(
      Type.String({
        description:
          "Name of a secret (in the gateway's namespace) holding the key, certificate and optionally the CA certificate; replaces the file paths.",
      }),
    ),
    credentialNames: Type.Optional(
      Type.Array(Type.String(), {
        description:
          "Up to two secret names, for serving both an RSA and an ECDSA certificate; use instead of credentialName, not with it.",
      }),
    ),
    tlsCertificates: Type.Optional(
      Type.Array(TLSCertificate, {
        description: "Up to two certificate/key pairs given as files (e.g. RSA and ECDSA); use instead of serverCertificate/privateKey, not with them.",
      }),
    ),
    subjectAltNames: Type.Optional(
      Type.Array(Type.String(), { description: "Accepted subject alternative names of client certificates." }),
    ),
    verifyCertificateSpki: Type.Optional(
      Type.Array(Type.String(), { description: "Base64-encoded SHA-256 hashes of the SPKI of accepted client certificates." }),
    ),
    verifyCertificateHash: Type.Optional(
      Type.Array(Type.String(), { description: "Hex-encoded SHA-256 hashes of accepted client certificates (plain or colon-separated)." }),
    ),
    minProtocolVersion: Type.Optional(TLSProtocol),
    maxProtocolVersion: Type.Optional(TLSProtocol),
    cipherSuites: Type.Optional(
      Type.Array(Type.String(), { description: "Cipher suites to offer; the proxy's defaults when empty." }),
    ),
  },
  {
    // No `exclusive` groups: the proto has no oneof here; "one certificate source" is a rule (gateway-rules.ts).
    description: "TLS settings of a server: the mode, and where the certificates come from (files or a credential).",
  },
);
export type ServerTLSSettings = Decoded<typeof ServerTLSSettings>;

/** Istio `Server`: one listener of a gateway. */
export const Server = closed(
  {
    port: Port,
    bind: Type.Optional(
      Type.String({
        description: "Address or Unix domain socket to bind to (x.x.x.x, unix:///path or unix://@name); port number 0 with a socket.",
      }),
    ),
    hosts: Type.Array(
      Type.String({ minLength: 1 }),
      {
        description:
          "Hosts exposed on this server, as `[namespace/]dnsName`; the namespace may be `*` (any, the default) or `.` (the gateway's own), the dnsName may start with `*`.",
      },
    ),
    tls: Type.Optional(ServerTLSSettings),
    defaultEndpoint: Type.Optional(
      Type.String({ description: "Not implemented by Istio: loopback endpoint (127.0.0.1:PORT or unix://) to forward to by default." }),
    ),
    name: Type.Optional(Type.String({ description: "Optional server name, unique across the servers of the gateway; used in stats." })),
  },
  { description: "A listener of the gateway: its port, the hosts it exposes and its TLS settings." },
);
export type Server = Decoded<typeof Server>;

/** Istio `Gateway` spec. */
export const GatewaySpec = closed(
  {
    servers: Type.Array(Server, { description: "The listeners of the gateway." }),
    selector: Type.Optional(
      mapOf(Type.String(), {
        description:
          "Labels selecting the gateway workloads (pods/VMs) in the Gateway's namespace this configuration applies to.",
      }),
    ),
  },
  { description: "A load balancer at the edge of the mesh: which ports it opens, for which hosts, with which TLS settings." },
);
export type GatewaySpec = Decoded<typeof GatewaySpec>;
