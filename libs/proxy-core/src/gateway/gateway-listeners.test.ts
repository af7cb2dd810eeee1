import { loadResources, type MeshResource } from "@meshwork/config";
import { describe, expect, it } from "vitest";
import { clusterOfSni, gatewayListeners, serverAdmitsHost, serverForSni } from "./gateway-listeners.ts";

function gateways(yaml: string): MeshResource<"Gateway">[] {
  const loaded = loadResources([{ path: "gw.yaml", text: yaml }]);
  expect(loaded.issues).toEqual([]);
  return loaded.resources.filter((r): r is MeshResource<"Gateway"> => r.kind === "Gateway");
}

// Istio's bookinfo-gateway.yaml, plus a second gateway on the same port and one on another.
const bookinfo = gateways(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: bookinfo-gateway, namespace: default }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 8080, name: http, protocol: HTTP }
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: shop, namespace: shop }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 8080, name: http, protocol: HTTP }
    hosts: ["shop/*.shop.example.com"]
  - port: { number: 9000, name: tcp, protocol: TCP }
    hosts: ["*"]
  - port: { number: 8443, name: grpc, protocol: GRPC }
    hosts: ["./api.example.com"]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: other, namespace: default }
spec:
  selector: { istio: eastwestgateway }
  servers:
  - port: { number: 15443, name: http, protocol: HTTP }
    hosts: ["*.local"]
`);

describe("gatewayListeners", () => {
  it("binds every server of the Gateways selecting the proxy, grouped by port, hosts without their namespace", () => {
    const result = gatewayListeners(bookinfo, { istio: "ingressgateway", app: "istio-ingressgateway" });
    expect(result.listeners).toEqual([
      {
        port: 8080,
        protocol: "HTTP",
        mode: "http",
        servers: [
          { gateway: "default/bookinfo-gateway", hosts: ["*"], server: 0 },
          { gateway: "shop/shop", hosts: ["*.shop.example.com"], server: 0 },
        ],
      },
      { port: 8443, protocol: "GRPC", mode: "http", servers: [{ gateway: "shop/shop", hosts: ["api.example.com"], server: 2 }] },
      { port: 9000, protocol: "TCP", mode: "tcp", servers: [{ gateway: "shop/shop", hosts: ["*"], server: 1 }] },
    ]);
    expect(result.issues).toEqual([]);
  });

  it("binds nothing for a proxy no selector matches", () => {
    expect(gatewayListeners(bookinfo, { app: "reviews" })).toEqual({ listeners: [], issues: [] });
  });

  it("refuses a second protocol on a port already bound", () => {
    const clash = gateways(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: a, namespace: default }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 8080, name: http, protocol: HTTP }
    hosts: ["*"]
  - port: { number: 8080, name: grpc, protocol: GRPC }
    hosts: ["*"]
`);
    const result = gatewayListeners(clash, { istio: "ingressgateway" });
    expect(result.listeners.map((l) => [l.port, l.protocol, l.servers.length])).toEqual([[8080, "HTTP", 1]]);
    expect(result.issues[0]).toContain("protocol GRPC conflicts with HTTP already bound to port 8080");
  });
});

describe("serverAdmitsHost", () => {
  it("matches *, exact hosts and wildcard suffixes, ignoring the port and case", () => {
    expect(serverAdmitsHost(["*"], "anything:8080")).toBe(true);
    expect(serverAdmitsHost(["bookinfo.example.com"], "BookInfo.example.com:80")).toBe(true);
    expect(serverAdmitsHost(["*.example.com"], "a.example.com")).toBe(true);
    expect(serverAdmitsHost(["*.example.com"], "example.com")).toBe(false);
    expect(serverAdmitsHost(["bookinfo.example.com"], "other.example.com")).toBe(false);
    expect(serverAdmitsHost(["*"], "[::1]:8080")).toBe(true);
  });
});

describe("HTTPS servers", () => {
  // Istio's secure-gateways task (credentialName), a MUTUAL server from files, an HTTP server
  // redirecting to HTTPS, and a passthrough server router mode does not serve.
  const secure = gateways(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: mygateway, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 443, name: https, protocol: HTTPS }
    tls: { mode: SIMPLE, credentialName: httpbin-credential }
    hosts: [httpbin.example.com]
  - port: { number: 443, name: https-helloworld, protocol: HTTPS }
    tls:
      mode: MUTUAL
      serverCertificate: /etc/certs/hello.crt
      privateKey: /etc/certs/hello.key
      caCertificates: /etc/certs/ca.crt
      subjectAltNames: [client.example.com]
      verifyCertificateHash: ["AB:CD:01"]
      minProtocolVersion: TLSV1_3
      cipherSuites: ["[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-RSA-AES128-GCM-SHA256]", AES128-SHA]
    hosts: ["*.helloworld.example.com"]
  - port: { number: 80, name: http, protocol: HTTP }
    tls: { httpsRedirect: true }
    hosts: [httpbin.example.com]
  - port: { number: 8443, name: passthrough, protocol: HTTPS }
    tls: { mode: PASSTHROUGH }
    hosts: [nginx.example.com]
`);

  it("carries each HTTPS server's TLS termination, normalised, and the HTTP server's redirect", () => {
    const result = gatewayListeners(secure, { istio: "ingressgateway" });
    expect(result.listeners.map((l) => [l.port, l.protocol, l.mode])).toEqual([
      [80, "HTTP", "http"],
      [443, "HTTPS", "https"],
      [8443, "HTTPS", "passthrough"],
    ]);
    expect(result.listeners[0]?.servers).toEqual([{ gateway: "istio-system/mygateway", hosts: ["httpbin.example.com"], server: 2, httpsRedirect: true }]);
    const [simple, mutual] = result.listeners[1]?.servers ?? [];
    expect(simple?.tls).toEqual({
      mode: "SIMPLE",
      certificates: [],
      caCertificates: undefined,
      caCrl: undefined,
      credentialNames: ["httpbin-credential"],
      subjectAltNames: [],
      verifyCertificateHash: [],
      verifyCertificateSpki: [],
      minVersion: "TLSv1.2",
      maxVersion: "TLSv1.3",
      cipherSuites: "",
    });
    expect(mutual?.tls).toMatchObject({
      mode: "MUTUAL",
      certificates: [{ certificate: "/etc/certs/hello.crt", privateKey: "/etc/certs/hello.key" }],
      caCertificates: "/etc/certs/ca.crt",
      subjectAltNames: ["client.example.com"],
      verifyCertificateHash: ["abcd01"],
      minVersion: "TLSv1.3",
      cipherSuites: "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA",
    });
    expect(result.listeners[2]).toEqual({ port: 8443, protocol: "HTTPS", mode: "passthrough", servers: [{ gateway: "istio-system/mygateway", hosts: ["nginx.example.com"], server: 3 }] });
    expect(result.issues).toEqual([]);
  });
});

describe("TLS servers that terminate", () => {
  // Istio's TLS server terminating and forwarding TCP: two Gateways on one port told apart by SNI
  // (SIMPLE from a credential, MUTUAL from files), and one in ISTIO_MUTUAL on another port.
  const terminating = gateways(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: db, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 9443, name: tls-db, protocol: TLS }
    tls: { mode: SIMPLE, credentialName: db-credential }
    hosts: [db.example.com]
  - port: { number: 15443, name: tls-mesh, protocol: TLS }
    tls: { mode: ISTIO_MUTUAL }
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: queue, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 9443, name: tls-queue, protocol: TLS }
    tls:
      mode: MUTUAL
      serverCertificate: /etc/certs/queue.crt
      privateKey: /etc/certs/queue.key
      caCertificates: /etc/certs/ca.crt
    hosts: [queue.example.com]
`);

  it("serves them as terminated-tcp ports whose servers carry their TLS termination, as HTTPS servers do", () => {
    const result = gatewayListeners(terminating, { istio: "ingressgateway" });
    expect(result.issues).toEqual([]);
    expect(result.listeners.map((l) => [l.port, l.protocol, l.mode, l.servers.map((server) => `${server.gateway}[${server.server}] ${server.tls?.mode ?? "-"}`)])).toEqual([
      [9443, "TLS", "terminated-tcp", ["istio-system/db[0] SIMPLE", "istio-system/queue[0] MUTUAL"]],
      [15443, "TLS", "terminated-tcp", ["istio-system/db[1] ISTIO_MUTUAL"]],
    ]);
    expect(result.listeners[0]?.servers[0]?.tls).toMatchObject({ credentialNames: ["db-credential"], certificates: [], minVersion: "TLSv1.2", maxVersion: "TLSv1.3" });
    expect(result.listeners[0]?.servers[1]?.tls).toMatchObject({ certificates: [{ certificate: "/etc/certs/queue.crt", privateKey: "/etc/certs/queue.key" }], caCertificates: "/etc/certs/ca.crt" });
  });

  it("keeps a port's terminating and passthrough TLS servers apart: the later mode is set aside", () => {
    const mixed = gateways(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge, namespace: default }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 9443, name: tls-a, protocol: TLS }
    tls: { mode: SIMPLE, credentialName: a }
    hosts: [a.example.com]
  - port: { number: 9443, name: tls-b, protocol: TLS }
    tls: { mode: PASSTHROUGH }
    hosts: [b.example.com]
`);
    const result = gatewayListeners(mixed, { istio: "ingressgateway" });
    expect(result.listeners.map((l) => [l.port, l.mode, l.servers.length])).toEqual([[9443, "terminated-tcp", 1]]);
    expect(result.issues).toEqual(["Gateway default/edge servers[1] (port 9443): tls mode PASSTHROUGH conflicts with the terminated-tcp servers already bound to port 9443; the server is ignored"]);
  });
});

describe("servers router mode does not serve", () => {
  it("sets aside AUTO_PASSTHROUGH on HTTPS and conflicting modes, with the reason", () => {
    const result = gatewayListeners(
      gateways(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge, namespace: default }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 15443, name: tls-auto, protocol: HTTPS }
    tls: { mode: AUTO_PASSTHROUGH }
    hosts: ["*.local"]
  - port: { number: 443, name: https, protocol: HTTPS }
    tls: { mode: PASSTHROUGH }
    hosts: [a.example.com]
  - port: { number: 443, name: https-b, protocol: HTTPS }
    tls: { mode: SIMPLE, credentialName: b }
    hosts: [b.example.com]
`),
      { istio: "ingressgateway" },
    );
    expect(result.listeners.map((l) => [l.port, l.mode, l.servers.length])).toEqual([[443, "passthrough", 1]]);
    expect(result.issues).toEqual([
      "Gateway default/edge servers[0] (port 15443): HTTPS with tls mode AUTO_PASSTHROUGH is not served in router mode (SIMPLE, MUTUAL, OPTIONAL_MUTUAL, ISTIO_MUTUAL and PASSTHROUGH are); the server is ignored",
      "Gateway default/edge servers[2] (port 443): tls mode SIMPLE conflicts with the passthrough servers already bound to port 443; the server is ignored",
    ]);
  });

  it("sets aside TLS servers that cannot terminate: no tls settings, a mode it does not know, no certificate", () => {
    // Settings validation refuses; a pushed config is not validated here, so build the Gateway as given.
    const server = (tls: unknown): unknown => ({ port: { number: 9443, name: "tls", protocol: "TLS" }, hosts: ["*"], ...(tls === undefined ? {} : { tls }) });
    const edge = {
      apiVersion: "networking.istio.io/v1",
      kind: "Gateway",
      metadata: { name: "edge", namespace: "default" },
      spec: { selector: { istio: "ingressgateway" }, servers: [server(undefined), server({ mode: "OPPORTUNISTIC" }), server({ mode: "SIMPLE" }), server({ mode: "MUTUAL", serverCertificate: "/c.crt" })] },
    } as unknown as MeshResource<"Gateway">;
    expect(gatewayListeners([edge], { istio: "ingressgateway" })).toEqual({
      listeners: [],
      issues: [
        "Gateway default/edge servers[0] (port 9443): protocol TLS needs tls settings (mode SIMPLE with a certificate, or PASSTHROUGH); the server is ignored",
        "Gateway default/edge servers[1] (port 9443): TLS with tls mode OPPORTUNISTIC is not served in router mode (SIMPLE, MUTUAL, OPTIONAL_MUTUAL, ISTIO_MUTUAL, PASSTHROUGH and AUTO_PASSTHROUGH are); the server is ignored",
        "Gateway default/edge servers[2] (port 9443): tls mode SIMPLE needs a certificate: set credentialName, or serverCertificate and privateKey; the server is ignored",
        "Gateway default/edge servers[3] (port 9443): tls mode MUTUAL needs a certificate: set credentialName, or serverCertificate and privateKey; the server is ignored",
      ],
    });
  });
});

describe("AUTO_PASSTHROUGH", () => {
  it("serves a TLS server in AUTO_PASSTHROUGH mode as a passthrough port whose server says so", () => {
    const result = gatewayListeners(
      gateways(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: cross-network-gateway, namespace: istio-system }
spec:
  selector: { istio: eastwestgateway }
  servers:
  - port: { number: 15443, name: tls, protocol: TLS }
    tls: { mode: AUTO_PASSTHROUGH }
    hosts: ["*.local"]
`),
      { istio: "eastwestgateway" },
    );
    expect(result).toEqual({
      listeners: [{ port: 15443, protocol: "TLS", mode: "passthrough", servers: [{ gateway: "istio-system/cross-network-gateway", hosts: ["*.local"], server: 0, autoPassthrough: true }] }],
      issues: [],
    });
  });

  it("reads the cluster a sidecar's SNI names, and nothing from other names", () => {
    expect(clusterOfSni("outbound_.9080_.v2_.reviews.default.svc.cluster.local")).toEqual({ cluster: "outbound|9080|v2|reviews.default.svc.cluster.local", host: "reviews.default.svc.cluster.local" });
    expect(clusterOfSni("outbound_.9080_._.Reviews.default.svc.cluster.local")).toEqual({ cluster: "outbound|9080||reviews.default.svc.cluster.local", host: "reviews.default.svc.cluster.local" });
    expect(clusterOfSni("reviews.default.svc.cluster.local")).toBeUndefined();
    expect(clusterOfSni("outbound_.http_._.reviews")).toBeUndefined();
  });
});

describe("serverForSni", () => {
  const servers = [
    { gateway: "a/a", hosts: ["*"], server: 0 },
    { gateway: "a/a", hosts: ["*.example.com"], server: 1 },
    { gateway: "a/a", hosts: ["*.api.example.com", "shop.example.com"], server: 2 },
  ];

  it("prefers an exact name, then the longest wildcard, then *", () => {
    expect(serverForSni(servers, "shop.example.com")).toBe(2);
    expect(serverForSni(servers, "v1.api.example.com")).toBe(2);
    expect(serverForSni(servers, "Www.Example.com")).toBe(1);
    expect(serverForSni(servers, "other.org")).toBe(0);
  });

  it("gives a connection without SNI only a * server, and none when there is no match", () => {
    expect(serverForSni(servers, "")).toBe(0);
    expect(serverForSni(servers.slice(1), "")).toBe(-1);
    expect(serverForSni(servers.slice(1), "other.org")).toBe(-1);
  });
});
