// Reads the server name (SNI) from the first bytes of a TLS connection without terminating it,
// as Envoy's tls_inspector listener filter does for Istio's TLS ports: TLS records of type
// handshake (RFC 8446 §5.1) carrying a ClientHello (§4.1.2) with the server_name extension
// (RFC 6066 §3). The ClientHello may span several records.

export type ClientHelloScan =
  /** More bytes are needed to decide. */
  | { readonly type: "need-more" }
  /** Not a TLS ClientHello (plain TCP): route without SNI. */
  | { readonly type: "not-tls" }
  /** A complete ClientHello; `sni` undefined when it has no host_name. */
  | { readonly type: "tls"; readonly sni: string | undefined };

/** A larger ClientHello is treated as not TLS (real ones are a few KiB, post-quantum key shares included). */
export const maxClientHelloBytes = 16 * 1024;

const needMore: ClientHelloScan = Object.freeze({ type: "need-more" });
const notTls: ClientHelloScan = Object.freeze({ type: "not-tls" });

/** Scans `data`, the bytes received so far from the client. */
export function readClientHelloSni(data: Uint8Array): ClientHelloScan {
  // Reassemble the handshake message from consecutive handshake records.
  const fragments: Uint8Array[] = [];
  let handshakeBytes = 0;
  let at = 0;
  let needed = -1;
  for (;;) {
    if (data.length < at + 5) return at === 0 && data.length > 0 && data[0] !== 0x16 ? notTls : needMore;
    if (data[at] !== 0x16 || data[at + 1] !== 0x03) return notTls;
    const length = ((data[at + 3] as number) << 8) | (data[at + 4] as number);
    if (length === 0 || length > 16_384 + 256) return notTls;
    if (data.length < at + 5 + length) return needMore;
    fragments.push(data.subarray(at + 5, at + 5 + length));
    handshakeBytes += length;
    at += 5 + length;
    if (needed < 0 && handshakeBytes >= 4) {
      const first = concat(fragments, 4);
      if (first[0] !== 0x01) return notTls; // not a ClientHello
      needed = 4 + (((first[1] as number) << 16) | ((first[2] as number) << 8) | (first[3] as number));
      if (needed > maxClientHelloBytes) return notTls;
    }
    if (needed >= 0 && handshakeBytes >= needed) break;
  }
  const hello = concat(fragments, needed);
  const sni = parseClientHello(hello.subarray(4));
  return sni === null ? notTls : { type: "tls", sni };
}

function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    if (offset >= length) break;
    const take = part.subarray(0, length - offset);
    out.set(take, offset);
    offset += take.length;
  }
  return out;
}

/** The host_name of a ClientHello body; undefined without one; null when malformed. */
function parseClientHello(body: Uint8Array): string | undefined | null {
  let at = 2 + 32; // legacy_version, random
  const u8 = (): number => (at < body.length ? (body[at++] as number) : -1);
  const u16 = (): number => {
    if (at + 2 > body.length) return -1;
    const v = ((body[at] as number) << 8) | (body[at + 1] as number);
    at += 2;
    return v;
  };
  const sessionId = u8();
  if (sessionId < 0) return null;
  at += sessionId;
  const suites = u16();
  if (suites < 0) return null;
  at += suites;
  const compression = u8();
  if (compression < 0) return null;
  at += compression;
  if (at === body.length) return undefined; // no extensions
  const extensionsLength = u16();
  if (extensionsLength < 0 || at + extensionsLength > body.length) return null;
  const end = at + extensionsLength;
  while (at + 4 <= end) {
    const type = u16();
    const length = u16();
    if (at + length > end) return null;
    if (type === 0) {
      // server_name: ServerNameList (u16 length) of (name_type u8, HostName u16-prefixed).
      let p = at + 2;
      const listEnd = at + length;
      while (p + 3 <= listEnd) {
        const nameType = body[p] as number;
        const nameLength = ((body[p + 1] as number) << 8) | (body[p + 2] as number);
        p += 3;
        if (p + nameLength > listEnd) return null;
        if (nameType === 0) return new TextDecoder("latin1").decode(body.subarray(p, p + nameLength)).toLowerCase();
        p += nameLength;
      }
      return undefined;
    }
    at += length;
  }
  return undefined;
}
