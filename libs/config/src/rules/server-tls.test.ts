import { describe, expect, it } from "vitest";
import { formatPath } from "../check-value.ts";
import type { ServerTLSSettings } from "../schema/gateway.ts";
import { checkServerTls, type ServerTlsRestrictions } from "./server-tls.ts";

const sidecarIngress: ServerTlsRestrictions = {
  listener: "Sidecar ingress listener",
  forbiddenFields: ["subjectAltNames", "httpsRedirect", "credentialName", "credentialNames"],
  forbiddenModes: ["ISTIO_MUTUAL", "AUTO_PASSTHROUGH"],
};

const lines = (tls: ServerTLSSettings, restrictions?: ServerTlsRestrictions) =>
  checkServerTls(tls, ["tls"], restrictions).map((i) => `${i.severity ?? "error"} ${formatPath(i.path)}: ${i.message} (hint: ${i.hint})`);

describe("checkServerTls", () => {
  it("accepts a secret, or a certificate and key, for SIMPLE", () => {
    expect(lines({ mode: "SIMPLE", credentialName: "cert" })).toEqual([]);
    expect(lines({ mode: "SIMPLE", serverCertificate: "/c", privateKey: "/k" }, sidecarIngress)).toEqual([]);
  });

  it("reports forbidden fields first, then treats them as unset", () => {
    expect(lines({ mode: "SIMPLE", credentialName: "cert", subjectAltNames: ["a"] }, sidecarIngress)).toEqual([
      "error tls.subjectAltNames: subjectAltNames is not supported on Sidecar ingress listeners (hint: remove subjectAltNames)",
      "error tls.credentialName: credentialName is not supported on Sidecar ingress listeners (hint: remove credentialName)",
      "error tls.serverCertificate: SIMPLE TLS needs a server certificate (hint: give the file path of the server certificate and its private key)",
      "error tls.privateKey: SIMPLE TLS needs a private key (hint: give the file path of the server certificate and its private key)",
    ]);
    expect(lines({ httpsRedirect: false }, sidecarIngress)).toEqual([]);
  });

  it("rejects a forbidden mode and checks nothing else then", () => {
    expect(lines({ mode: "ISTIO_MUTUAL", cipherSuites: ["NOPE"] }, sidecarIngress)).toEqual([
      "error tls.mode: mode ISTIO_MUTUAL cannot be used on a Sidecar ingress listener (hint: use SIMPLE, MUTUAL or OPTIONAL_MUTUAL with certificate files)",
    ]);
  });

  it("names only the certificate sources a listener allows", () => {
    const tls: ServerTLSSettings = { mode: "SIMPLE", serverCertificate: "/c", privateKey: "/k", tlsCertificates: [{ serverCertificate: "/c2", privateKey: "/k2" }] };
    expect(lines(tls)).toEqual([
      "error tls: certificates come from several places: serverCertificate/privateKey, tlsCertificates (hint: use exactly one of credentialName, credentialNames, serverCertificate/privateKey or tlsCertificates)",
    ]);
    expect(lines(tls, sidecarIngress)).toEqual([
      "error tls: certificates come from several places: serverCertificate/privateKey, tlsCertificates (hint: use exactly one of serverCertificate/privateKey or tlsCertificates)",
    ]);
  });

  it("asks MUTUAL for CA certificates, pointing at a secret only where secrets are allowed", () => {
    expect(lines({ mode: "MUTUAL", serverCertificate: "/c", privateKey: "/k" })).toEqual([
      "error tls.caCertificates: MUTUAL TLS needs CA certificates to verify clients (hint: give caCertificates (a file path), or use credentialName with a secret holding ca.crt)",
    ]);
    expect(lines({ mode: "MUTUAL", serverCertificate: "/c", privateKey: "/k" }, sidecarIngress)).toEqual([
      "error tls.caCertificates: MUTUAL TLS needs CA certificates to verify clients (hint: give the file path of the CA bundle)",
    ]);
  });
});
