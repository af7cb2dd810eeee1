import { describe, expect, it } from "vitest";
import { checkValue, formatPath } from "../check-value.ts";
import type { FieldIssue } from "../field-issue.ts";
import { GatewaySpec } from "../schema/gateway.ts";
import { checkGateway } from "./gateway-rules.ts";

const context = { namespace: "istio-system", name: "my-gateway" };

/** Runs the schema (which must pass) and then the rule. */
function run(spec: unknown, ctx = context): FieldIssue[] {
  const { problems, decoded } = checkValue(GatewaySpec, spec, ["spec"]);
  expect(problems).toEqual([]);
  return checkGateway(decoded as GatewaySpec, ctx);
}

const lines = (spec: unknown, ctx = context) =>
  run(spec, ctx).map((i) => `${i.severity ?? "error"} ${i.name ?? "InvalidValue"} ${formatPath(i.path)}: ${i.message}`);

type ServerInput = { port?: object; hosts?: string[]; tls?: object; bind?: string; name?: string; defaultEndpoint?: string };
const server = (protocol: string, number: number, extra: ServerInput = {}) => ({
  port: { number, name: `${protocol.toLowerCase()}-${number}`, protocol },
  hosts: ["web.example.com"],
  ...extra,
});
const gateway = (...servers: object[]) => ({ selector: { istio: "ingressgateway" }, servers });

describe("checkGateway", () => {
  it("passes the bookinfo gateway and the reference example", () => {
    expect(lines(gateway({ port: { number: 8080, name: "http", protocol: "HTTP" }, hosts: ["*"] }))).toEqual([]);
    expect(
      lines(
        gateway(
          { port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["uk.bookinfo.com"], tls: { httpsRedirect: true } },
          { port: { number: 443, name: "https-443", protocol: "HTTPS" }, hosts: ["uk.bookinfo.com"], tls: { mode: "SIMPLE", serverCertificate: "/c.pem", privateKey: "/k.pem" } },
          { port: { number: 9443, name: "https-9443", protocol: "HTTPS" }, hosts: ["bookinfo-namespace/*.bookinfo.com"], tls: { mode: "SIMPLE", credentialName: "bookinfo-secret" } },
          { port: { number: 2379, name: "mongo", protocol: "MONGO" }, hosts: ["*"] },
        ),
      ),
    ).toEqual([]);
  });

  it("requires at least one server, with hosts", () => {
    expect(lines(gateway())).toEqual(["error MissingField spec.servers: the Gateway has no servers"]);
    expect(lines(gateway(server("HTTP", 80, { hosts: [] })))).toEqual(["error MissingField spec.servers[0].hosts: server has no hosts"]);
  });

  it("rejects a gateway name with dots, since routes could not refer to it", () => {
    expect(lines(gateway(server("HTTP", 80)), { namespace: "default", name: "my.gateway" })).toEqual([
      'error InvalidValue metadata.name: gateway name "my.gateway" is not a DNS label',
    ]);
  });

  describe("hosts", () => {
    it("accepts [namespace/]host with *, . and namespace names, wildcards and IPs", () => {
      expect(lines(gateway(server("HTTP", 80, { hosts: ["*", "*/foo.example.com", "./bar.example.com", "prod/*.example.com", "ns1/*", "10.0.0.1"] })))).toEqual([]);
    });

    it("rejects short names, partial wildcards, bad namespaces and empty parts, quoting the host", () => {
      const issues = run(gateway(server("HTTP", 80, { hosts: ["reviews", "foo*.example.com", "Bad_NS/a.example.com", "/a.example.com", "a.example.com:80"] })));
      expect(issues.map((i) => `${i.name} ${formatPath(i.path)}: ${i.message}`)).toEqual([
        'InvalidHost spec.servers[0].hosts[0]: host "reviews" is a short name',
        'InvalidHost spec.servers[0].hosts[1]: host "foo*.example.com" has a partial wildcard',
        'InvalidHost spec.servers[0].hosts[2]: host "Bad_NS/a.example.com": namespace "Bad_NS" is not "*", "." or a namespace name',
        'InvalidHost spec.servers[0].hosts[3]: host "/a.example.com" has an empty namespace or name',
        'InvalidHost spec.servers[0].hosts[4]: host "a.example.com:80" has an invalid label "com:80"',
      ]);
      expect(issues[4]?.hint).toBe("hosts are names without a port; the port is in server.port");
    });
  });

  describe("ports", () => {
    it("accepts the supported protocols in any case", () => {
      const protocols = ["HTTP", "HTTPS", "GRPC", "GRPC-WEB", "HTTP2", "MONGO", "TCP", "TLS", "http", "grpc-web"];
      const servers = protocols.map((p, i) => server(p, 1000 + i, p.toUpperCase() === "HTTPS" || p === "TLS" ? { tls: { mode: "PASSTHROUGH" } } : {}));
      expect(lines(gateway(...servers))).toEqual([]);
    });

    it("rejects an unsupported protocol and suggests the near one", () => {
      const issues = run(gateway(server("HTPP", 80), server("UDP", 53)));
      expect(issues.map((i) => `${formatPath(i.path)}: ${i.message} | ${i.hint}`)).toEqual([
        'spec.servers[0].port.protocol: protocol "HTPP" is not supported on a gateway | did you mean HTTP?',
        'spec.servers[1].port.protocol: protocol "UDP" is not supported on a gateway | use one of HTTP, HTTPS, GRPC, GRPC-WEB, HTTP2, MONGO, TCP, TLS',
      ]);
    });

    it("requires port numbers 1..65535, except 0 with a unix socket bind", () => {
      expect(lines(gateway(server("HTTP", 0)))).toEqual(["error InvalidValue spec.servers[0].port.number: port 0 is not in the range 1..65535"]);
      expect(lines(gateway(server("HTTP", 0, { bind: "unix:///var/run/gw.sock" })))).toEqual([]);
      expect(lines(gateway(server("HTTP", 80, { bind: "unix://@gw" })))).toEqual([
        "error InvalidValue spec.servers[0].port.number: port 80 with a unix domain socket bind",
      ]);
    });

    it("rejects targetPort and an empty port name", () => {
      expect(lines(gateway({ port: { number: 80, name: "", protocol: "HTTP", targetPort: 8080 }, hosts: ["*"] }))).toEqual([
        "error InvalidValue spec.servers[0].port.targetPort: targetPort has no effect on a gateway",
        "error MissingField spec.servers[0].port.name: port name is empty",
      ]);
    });

    it("requires unique port names and server names", () => {
      const a = { port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["a.example.com"], name: "web" };
      const b = { port: { number: 8080, name: "http", protocol: "HTTP" }, hosts: ["b.example.com"], name: "web" };
      expect(lines(gateway(a, b))).toEqual([
        'error InvalidValue spec.servers[1].port.name: port name "http" is already used by servers[0]',
        'error InvalidValue spec.servers[1].name: server name "web" is already used by servers[0]',
      ]);
    });

    it("checks bind addresses", () => {
      expect(lines(gateway(server("HTTP", 80, { bind: "localhost" }), server("HTTP", 0, { bind: "unix://relative/path" }), server("HTTP", 82, { bind: "::1" })))).toEqual([
        'error InvalidValue spec.servers[0].bind: bind "localhost" is not an IP address',
        'error InvalidValue spec.servers[1].bind: bind "unix://relative/path" is not a unix socket path',
      ]);
    });
  });

  describe("TLS", () => {
    it("requires tls settings on HTTPS and TLS ports", () => {
      expect(lines(gateway(server("HTTPS", 443), server("TLS", 8443)))).toEqual([
        "error MissingField spec.servers[0].tls: protocol HTTPS needs tls settings on the server",
        "error MissingField spec.servers[1].tls: protocol TLS needs tls settings on the server",
      ]);
    });

    it("allows only httpsRedirect on plain HTTP ports and no tls at all on TCP ports", () => {
      expect(lines(gateway(server("HTTP", 80, { tls: { httpsRedirect: true } })))).toEqual([]);
      expect(lines(gateway(server("HTTP", 80, { tls: { mode: "SIMPLE", credentialName: "c" } }), server("TCP", 31400, { tls: { mode: "PASSTHROUGH" } })))).toEqual([
        "error InvalidValue spec.servers[0].tls: plain-text protocol HTTP cannot terminate TLS",
        "error InvalidValue spec.servers[1].tls: protocol TCP cannot carry tls settings",
      ]);
    });

    it("warns about httpsRedirect on a non-HTTP port", () => {
      expect(lines(gateway(server("HTTPS", 443, { tls: { httpsRedirect: true, mode: "SIMPLE", credentialName: "c" } })))).toEqual([
        'warning InvalidValue spec.servers[0].tls.httpsRedirect: httpsRedirect has no effect on a "HTTPS" port',
      ]);
    });

    it("requires a certificate and key for SIMPLE, and CA certificates for MUTUAL, unless a credential is named", () => {
      expect(lines(gateway(server("HTTPS", 443, { tls: { mode: "SIMPLE" } })))).toEqual([
        "error MissingField spec.servers[0].tls.serverCertificate: SIMPLE TLS needs a server certificate",
        "error MissingField spec.servers[0].tls.privateKey: SIMPLE TLS needs a private key",
      ]);
      expect(lines(gateway(server("HTTPS", 443, { tls: { mode: "MUTUAL", serverCertificate: "/c", privateKey: "/k" } })))).toEqual([
        "error MissingField spec.servers[0].tls.caCertificates: MUTUAL TLS needs CA certificates to verify clients",
      ]);
      expect(lines(gateway(server("HTTPS", 443, { tls: { mode: "OPTIONAL_MUTUAL", tlsCertificates: [{ serverCertificate: "/c" }] } })))).toEqual([
        "error MissingField spec.servers[0].tls.tlsCertificates[0].privateKey: OPTIONAL_MUTUAL TLS needs a private key",
        "error MissingField spec.servers[0].tls.caCertificates: OPTIONAL_MUTUAL TLS needs CA certificates to verify clients",
      ]);
      expect(lines(gateway(server("HTTPS", 443, { tls: { mode: "MUTUAL", credentialName: "c" } }), server("HTTPS", 444, { tls: { mode: "SIMPLE", credentialNames: ["rsa", "ecdsa"] } })))).toEqual([]);
    });

    it("allows one certificate source only", () => {
      const issues = run(gateway(server("HTTPS", 443, { tls: { mode: "SIMPLE", credentialName: "a", credentialNames: ["b"], serverCertificate: "/c", privateKey: "/k" } })));
      expect(issues).toEqual([
        {
          name: "ExclusiveFields",
          path: ["spec", "servers", 0, "tls"],
          message: "certificates come from several places: serverCertificate/privateKey, credentialName, credentialNames",
          hint: "use exactly one of credentialName, credentialNames, serverCertificate/privateKey or tlsCertificates",
        },
      ]);
    });

    it("rejects certificate settings with ISTIO_MUTUAL and warns about them with passthrough modes", () => {
      expect(lines(gateway(server("TLS", 443, { tls: { mode: "ISTIO_MUTUAL", credentialName: "c", caCertificates: "/ca" } })))).toEqual([
        "error InvalidValue spec.servers[0].tls.caCertificates: ISTIO_MUTUAL uses Istio-issued certificates; caCertificates cannot be set",
        "error InvalidValue spec.servers[0].tls.credentialName: ISTIO_MUTUAL uses Istio-issued certificates; credentialName cannot be set",
      ]);
      expect(lines(gateway(server("TLS", 443, { tls: { mode: "AUTO_PASSTHROUGH", credentialName: "c" } })))).toEqual([
        "warning InvalidValue spec.servers[0].tls: AUTO_PASSTHROUGH does not terminate TLS, so its certificate settings are ignored",
      ]);
    });

    it("checks caCrl, more than two certificates, protocol versions and cipher suites", () => {
      const tls = {
        mode: "SIMPLE",
        tlsCertificates: [1, 2, 3].map((n) => ({ serverCertificate: `/c${n}`, privateKey: `/k${n}` })),
        caCrl: "/crl.pem",
        minProtocolVersion: "TLSV1_3",
        maxProtocolVersion: "TLSV1_2",
        cipherSuites: ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA265", "[AES128-SHA|AES256-SHA]"],
      };
      const issues = run(gateway(server("HTTPS", 443, { tls })));
      expect(issues.map((i) => `${i.severity ?? "error"} ${formatPath(i.path)}: ${i.message}${i.hint?.startsWith("did you") ? ` | ${i.hint}` : ""}`)).toEqual([
        "error spec.servers[0].tls.minProtocolVersion: minProtocolVersion TLSV1_3 is above maxProtocolVersion TLSV1_2",
        'warning spec.servers[0].tls.cipherSuites[1]: cipher suite "ECDHE-RSA-AES128-GCM-SHA256" is listed twice',
        'warning spec.servers[0].tls.cipherSuites[2]: cipher suite "ECDHE-RSA-AES128-GCM-SHA265" is not known and will be ignored | did you mean ECDHE-RSA-AES128-GCM-SHA256?',
        "warning spec.servers[0].tls.tlsCertificates: 3 tlsCertificates given; at most 2 are used",
        "error spec.servers[0].tls.caCrl: caCrl has no effect with SIMPLE TLS (no client certificates)",
      ]);
    });

    it("warns that TLS 1.0/1.1 need cipher suites", () => {
      expect(lines(gateway(server("HTTPS", 443, { tls: { mode: "SIMPLE", credentialName: "c", minProtocolVersion: "TLSV1_0" } })))).toEqual([
        "warning InvalidValue spec.servers[0].tls.minProtocolVersion: minProtocolVersion TLSV1_0 needs older ciphers that are not enabled by default",
      ]);
    });
  });

  it("warns that defaultEndpoint is ignored", () => {
    expect(lines(gateway(server("HTTP", 80, { defaultEndpoint: "127.0.0.1:8080" })))).toEqual([
      "warning InvalidValue spec.servers[0].defaultEndpoint: defaultEndpoint is not implemented for gateways and is ignored",
    ]);
  });
});
