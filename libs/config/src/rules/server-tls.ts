// TLS settings of a server that terminates or passes through TLS: Gateway servers and Sidecar
// ingress listeners (istio/istio pkg/config/validation: validateTLSOptions, and the Sidecar's ingress
// restrictions). Certificates come from one place (a secret, files, or a list of pairs); modes that
// terminate TLS need a certificate, MUTUAL ones CA certificates too.
import type { FieldIssue, FieldPath } from "../field-issue.ts";
import { closestName } from "../closest-name.ts";
import type { ServerTLSMode, ServerTLSSettings, TLSProtocol } from "../schema/gateway.ts";
import { IssueList } from "./issue-list.ts";

const q = (value: unknown): string => JSON.stringify(value);

// Cipher suites Envoy accepts in TLS 1.2 cipher lists (Istio pkg/config/security).
const validCipherSuites = new Set([
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
  "ECDHE-ECDSA-AES128-SHA",
  "ECDHE-RSA-AES128-SHA",
  "ECDHE-ECDSA-AES256-SHA",
  "ECDHE-RSA-AES256-SHA",
  "AES128-GCM-SHA256",
  "AES256-GCM-SHA384",
  "AES128-SHA",
  "AES256-SHA",
  "DES-CBC3-SHA",
]);

/** A cipher name, or an equal-preference group `[A|B]` of them (BoringSSL syntax). */
function isValidCipherSuite(cipher: string): boolean {
  if (cipher.startsWith("[") && cipher.endsWith("]")) return cipher.slice(1, -1).split("|").every((c) => validCipherSuites.has(c));
  return validCipherSuites.has(cipher);
}

const protocolOrder: readonly TLSProtocol[] = ["TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3"];

/** Fields a kind of server may not set; the Sidecar's ingress listeners forbid all four. */
export type RestrictedTlsField = "subjectAltNames" | "httpsRedirect" | "credentialName" | "credentialNames";

export interface ServerTlsRestrictions {
  /** What the settings belong to, as messages name it, e.g. "Sidecar ingress listener". */
  readonly listener: string;
  /** Fields that are errors when set, reported in this order; the other checks treat them as unset. */
  readonly forbiddenFields: readonly RestrictedTlsField[];
  /** Modes that are errors; nothing else is checked with one of them. */
  readonly forbiddenModes: readonly ServerTLSMode[];
}

const terminatingModes: readonly ServerTLSMode[] = ["SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL"];

/**
 * Checks server TLS settings found at `path`, in this order: fields and modes `restrictions` forbid
 * (a Gateway server has none), protocol versions and cipher suites, then what the mode needs:
 * ISTIO_MUTUAL takes no certificates, passthrough modes ignore them, terminating modes need one
 * source of certificates (and MUTUAL modes CA certificates).
 */
export function checkServerTls(tls: ServerTLSSettings, path: FieldPath, restrictions?: ServerTlsRestrictions): FieldIssue[] {
  const issues = new IssueList();
  const mode = tls.mode ?? "PASSTHROUGH";
  const forbidden = new Set(restrictions?.forbiddenFields ?? []);
  if (restrictions) {
    for (const field of restrictions.forbiddenFields) {
      const value = tls[field];
      if (value === undefined || value === "" || value === false || (Array.isArray(value) && value.length === 0)) continue;
      issues.error([...path, field], `${field} is not supported on ${restrictions.listener}s`, `remove ${field}`);
    }
    if (restrictions.forbiddenModes.includes(mode)) {
      const usable = terminatingModes.filter((m) => !restrictions.forbiddenModes.includes(m));
      const files = forbidden.has("credentialName") ? " with certificate files" : "";
      issues.error([...path, "mode"], `mode ${mode} cannot be used on a ${restrictions.listener}`, `use ${listChoices(usable)}${files}`);
      return issues.list;
    }
  }
  // A forbidden field was reported above; below it is as if unset.
  const credentialName = forbidden.has("credentialName") ? undefined : tls.credentialName;
  const credentialNames = forbidden.has("credentialNames") ? [] : (tls.credentialNames ?? []);
  const tlsCertificates = tls.tlsCertificates ?? [];
  const secretsAllowed = !forbidden.has("credentialName");

  checkProtocolVersions(tls, path, issues);
  checkCipherSuites(tls.cipherSuites ?? [], [...path, "cipherSuites"], issues);

  if (mode === "ISTIO_MUTUAL") {
    const fields: string[] = (["serverCertificate", "privateKey", "caCertificates"] as const).filter((f) => tls[f]);
    if (credentialName) fields.push("credentialName");
    if (tlsCertificates.length > 0) fields.push("tlsCertificates");
    if (credentialNames.length > 0) fields.push("credentialNames");
    for (const field of fields) {
      issues.error([...path, field], `ISTIO_MUTUAL uses Istio-issued certificates; ${field} cannot be set`, `remove ${field}, or use mode MUTUAL with your own certificates`);
    }
    return issues.list;
  }
  if (mode === "PASSTHROUGH" || mode === "AUTO_PASSTHROUGH") {
    if (tls.caCrl || tls.serverCertificate || tls.privateKey || tls.caCertificates || credentialName || credentialNames.length > 0 || tlsCertificates.length > 0) {
      issues.warn(path, `${mode} does not terminate TLS, so its certificate settings are ignored`, "remove the certificates, or use mode SIMPLE/MUTUAL to terminate TLS");
    }
  }

  const sources = [
    tls.serverCertificate && tls.privateKey ? "serverCertificate/privateKey" : undefined,
    credentialName ? "credentialName" : undefined,
    credentialNames.length > 0 ? "credentialNames" : undefined,
    tlsCertificates.length > 0 ? "tlsCertificates" : undefined,
  ].filter((s): s is string => s !== undefined);
  if (sources.length > 1) {
    const allowed = ["credentialName", "credentialNames", "serverCertificate/privateKey", "tlsCertificates"].filter((f) => !forbidden.has(f as RestrictedTlsField));
    issues.error(path, `certificates come from several places: ${sources.join(", ")}`, `use exactly one of ${listChoices(allowed)}`, "ExclusiveFields");
  }
  if (credentialNames.length > 2) issues.warn([...path, "credentialNames"], `${credentialNames.length} credentialNames given; at most 2 are used`, "give at most two secrets (one RSA, one ECDSA)");
  if (tlsCertificates.length > 2) issues.warn([...path, "tlsCertificates"], `${tlsCertificates.length} tlsCertificates given; at most 2 are used`, "give at most two certificates (one RSA, one ECDSA)");

  const terminates = terminatingModes.includes(mode);
  const fromCredential = Boolean(credentialName) || credentialNames.length > 0;
  if (terminates && !fromCredential) {
    const label = `${mode} TLS`;
    if (tlsCertificates.length > 0) {
      for (const [i, cert] of tlsCertificates.entries()) {
        if (!cert.serverCertificate) issues.error([...path, "tlsCertificates", i, "serverCertificate"], `${label} needs a server certificate`, "give serverCertificate (a file path)", "MissingField");
        if (!cert.privateKey) issues.error([...path, "tlsCertificates", i, "privateKey"], `${label} needs a private key`, "give privateKey (a file path)", "MissingField");
      }
    } else {
      const hint = secretsAllowed
        ? "set credentialName to a secret holding the certificate and key (or give serverCertificate and privateKey file paths)"
        : "give the file path of the server certificate and its private key";
      if (!tls.serverCertificate) issues.error([...path, "serverCertificate"], `${label} needs a server certificate`, hint, "MissingField");
      if (!tls.privateKey) issues.error([...path, "privateKey"], `${label} needs a private key`, hint, "MissingField");
    }
    if (mode !== "SIMPLE" && !tls.caCertificates) {
      const hint = secretsAllowed ? "give caCertificates (a file path), or use credentialName with a secret holding ca.crt" : "give the file path of the CA bundle";
      issues.error([...path, "caCertificates"], `${label} needs CA certificates to verify clients`, hint, "MissingField");
    }
  }
  if (tls.caCrl) {
    if (credentialName) issues.error([...path, "caCrl"], "caCrl cannot be combined with credentialName", "put the CRL in the secret (key ca.crl) instead");
    if (mode === "SIMPLE") issues.error([...path, "caCrl"], "caCrl has no effect with SIMPLE TLS (no client certificates)", "use mode MUTUAL, or remove caCrl");
  }
  return issues.list;
}

/** `a, b or c`. */
function listChoices(choices: readonly string[]): string {
  return choices.length < 2 ? choices.join("") : `${choices.slice(0, -1).join(", ")} or ${choices.at(-1) as string}`;
}

function checkProtocolVersions(tls: ServerTLSSettings, path: FieldPath, issues: IssueList): void {
  const min = tls.minProtocolVersion;
  const max = tls.maxProtocolVersion;
  if ((min === "TLSV1_0" || min === "TLSV1_1") && (tls.cipherSuites ?? []).length === 0) {
    issues.warn([...path, "minProtocolVersion"], `minProtocolVersion ${min} needs older ciphers that are not enabled by default`, "set cipherSuites compatible with TLS 1.0/1.1, or raise minProtocolVersion to TLSV1_2");
  }
  if (min !== undefined && max !== undefined && min !== "TLS_AUTO" && max !== "TLS_AUTO" && protocolOrder.indexOf(min) > protocolOrder.indexOf(max)) {
    issues.error([...path, "minProtocolVersion"], `minProtocolVersion ${min} is above maxProtocolVersion ${max}`, "swap them, or lower minProtocolVersion");
  }
}

function checkCipherSuites(ciphers: readonly string[], path: FieldPath, issues: IssueList): void {
  const seen = new Set<string>();
  for (const [i, cipher] of ciphers.entries()) {
    if (!isValidCipherSuite(cipher)) {
      const near = closestName(cipher, [...validCipherSuites]);
      issues.warn([...path, i], `cipher suite ${q(cipher)} is not known and will be ignored`, near !== undefined ? `did you mean ${near}?` : "use OpenSSL-style names such as ECDHE-RSA-AES128-GCM-SHA256");
    } else if (seen.has(cipher)) {
      issues.warn([...path, i], `cipher suite ${q(cipher)} is listed twice`, "list each cipher once");
    }
    seen.add(cipher);
  }
}
