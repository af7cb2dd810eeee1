// The TBSCertificate of an X.509-SVID leaf (RFC 5280 §4.1, X509-SVID §4), two ways: `svidTbs`
// composes it from DER parts (the reference, easy to read against the RFCs), and `SvidTemplate`
// splices the per-request fields into bytes precomputed once per signing CA (the CA's hot path:
// see bench/ca). Both produce the same bytes for the same fields (svid-tbs.test.ts checks it).
import { asciiString, oid, sequence, tags, tlv, unsignedInteger, x509Time } from "./der.ts";
import { extensionDer, signatureAlgorithmDer } from "./sign-certificate.ts";
import type { SigningCa } from "./signing-ca.ts";

/** What differs from one leaf of a CA to the next. */
export interface SvidTbsFields {
  /** Serial number magnitude, big-endian (encoded as a positive INTEGER in minimal form). */
  readonly serial: Uint8Array;
  /** Whole seconds (the caller floors). */
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The subject's SubjectPublicKeyInfo, DER. */
  readonly spki: Uint8Array;
  /** RSA keys also get keyEncipherment (X509-SVID §4.3). */
  readonly rsaKey: boolean;
  /** The one URI SAN (ASCII). */
  readonly spiffeId: string;
  /** The subject key identifier, 20 bytes (SHA-1 of the key bits, RFC 5280 §4.2.1.2 method 1). */
  readonly subjectKeyId: Uint8Array;
}

const oids = {
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  subjectKeyIdentifier: "2.5.29.14",
  authorityKeyIdentifier: "2.5.29.35",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
} as const;

/** [0] EXPLICIT INTEGER 2: X.509 v3. */
const version3 = tlv(0xa0, unsignedInteger(new Uint8Array([2])));
const emptyName = sequence();
/** GeneralName uniformResourceIdentifier [6] IMPLICIT IA5String (RFC 5280 §4.2.1.6). */
const uriGeneralNameTag = 0x86;
/** AuthorityKeyIdentifier keyIdentifier [0] IMPLICIT OCTET STRING (RFC 5280 §4.2.1.1). */
const keyIdentifierTag = 0x80;
/** basicConstraints, critical, CA=false: an empty SEQUENCE, since DER omits the default (RFC 5280 §4.2.1.9). */
const leafBasicConstraints = extensionDer(oids.basicConstraints, true, sequence());
/** keyUsage, critical: digitalSignature (bit 0) → BIT STRING 07 80; with keyEncipherment (bit 2) → 05 a0. */
const leafKeyUsage = extensionDer(oids.keyUsage, true, tlv(tags.bitString, new Uint8Array([0x07, 0x80])));
const rsaLeafKeyUsage = extensionDer(oids.keyUsage, true, tlv(tags.bitString, new Uint8Array([0x05, 0xa0])));
/** extKeyUsage serverAuth + clientAuth, non-critical (X509-SVID §4.4). */
const leafExtKeyUsage = extensionDer(oids.extKeyUsage, false, sequence(oid(oids.serverAuth), oid(oids.clientAuth)));

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function authorityKeyIdExtension(issuer: SigningCa): Uint8Array | undefined {
  return issuer.subjectKeyId === undefined ? undefined : extensionDer(oids.authorityKeyIdentifier, false, sequence(tlv(keyIdentifierTag, hexToBytes(issuer.subjectKeyId))));
}

/**
 * The leaf's TBSCertificate, composed from its parts: v3, serial, the issuer key's signature
 * algorithm, issuer name, validity, empty subject (the ID is in the SAN, X509-SVID §3.1), the
 * subject key, and the extensions basicConstraints CA=false (critical), keyUsage (critical),
 * extKeyUsage serverAuth + clientAuth, the URI SAN (critical: empty subject), subject and
 * authority key identifiers.
 */
export function svidTbs(issuer: SigningCa, fields: SvidTbsFields): Uint8Array<ArrayBuffer> {
  const extensions = [
    leafBasicConstraints,
    fields.rsaKey ? rsaLeafKeyUsage : leafKeyUsage,
    leafExtKeyUsage,
    extensionDer(oids.subjectAltName, true, sequence(asciiString(uriGeneralNameTag, fields.spiffeId))),
    extensionDer(oids.subjectKeyIdentifier, false, tlv(tags.octetString, fields.subjectKeyId)),
  ];
  const aki = authorityKeyIdExtension(issuer);
  if (aki) extensions.push(aki);
  return sequence(
    version3,
    unsignedInteger(fields.serial),
    signatureAlgorithmDer(issuer.privateKey),
    issuer.subjectDer,
    sequence(x509Time(fields.notBefore), x509Time(fields.notAfter)),
    emptyName,
    fields.spki,
    tlv(0xa3, sequence(...extensions)),
  );
}

/** Bytes of a DER length header for `n` content bytes (tag excluded). */
function lengthSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 4;
}

/** Writes tag + length of `n` content bytes at `at`; returns the offset after the header. */
function writeHeader(out: Uint8Array, at: number, tag: number, n: number): number {
  out[at++] = tag;
  if (n < 0x80) {
    out[at++] = n;
  } else if (n < 0x100) {
    out[at++] = 0x81;
    out[at++] = n;
  } else if (n < 0x10000) {
    out[at++] = 0x82;
    out[at++] = n >> 8;
    out[at++] = n & 0xff;
  } else if (n < 0x1000000) {
    out[at++] = 0x83;
    out[at++] = n >> 16;
    out[at++] = (n >> 8) & 0xff;
    out[at++] = n & 0xff;
  } else {
    throw new RangeError(`DER content of ${n} bytes is beyond what certificates need`);
  }
  return at;
}

/** Size of a UTCTime (through 2049) or GeneralizedTime TLV for `date` (RFC 5280 §4.1.2.5). */
function timeSize(date: Date): number {
  const year = date.getUTCFullYear();
  return year >= 1950 && year < 2050 ? 15 : 17;
}

function writeDigits(out: Uint8Array, at: number, value: number, digits: number): number {
  for (let i = digits - 1; i >= 0; i--) {
    out[at + i] = 0x30 + (value % 10);
    value = Math.floor(value / 10);
  }
  return at + digits;
}

function writeTime(out: Uint8Array, at: number, date: Date): number {
  const year = date.getUTCFullYear();
  const utc = year >= 1950 && year < 2050;
  at = writeHeader(out, at, utc ? tags.utcTime : tags.generalizedTime, utc ? 13 : 15);
  at = utc ? writeDigits(out, at, year % 100, 2) : writeDigits(out, at, year, 4);
  at = writeDigits(out, at, date.getUTCMonth() + 1, 2);
  at = writeDigits(out, at, date.getUTCDate(), 2);
  at = writeDigits(out, at, date.getUTCHours(), 2);
  at = writeDigits(out, at, date.getUTCMinutes(), 2);
  at = writeDigits(out, at, date.getUTCSeconds(), 2);
  out[at++] = 0x5a; // Z
  return at;
}

/** The DER of the SAN extension's fixed head: extnID subjectAltName, critical TRUE. */
const sanHead = Uint8Array.from([0x06, 0x03, 0x55, 0x1d, 0x11, 0x01, 0x01, 0xff]);
/** The subjectKeyIdentifier extension up to its 20-byte value: 30 1d 06 03 55 1d 0e 04 16 04 14. */
const skiHead = Uint8Array.from([0x30, 0x1d, 0x06, 0x03, 0x55, 0x1d, 0x0e, 0x04, 0x16, 0x04, 0x14]);

/**
 * The leaf TBSCertificate of one signing CA as precomputed bytes (version, signature algorithm,
 * issuer name, the constant extensions, the authority key identifier) into which each request's
 * serial, validity, key, SAN and subject key identifier are spliced: one allocation, no ASN.1
 * composition per leaf. Byte-identical to {@link svidTbs}. Get one with {@link SvidTemplate.of}.
 */
export class SvidTemplate {
  static readonly #cache = new WeakMap<SigningCa, SvidTemplate>();
  /** version3 ‖ (serial goes after this) */
  readonly #version = version3;
  /** signature AlgorithmIdentifier ‖ issuer Name */
  readonly #algorithmAndIssuer: Uint8Array;
  /** basicConstraints ‖ keyUsage ‖ extKeyUsage, for EC and for RSA keys */
  readonly #fixedExtensions: Uint8Array;
  readonly #fixedExtensionsRsa: Uint8Array;
  readonly #authorityKeyId: Uint8Array;
  /** The AlgorithmIdentifier of the issuer's signatures (in the TBS and after it). */
  readonly signatureAlgorithm: Uint8Array;

  private constructor(issuer: SigningCa) {
    const algorithm = signatureAlgorithmDer(issuer.privateKey);
    this.signatureAlgorithm = algorithm;
    this.#algorithmAndIssuer = new Uint8Array(algorithm.length + issuer.subjectDer.length);
    this.#algorithmAndIssuer.set(algorithm, 0);
    this.#algorithmAndIssuer.set(issuer.subjectDer, algorithm.length);
    const fixed = (keyUsage: Uint8Array): Uint8Array => {
      const out = new Uint8Array(leafBasicConstraints.length + keyUsage.length + leafExtKeyUsage.length);
      out.set(leafBasicConstraints, 0);
      out.set(keyUsage, leafBasicConstraints.length);
      out.set(leafExtKeyUsage, leafBasicConstraints.length + keyUsage.length);
      return out;
    };
    this.#fixedExtensions = fixed(leafKeyUsage);
    this.#fixedExtensionsRsa = fixed(rsaLeafKeyUsage);
    this.#authorityKeyId = authorityKeyIdExtension(issuer) ?? new Uint8Array(0);
  }

  /** The template of `issuer` (built once per SigningCa object, which is immutable). */
  static of(issuer: SigningCa): SvidTemplate {
    let template = SvidTemplate.#cache.get(issuer);
    if (!template) SvidTemplate.#cache.set(issuer, (template = new SvidTemplate(issuer)));
    return template;
  }

  /** The TBSCertificate DER for `fields`. */
  tbs(fields: SvidTbsFields): Uint8Array<ArrayBuffer> {
    const { serial, spki, spiffeId, subjectKeyId } = fields;
    if (subjectKeyId.length !== 20) throw new RangeError(`subjectKeyId must be 20 bytes (SHA-1), got ${subjectKeyId.length}`);
    // serial INTEGER: minimal magnitude, 0x00 in front when the top bit is set
    let serialStart = 0;
    while (serialStart < serial.length - 1 && serial[serialStart] === 0) serialStart++;
    const serialBytes = serial.length === 0 ? 1 : serial.length - serialStart;
    const serialPad = serial.length > 0 && (serial[serialStart] as number) >= 0x80 ? 1 : 0;
    const serialContent = serialBytes + serialPad;
    const serialSize = 1 + lengthSize(serialContent) + serialContent;
    const validityContent = timeSize(fields.notBefore) + timeSize(fields.notAfter);
    const validitySize = 1 + lengthSize(validityContent) + validityContent;
    // SAN: 30 L [sanHead] 04 L 30 L 86 L uri
    const uriSize = 1 + lengthSize(spiffeId.length) + spiffeId.length;
    const namesSize = 1 + lengthSize(uriSize) + uriSize;
    const sanContent = sanHead.length + 1 + lengthSize(namesSize) + namesSize;
    const sanSize = 1 + lengthSize(sanContent) + sanContent;
    const fixedExtensions = fields.rsaKey ? this.#fixedExtensionsRsa : this.#fixedExtensions;
    const extensionsContent = fixedExtensions.length + sanSize + skiHead.length + 20 + this.#authorityKeyId.length;
    const extensionsSeqSize = 1 + lengthSize(extensionsContent) + extensionsContent;
    const extensionsSize = 1 + lengthSize(extensionsSeqSize) + extensionsSeqSize;
    const tbsContent = this.#version.length + serialSize + this.#algorithmAndIssuer.length + validitySize + emptyName.length + spki.length + extensionsSize;

    const out = new Uint8Array(1 + lengthSize(tbsContent) + tbsContent);
    let at = writeHeader(out, 0, tags.sequence, tbsContent);
    out.set(this.#version, at);
    at += this.#version.length;
    at = writeHeader(out, at, tags.integer, serialContent);
    if (serialPad) out[at++] = 0;
    if (serial.length === 0) {
      out[at++] = 0;
    } else {
      out.set(serial.subarray(serialStart), at);
      at += serialBytes;
    }
    out.set(this.#algorithmAndIssuer, at);
    at += this.#algorithmAndIssuer.length;
    at = writeHeader(out, at, tags.sequence, validityContent);
    at = writeTime(out, at, fields.notBefore);
    at = writeTime(out, at, fields.notAfter);
    out.set(emptyName, at);
    at += emptyName.length;
    out.set(spki, at);
    at += spki.length;
    at = writeHeader(out, at, 0xa3, extensionsSeqSize);
    at = writeHeader(out, at, tags.sequence, extensionsContent);
    out.set(fixedExtensions, at);
    at += fixedExtensions.length;
    at = writeHeader(out, at, tags.sequence, sanContent);
    out.set(sanHead, at);
    at += sanHead.length;
    at = writeHeader(out, at, tags.octetString, namesSize);
    at = writeHeader(out, at, tags.sequence, uriSize);
    at = writeHeader(out, at, uriGeneralNameTag, spiffeId.length);
    for (let i = 0; i < spiffeId.length; i++) {
      const c = spiffeId.charCodeAt(i);
      if (c > 0x7f) throw new RangeError(`"${spiffeId}" is not ASCII`);
      out[at++] = c;
    }
    out.set(skiHead, at);
    at += skiHead.length;
    out.set(subjectKeyId, at);
    at += 20;
    out.set(this.#authorityKeyId, at);
    at += this.#authorityKeyId.length;
    if (at !== out.length) throw new Error(`SvidTemplate wrote ${at} of ${out.length} bytes`);
    return out;
  }
}
