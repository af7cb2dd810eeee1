import type { PeerCertificate } from "node:tls";
import { describe, expect, it } from "vitest";
import { certificatePrincipal } from "./certificate-principal.ts";

const cases: readonly (readonly [string, string | undefined, Record<string, string> | undefined, { name: string; principal: string } | undefined])[] = [
  ["a SPIFFE URI SAN, in Istio's principal form", "DNS:client.example.com, URI:spiffe://cluster.local/ns/foo/sa/sleep", { CN: "client" }, { name: "spiffe://cluster.local/ns/foo/sa/sleep", principal: "cluster.local/ns/foo/sa/sleep" }],
  ["another URI SAN as it is", "URI:https://client.example.com/id", undefined, { name: "https://client.example.com/id", principal: "https://client.example.com/id" }],
  ["the DNS SAN when there is no URI SAN", "IP Address:10.0.0.1, DNS:client.example.com, DNS:other.example.com", { CN: "client" }, { name: "client.example.com", principal: "client.example.com" }],
  ["a quoted SAN value", 'URI:"spiffe://cluster.local/ns/a,b/sa/c"', undefined, { name: "spiffe://cluster.local/ns/a,b/sa/c", principal: "cluster.local/ns/a,b/sa/c" }],
  ["the subject in RFC 2253 order without SANs", undefined, { C: "US", O: "Example", CN: "client" }, { name: "CN=client,O=Example,C=US", principal: "CN=client,O=Example,C=US" }],
  ["nothing at all", "", {}, undefined],
];

describe("certificatePrincipal", () => {
  it.each(cases)("%s", (_name, san, subject, expected) => {
    const cert = { ...(san !== undefined ? { subjectaltname: san } : {}), ...(subject !== undefined ? { subject: subject as unknown as PeerCertificate["subject"] } : {}) };
    expect(certificatePrincipal(cert)).toEqual(expected);
  });
});
