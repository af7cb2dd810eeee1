import { describe, expect, it } from "vitest";
import { checkValue, formatPath } from "../check-value.ts";
import { GatewaySpec, Port, ServerTLSSettings } from "./gateway.ts";

const problemsOf = (value: unknown) =>
  checkValue(GatewaySpec, value, ["spec"]).problems.map((p) => ({ name: p.name, at: formatPath(p.path), hint: p.hint }));

const http80 = { port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["*"] };

describe("GatewaySpec", () => {
  it("decodes the reference example unchanged (no defaults are invented)", () => {
    const spec = {
      selector: { app: "my-gateway-controller" },
      servers: [
        { port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["uk.bookinfo.com"], tls: { httpsRedirect: true } },
        {
          port: { number: 443, name: "https-443", protocol: "HTTPS" },
          hosts: ["bookinfo-namespace/*.bookinfo.com"],
          tls: { mode: "SIMPLE", credentialName: "bookinfo-secret", minProtocolVersion: "TLSV1_2", cipherSuites: ["ECDHE-RSA-AES128-GCM-SHA256"] },
        },
      ],
    };
    const { problems, decoded } = checkValue(GatewaySpec, spec, ["spec"]);
    expect(problems).toEqual([]);
    expect(decoded).toEqual(spec);
  });

  it("accepts every ServerTLSSettings field", () => {
    const tls = {
      httpsRedirect: false,
      mode: "OPTIONAL_MUTUAL",
      serverCertificate: "/c.pem",
      privateKey: "/k.pem",
      caCertificates: "/ca.pem",
      caCrl: "/ca.crl",
      credentialName: "a",
      credentialNames: ["a", "b"],
      tlsCertificates: [{ serverCertificate: "/c", privateKey: "/k", caCertificates: "/ca" }],
      subjectAltNames: ["spiffe://x"],
      verifyCertificateSpki: ["abc="],
      verifyCertificateHash: ["AB:CD"],
      minProtocolVersion: "TLSV1_2",
      maxProtocolVersion: "TLSV1_3",
      cipherSuites: ["AES128-SHA"],
    };
    expect(checkValue(ServerTLSSettings, tls).problems).toEqual([]);
    expect(problemsOf({ servers: [{ ...http80, bind: "0.0.0.0", defaultEndpoint: "127.0.0.1:8080", name: "s", tls }] })).toEqual([]);
  });

  it("names an unknown field and suggests the field meant", () => {
    expect(problemsOf({ servers: [{ ...http80, tls: { mode: "SIMPLE", serverCertficate: "/c.pem" } }] })).toEqual([
      { name: "UnknownField", at: "spec.servers[0].tls.serverCertficate", hint: 'did you mean "serverCertificate"?' },
    ]);
  });

  it("rejects a TLS mode or protocol version it does not know and suggests the spelling", () => {
    expect(problemsOf({ servers: [{ ...http80, tls: { mode: "simple" } }] })).toEqual([
      { name: "InvalidValue", at: "spec.servers[0].tls.mode", hint: "did you mean SIMPLE?" },
    ]);
    expect(problemsOf({ servers: [{ ...http80, tls: { minProtocolVersion: "TLSv1_2" } }] })).toEqual([
      { name: "InvalidValue", at: "spec.servers[0].tls.minProtocolVersion", hint: "did you mean TLSV1_2?" },
    ]);
  });

  it("requires servers, and each server's port (number, protocol, name) and hosts", () => {
    expect(problemsOf({ selector: { istio: "ingressgateway" } })).toEqual([{ name: "MissingField", at: "spec.servers", hint: undefined }]);
    expect(problemsOf({ servers: [{ port: { number: 80, protocol: "HTTP" } }] })).toEqual([
      { name: "MissingField", at: "spec.servers[0].port.name", hint: undefined },
      { name: "MissingField", at: "spec.servers[0].hosts", hint: undefined },
    ]);
  });

  it("says how to fix hosts written as a string instead of a list", () => {
    expect(problemsOf({ servers: [{ ...http80, hosts: "*" }] })).toEqual([{ name: "WrongType", at: "spec.servers[0].hosts", hint: undefined }]);
  });

  it("rejects a port number above 65535 and a quoted port number", () => {
    expect(problemsOf({ servers: [{ ...http80, port: { number: 70000, name: "http", protocol: "HTTP" } }] })[0]?.at).toBe(
      "spec.servers[0].port.number",
    );
    expect(problemsOf({ servers: [{ ...http80, port: { number: "80", name: "http", protocol: "HTTP" } }] })).toEqual([
      { name: "WrongType", at: "spec.servers[0].port.number", hint: "remove the quotes: 80" },
    ]);
  });

  it("exports Port and ServerTLSSettings for the Sidecar schema", () => {
    expect(checkValue(Port, { number: 9080, protocol: "HTTP", name: "http" }).problems).toEqual([]);
    expect(checkValue(Port, { number: 9080, protocol: "HTTP", name: "http", targetPort: 8080 }).problems).toEqual([]);
    expect(checkValue(ServerTLSSettings, { mode: "SIMPLE", credentialName: "x" }).problems).toEqual([]);
  });
});
