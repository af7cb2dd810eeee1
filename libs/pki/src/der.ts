// A minimal DER (X.690 §10) encoder and reader for the few ASN.1 types an X.509-SVID and a
// PKCS#10 request use. Issuance and CSR checks go through it rather than @peculiar/x509's
// reflective ASN.1 layer, which costs milliseconds per certificate (see bench/ca).

/** Universal and context tags used here. */
export const tags = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** Concatenates byte strings. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** One TLV: `tag`, the definite length (short or long form), then `content`. */
export function tlv(tag: number, content: Uint8Array): Uint8Array<ArrayBuffer> {
  const n = content.length;
  let header: number[];
  if (n < 0x80) header = [tag, n];
  else if (n < 0x100) header = [tag, 0x81, n];
  else if (n < 0x10000) header = [tag, 0x82, n >> 8, n & 0xff];
  else if (n < 0x1000000) header = [tag, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  else throw new RangeError(`DER content of ${n} bytes is beyond what certificates need`);
  const out = new Uint8Array(header.length + n);
  out.set(header, 0);
  out.set(content, header.length);
  return out;
}

/** SEQUENCE of already-encoded elements. */
export function sequence(...elements: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  return tlv(tags.sequence, concatBytes(elements));
}

/** A non-negative INTEGER from big-endian magnitude bytes, in minimal form. */
export function unsignedInteger(magnitude: Uint8Array): Uint8Array<ArrayBuffer> {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.length === 0 ? new Uint8Array([0]) : magnitude.subarray(start);
  return tlv(tags.integer, (trimmed[0] as number) >= 0x80 ? concatBytes([new Uint8Array([0]), trimmed]) : trimmed);
}

/** An OBJECT IDENTIFIER from its dotted form (X.690 §8.19). */
export function oid(dotted: string): Uint8Array<ArrayBuffer> {
  const arcs = dotted.split(".").map(Number);
  const [first = 0, second = 0, ...rest] = arcs;
  const bytes: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const chunk = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(tags.oid, new Uint8Array(bytes));
}

/** A BIT STRING holding whole bytes (no unused bits): keys and signatures. */
export function bitString(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return tlv(tags.bitString, concatBytes([new Uint8Array([0]), bytes]));
}

/** An ASCII string of the given tag (IA5String, or an implicitly tagged one such as a URI GeneralName). */
export function asciiString(tag: number, text: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) throw new RangeError(`"${text}" is not ASCII`);
    bytes[i] = c;
  }
  return tlv(tag, bytes);
}

const two = (n: number): string => String(n).padStart(2, "0");

/**
 * An X.509 Time (RFC 5280 §4.1.2.5): UTCTime `YYMMDDHHMMSSZ` through 2049, GeneralizedTime
 * `YYYYMMDDHHMMSSZ` from 2050; seconds only (callers floor to whole seconds).
 */
export function x509Time(date: Date): Uint8Array<ArrayBuffer> {
  const year = date.getUTCFullYear();
  const rest = `${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}Z`;
  if (year >= 1950 && year < 2050) return asciiString(tags.utcTime, `${two(year % 100)}${rest}`);
  return asciiString(tags.generalizedTime, `${String(year).padStart(4, "0")}${rest}`);
}

/** A parsed TLV: its tag, and where its content lies in the source bytes. */
export interface DerNode {
  readonly tag: number;
  /** Offset of the tag byte. */
  readonly start: number;
  /** Offset of the first content byte. */
  readonly contentStart: number;
  /** Offset just past the content. */
  readonly end: number;
}

/**
 * Reads the TLV at `offset` of `bytes`, within `limit` (default: the end). Strict DER: one-byte
 * tags, definite minimal lengths, content inside the limit. `null` when the bytes are not that.
 */
export function readNode(bytes: Uint8Array, offset: number, limit = bytes.length): DerNode | null {
  if (offset + 2 > limit) return null;
  const tag = bytes[offset] as number;
  if ((tag & 0x1f) === 0x1f) return null; // multi-byte tags: none of ours
  let length = bytes[offset + 1] as number;
  let contentStart = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 3 || contentStart + count > limit) return null;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (bytes[contentStart + i] as number);
    if (length < 0x80 || (count > 1 && bytes[contentStart] === 0)) return null; // not minimal
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > limit) return null;
  return { tag, start: offset, contentStart, end };
}

/** The children of a constructed node, in order; `null` when they do not exactly fill it. */
export function readChildren(bytes: Uint8Array, node: DerNode): DerNode[] | null {
  const children: DerNode[] = [];
  let offset = node.contentStart;
  while (offset < node.end) {
    const child = readNode(bytes, offset, node.end);
    if (!child) return null;
    children.push(child);
    offset = child.end;
  }
  return children;
}

/** The content bytes of a node (a view, not a copy). */
export function contentOf(bytes: Uint8Array, node: DerNode): Uint8Array {
  return bytes.subarray(node.contentStart, node.end);
}

/** The whole encoding of a node, tag and length included (a view). */
export function encodingOf(bytes: Uint8Array, node: DerNode): Uint8Array {
  return bytes.subarray(node.start, node.end);
}

/** The dotted form of an OBJECT IDENTIFIER's content; `null` when malformed. */
export function decodeOid(content: Uint8Array): string | null {
  if (content.length === 0 || content.length > 64) return null;
  const arcs: number[] = [];
  let value = 0;
  for (let i = 0; i < content.length; i++) {
    const b = content[i] as number;
    if (value === 0 && b === 0x80) return null; // non-minimal
    value = value * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      arcs.push(value);
      value = 0;
    } else if (i === content.length - 1) {
      return null;
    }
  }
  const first = arcs[0] as number;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join(".");
}
