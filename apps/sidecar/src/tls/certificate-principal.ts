// The identity of a client certificate a gateway's MUTUAL / OPTIONAL_MUTUAL server verified, as
// Envoy's RBAC reads it for `source.principal` (Principal.Authenticated.principal_name: the URI
// SAN, else the DNS SAN, else the subject in RFC 2253 form) — so `principals: ["*"]` admits any
// verified client, and a SPIFFE ID matches in Istio's form (without `spiffe://`).
import type { PeerCertificate } from "node:tls";
import { principalOf } from "./principal-of.ts";

export interface CertificatePrincipal {
  /** The name as in the certificate (`spiffe://…` for a SPIFFE ID). */
  readonly name: string;
  /** Istio's principal form: a SPIFFE ID without `spiffe://`, any other name as it is. */
  readonly principal: string;
}

/** The principal of `cert`; undefined when it names nothing. */
export function certificatePrincipal(cert: Partial<Pick<PeerCertificate, "subjectaltname" | "subject">>): CertificatePrincipal | undefined {
  const names = subjectAltNames(cert.subjectaltname ?? "");
  const name = names.find(([kind]) => kind === "URI")?.[1] ?? names.find(([kind]) => kind === "DNS")?.[1] ?? rfc2253(cert.subject);
  return name === undefined || name === "" ? undefined : { name, principal: principalOf(name) };
}

/** Node's `subjectaltname` (`DNS:a.example, URI:spiffe://…`; values with special characters JSON-quoted) as [kind, value] pairs. */
function subjectAltNames(text: string): [string, string][] {
  const out: [string, string][] = [];
  const pattern = /(DNS|URI|IP Address|email|DirName|othername|Registered ID):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;
  for (const match of text.matchAll(pattern)) {
    const raw = match[2] ?? "";
    out.push([match[1] ?? "", raw.startsWith('"') ? (JSON.parse(raw) as string) : raw]);
  }
  return out;
}

/** The subject in RFC 2253 order (last RDN first), e.g. `CN=client,O=Example`; undefined when empty. */
function rfc2253(subject: PeerCertificate["subject"] | undefined): string | undefined {
  if (subject === undefined || subject === null) return undefined;
  const parts = Object.entries(subject).flatMap(([key, value]) => (Array.isArray(value) ? value.map((v) => `${key}=${String(v)}`) : [`${key}=${String(value)}`]));
  return parts.length === 0 ? undefined : parts.reverse().join(",");
}
