import { createHash, X509Certificate } from "node:crypto";
import type { GatewayServerTls } from "@meshwork/proxy-core";
import { describe, expect, it } from "vitest";
import { testCertificatePem } from "../../tests/support/h2-test-certificate.ts";
import { certificateRefusal } from "./gateway-tls.ts";

// The test certificate's SANs are DNS:localhost and IP Address:127.0.0.1.
const x509 = new X509Certificate(testCertificatePem);
const cert = { subjectaltname: x509.subjectAltName ?? "", fingerprint256: x509.fingerprint256, raw: x509.raw };
const hash = x509.fingerprint256.replaceAll(":", "").toLowerCase();
const spki = createHash("sha256").update(x509.publicKey.export({ type: "spki", format: "der" })).digest("base64");

const mutual = (narrowing: Partial<Pick<GatewayServerTls, "subjectAltNames" | "verifyCertificateHash" | "verifyCertificateSpki">>): GatewayServerTls => ({
  mode: "MUTUAL",
  certificates: [],
  caCertificates: undefined,
  caCrl: undefined,
  credentialNames: ["c"],
  subjectAltNames: [],
  verifyCertificateHash: [],
  verifyCertificateSpki: [],
  minVersion: "TLSv1.2",
  maxVersion: "TLSv1.3",
  cipherSuites: "",
  ...narrowing,
});

describe("certificateRefusal", () => {
  it("accepts any verified certificate when nothing narrows", () => {
    expect(certificateRefusal(cert, mutual({}))).toBeUndefined();
  });

  it("accepts a certificate carrying one of subjectAltNames (DNS or IP), refuses one without", () => {
    expect(certificateRefusal(cert, mutual({ subjectAltNames: ["client.example.com", "localhost"] }))).toBeUndefined();
    expect(certificateRefusal(cert, mutual({ subjectAltNames: ["127.0.0.1"] }))).toBeUndefined();
    expect(certificateRefusal(cert, mutual({ subjectAltNames: ["client.example.com"] }))).toBe("subject alternative names not accepted");
  });

  it("checks the certificate's SHA-256 fingerprint and its SPKI hash", () => {
    expect(certificateRefusal(cert, mutual({ verifyCertificateHash: [hash] }))).toBeUndefined();
    expect(certificateRefusal(cert, mutual({ verifyCertificateHash: ["00".repeat(32)] }))).toBe("certificate hash not accepted");
    expect(certificateRefusal(cert, mutual({ verifyCertificateSpki: [spki] }))).toBeUndefined();
    expect(certificateRefusal(cert, mutual({ verifyCertificateSpki: ["AAAA"] }))).toBe("certificate SPKI not accepted");
  });
});
