// Reads an X.509 certificate (DER, RFC 5280 §4.1) into the plain facts that issuance and SVID
// verification decide on. Untrusted bytes: a strict DER reader, and anything that is not a
// well-formed certificate becomes a "malformed" value, never an exception.
import { contentOf, decodeOid, encodingOf, readChildren, readNode, tags, type DerNode } from "./der.ts";
import { describePublicKey } from "./describe-public-key.ts";
import { equalBytes } from "./equal-bytes.ts";
import { ascii, readGeneralNames } from "./general-names.ts";
import { reject, type Rejection } from "./reasons.ts";
import { verifySignature } from "./verify-signature.ts";

/** Key usage bits by name, in bit order (RFC 5280 §4.2.1.3). */
export type KeyUsageName =
  | "digitalSignature"
  | "nonRepudiation"
  | "keyEncipherment"
  | "dataEncipherment"
  | "keyAgreement"
  | "keyCertSign"
  | "cRLSign"
  | "encipherOnly"
  | "decipherOnly";

const keyUsageBits: readonly KeyUsageName[] = [
  "digitalSignature",
  "nonRepudiation",
  "keyEncipherment",
  "dataEncipherment",
  "keyAgreement",
  "keyCertSign",
  "cRLSign",
  "encipherOnly",
  "decipherOnly",
];

/** Extended key usage OIDs (RFC 5280 §4.2.1.12). */
export const ekuOids = {
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
  any: "2.5.29.37.0",
} as const;

const extensionOids = {
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
} as const;

/** Extensions this lib understands; any other extension marked critical makes a chain fail (RFC 5280 §4.2). */
const handledExtensions: ReadonlySet<string> = new Set(Object.values(extensionOids));

/** Short names of the attribute types in the names this mesh meets (RFC 4514 §3). */
const attributeNames: Record<string, string> = { "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU", "0.9.2342.19200300.100.1.25": "DC" };

/** What a certificate says, as plain data. Absent extensions are `undefined`. */
export interface CertificateFacts {
  readonly der: Uint8Array;
  /** Subject and issuer names, DER (compared bytewise when chaining) and as text (for messages). */
  readonly subjectDer: Uint8Array;
  readonly issuerDer: Uint8Array;
  readonly subject: string;
  readonly issuer: string;
  /** Serial number, lowercase hex without leading zeros. */
  readonly serialHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SubjectPublicKeyInfo, DER. */
  readonly spki: Uint8Array;
  readonly basicConstraints: { readonly ca: boolean; readonly pathLength: number | undefined } | undefined;
  readonly keyUsages: ReadonlySet<KeyUsageName> | undefined;
  /** Extended key usage OIDs. */
  readonly extKeyUsages: readonly string[] | undefined;
  readonly uriSans: readonly string[];
  readonly dnsSans: readonly string[];
  /** Subject / authority key identifiers, lowercase hex. */
  readonly subjectKeyId: string | undefined;
  readonly authorityKeyId: string | undefined;
  /** OIDs of critical extensions this lib does not process. */
  readonly unhandledCriticalExtensions: readonly string[];
  /** The signed part, its signature algorithm (OID) and signature: what isSignedBy checks. */
  readonly tbs: Uint8Array;
  readonly signatureAlgorithm: string;
  readonly signature: Uint8Array;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Parses a DER certificate into {@link CertificateFacts}; "malformed" with what is wrong otherwise. */
export function readCertificate(der: Uint8Array): { readonly ok: true; readonly cert: CertificateFacts } | Rejection<"malformed"> {
  const facts = readFacts(der);
  return typeof facts === "string" ? reject("malformed", `not a DER X.509 certificate: ${facts}`) : { ok: true, cert: facts };
}

function readFacts(der: Uint8Array): CertificateFacts | string {
  const root = readNode(der, 0);
  if (!root || root.tag !== tags.sequence || root.end !== der.length) return "not one DER SEQUENCE";
  const [tbs, outerAlgorithm, signature, ...extra] = readChildren(der, root) ?? [];
  if (tbs?.tag !== tags.sequence || outerAlgorithm?.tag !== tags.sequence || signature?.tag !== tags.bitString || extra.length) return "expected SEQUENCE { tbsCertificate, signatureAlgorithm, signature }";
  const fields = readChildren(der, tbs);
  if (!fields) return "malformed tbsCertificate";
  let i = 0;
  // version [0] EXPLICIT INTEGER DEFAULT v1; SVIDs need extensions, so v3 (2).
  if (fields[0]?.tag === 0xa0) {
    const version = readChildren(der, fields[0])?.[0];
    if (version?.tag !== tags.integer || contentOf(der, version).join() !== "2") return "not an X.509 v3 certificate";
    i = 1;
  }
  const [serial, innerAlgorithm, issuer, validity, subject, spki, ...optional] = fields.slice(i);
  if (serial?.tag !== tags.integer || innerAlgorithm?.tag !== tags.sequence || issuer?.tag !== tags.sequence || validity?.tag !== tags.sequence || subject?.tag !== tags.sequence || spki?.tag !== tags.sequence) {
    return "malformed tbsCertificate fields";
  }
  // RFC 5280 §4.1.1.2: the signature field inside tbsCertificate must equal signatureAlgorithm.
  if (!equalBytes(encodingOf(der, innerAlgorithm), encodingOf(der, outerAlgorithm))) return "the inner and outer signature algorithms differ";
  const algorithmOid = readChildren(der, outerAlgorithm)?.[0];
  const signatureAlgorithm = algorithmOid?.tag === tags.oid ? decodeOid(contentOf(der, algorithmOid)) : null;
  const signatureBits = contentOf(der, signature);
  if (!signatureAlgorithm || signatureBits[0] !== 0) return "malformed signature";
  const [notBeforeNode, notAfterNode, ...moreTimes] = readChildren(der, validity) ?? [];
  const notBefore = notBeforeNode ? readTime(der, notBeforeNode) : null;
  const notAfter = notAfterNode ? readTime(der, notAfterNode) : null;
  if (!notBefore || !notAfter || moreTimes.length) return "malformed validity";
  const subjectText = nameText(der, subject);
  const issuerText = nameText(der, issuer);
  if (subjectText === null || issuerText === null) return "malformed name";
  const spkiDer = encodingOf(der, spki);
  if (!describePublicKey(spkiDer).ok) return "malformed subjectPublicKeyInfo";
  const facts: Mutable<CertificateFacts> = {
    der,
    subjectDer: encodingOf(der, subject),
    issuerDer: encodingOf(der, issuer),
    subject: subjectText,
    issuer: issuerText,
    serialHex: hex(contentOf(der, serial)).replace(/^(00)+(?=.)/, ""),
    notBefore,
    notAfter,
    spki: spkiDer,
    basicConstraints: undefined,
    keyUsages: undefined,
    extKeyUsages: undefined,
    uriSans: [],
    dnsSans: [],
    subjectKeyId: undefined,
    authorityKeyId: undefined,
    unhandledCriticalExtensions: [],
    tbs: encodingOf(der, tbs),
    signatureAlgorithm,
    signature: signatureBits.subarray(1),
  };
  // issuerUniqueID [1] and subjectUniqueID [2] may precede extensions [3].
  const rest = optional.filter((node) => node.tag !== 0x81 && node.tag !== 0x82 && node.tag !== 0xa1 && node.tag !== 0xa2);
  if (rest.length > 1 || (rest[0] && rest[0].tag !== 0xa3)) return "unexpected fields after subjectPublicKeyInfo";
  if (rest[0]) {
    const problem = readExtensions(der, rest[0], facts);
    if (problem) return problem;
  }
  return facts;
}

/** Reads [3] EXPLICIT Extensions into `facts`; a string says what is wrong. */
function readExtensions(der: Uint8Array, wrapper: DerNode, facts: Mutable<CertificateFacts>): string | null {
  const list = readChildren(der, wrapper);
  const seq = list?.[0];
  if (!list || list.length !== 1 || seq?.tag !== tags.sequence) return "malformed extensions";
  const seen = new Set<string>();
  const unhandled: string[] = [];
  for (const extension of readChildren(der, seq) ?? [null]) {
    const parts = extension?.tag === tags.sequence ? readChildren(der, extension) : null;
    const idNode = parts?.[0];
    const valueNode = parts?.[parts.length - 1];
    if (!parts || parts.length < 2 || parts.length > 3 || idNode?.tag !== tags.oid || valueNode?.tag !== tags.octetString) return "malformed extension";
    const criticalNode = parts.length === 3 ? parts[1] : undefined;
    if (criticalNode && criticalNode.tag !== tags.boolean) return "malformed extension criticality";
    const critical = criticalNode !== undefined && contentOf(der, criticalNode)[0] !== 0;
    const id = decodeOid(contentOf(der, idNode));
    if (!id) return "malformed extension id";
    // RFC 5280 §4.2: a certificate must not include more than one instance of an extension.
    if (seen.has(id)) return `extension ${id} appears twice`;
    seen.add(id);
    if (critical && !handledExtensions.has(id)) unhandled.push(id);
    const problem = readExtension(id, contentOf(der, valueNode), facts);
    if (problem) return problem;
  }
  facts.unhandledCriticalExtensions = unhandled;
  return null;
}

function readExtension(id: string, value: Uint8Array, facts: Mutable<CertificateFacts>): string | null {
  const root = readNode(value, 0);
  if (!root || root.end !== value.length) return `malformed extension ${id}`;
  switch (id) {
    case extensionOids.basicConstraints: {
      // BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX) OPTIONAL }
      const children = root.tag === tags.sequence ? readChildren(value, root) : null;
      if (!children || children.length > 2) return "malformed basicConstraints";
      let ca = false;
      let pathLength: number | undefined;
      for (const child of children) {
        const content = contentOf(value, child);
        if (child.tag === tags.boolean && pathLength === undefined) ca = content[0] !== 0;
        else if (child.tag === tags.integer && content.length <= 4 && ((content[0] ?? 0x80) & 0x80) === 0) pathLength = content.reduce((n, b) => n * 256 + b, 0);
        else return "malformed basicConstraints";
      }
      facts.basicConstraints = { ca, pathLength };
      return null;
    }
    case extensionOids.keyUsage: {
      const content = contentOf(value, root);
      if (root.tag !== tags.bitString || content.length < 2 || content.length > 3 || (content[0] as number) > 7) return "malformed keyUsage";
      facts.keyUsages = new Set(keyUsageBits.filter((_, bit) => (((content[1 + (bit >> 3)] ?? 0) >> (7 - (bit & 7))) & 1) === 1));
      return null;
    }
    case extensionOids.extKeyUsage: {
      const children = root.tag === tags.sequence ? readChildren(value, root) : null;
      const usages = children?.map((c) => (c.tag === tags.oid ? decodeOid(contentOf(value, c)) : null));
      if (!usages || usages.length === 0 || usages.some((u) => u === null)) return "malformed extKeyUsage";
      facts.extKeyUsages = usages as string[];
      return null;
    }
    case extensionOids.subjectAltName: {
      const names = readGeneralNames(value);
      if (!names) return "malformed subjectAltName";
      facts.uriSans = names.uris;
      facts.dnsSans = names.dnsNames;
      return null;
    }
    case extensionOids.subjectKeyIdentifier:
      if (root.tag !== tags.octetString) return "malformed subjectKeyIdentifier";
      facts.subjectKeyId = hex(contentOf(value, root));
      return null;
    case extensionOids.authorityKeyIdentifier: {
      // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING OPTIONAL, ... }
      const children = root.tag === tags.sequence ? readChildren(value, root) : null;
      if (!children) return "malformed authorityKeyIdentifier";
      const keyId = children.find((c) => c.tag === 0x80);
      facts.authorityKeyId = keyId ? hex(contentOf(value, keyId)) : undefined;
      return null;
    }
    default:
      return null;
  }
}

/** UTCTime `YYMMDDHHMMSSZ` or GeneralizedTime `YYYYMMDDHHMMSSZ` (RFC 5280 §4.1.2.5.1-2). */
function readTime(der: Uint8Array, node: DerNode): Date | null {
  const text = ascii(contentOf(der, node));
  if (text === null) return null;
  let match: RegExpExecArray | null;
  let year: number;
  if (node.tag === tags.utcTime && (match = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text))) {
    const yy = Number(match[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (node.tag === tags.generalizedTime && (match = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text))) {
    year = Number(match[1]);
  } else {
    return null;
  }
  const [month, day, hour, minute, second] = match.slice(2).map(Number) as [number, number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // Date.UTC rolls over out-of-range fields (month 13, day 32): refuse those instead.
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) return null;
  return date;
}

/** A Name as RFC 4514-like text for messages (`O=cluster.local, CN=Meshwork Root CA`), RDNs in order. */
function nameText(der: Uint8Array, name: DerNode): string | null {
  const rdns = readChildren(der, name);
  if (!rdns) return null;
  const out: string[] = [];
  for (const rdn of rdns) {
    const attributes = rdn.tag === tags.set ? readChildren(der, rdn) : null;
    if (!attributes) return null;
    const parts: string[] = [];
    for (const attribute of attributes) {
      const [type, value] = attribute.tag === tags.sequence ? (readChildren(der, attribute) ?? []) : [];
      const typeOid = type?.tag === tags.oid ? decodeOid(contentOf(der, type)) : null;
      if (!typeOid || !value) return null;
      parts.push(`${attributeNames[typeOid] ?? typeOid}=${decodeText(contentOf(der, value), value.tag)}`);
    }
    out.push(parts.join("+"));
  }
  return out.join(", ");
}

const utf8 = new TextDecoder("utf-8", { fatal: false });

function decodeText(bytes: Uint8Array, tag: number): string {
  if (tag === tags.utf8String) return utf8.decode(bytes);
  let out = "";
  for (const b of bytes) out += String.fromCharCode(b);
  return out;
}

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/**
 * True when `issuer`'s key produced `cert`'s signature over the exact to-be-signed bytes
 * received. A signature that cannot be checked (unknown algorithm, key of another type, bad
 * encoding) counts as false.
 */
export async function isSignedBy(cert: CertificateFacts, issuer: CertificateFacts, crypto: Crypto): Promise<boolean> {
  const key = describePublicKey(issuer.spki);
  if (!key.ok) return false;
  return verifySignature({ spki: issuer.spki, key: key.key, algorithmOid: cert.signatureAlgorithm, signature: cert.signature, data: cert.tbs }, crypto);
}
