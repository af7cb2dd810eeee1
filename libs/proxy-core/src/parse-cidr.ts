// IP addresses and CIDR blocks as bytes, for the `destinationSubnets` of TCP and TLS route matches.
// Written here rather than taken from node:net because proxy-core is pure.

/** A parsed CIDR block: the network address's bytes (4 for IPv4, 16 for IPv6) and the prefix length. */
export interface Cidr {
  readonly bytes: readonly number[];
  readonly prefixLength: number;
  /** As written, for descriptions. */
  readonly text: string;
}

/**
 * Parses `a.b.c.d`, `a.b.c.d/nn`, an IPv6 address or `v6/nnn` (a bare address is a /32 or /128);
 * undefined when `text` is neither. IPv4-mapped IPv6 (`::ffff:a.b.c.d`) becomes IPv4.
 */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  const address = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!address) return undefined;
  const max = address.length * 8;
  let prefixLength = max;
  if (slash >= 0) {
    const digits = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(digits)) return undefined;
    prefixLength = Number(digits);
    if (prefixLength > max) return undefined;
  }
  return { bytes: address, prefixLength, text };
}

/** The bytes of an IPv4 (4) or IPv6 (16) address; IPv4-mapped IPv6 gives 4. Undefined when not an address. */
export function parseIp(text: string): number[] | undefined {
  if (text.includes(":")) return parseIpv6(text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text);
  return parseIpv4(text);
}

function parseIpv4(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    bytes.push(n);
  }
  return bytes;
}

function parseIpv6(text: string): number[] | undefined {
  const zone = text.indexOf("%");
  const bare = zone < 0 ? text : text.slice(0, zone);
  const halves = bare.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === "") return [];
    const out: number[] = [];
    const pieces = half.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i] as string;
      if (i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIpv4(piece);
        if (!v4) return undefined;
        out.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return undefined;
      out.push(parseInt(piece, 16));
    }
    return out;
  };
  const head = groups(halves[0] as string);
  const tail = halves.length === 2 ? groups(halves[1] as string) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const bytes = all.flatMap((g) => [g >> 8, g & 0xff]);
  // ::ffff:a.b.c.d — how a dual-stack socket reports an IPv4 peer.
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12);
  return bytes;
}

/** Whether `address` (bytes from parseIp) lies in `cidr`; an IPv4 address never lies in an IPv6 block and vice versa. */
export function cidrContains(cidr: Cidr, address: readonly number[]): boolean {
  if (address.length !== cidr.bytes.length) return false;
  let bits = cidr.prefixLength;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((address[i] as number) & mask) !== ((cidr.bytes[i] as number) & mask)) return false;
  }
  return true;
}

/**
 * The canonical text of an address's bytes (from parseIp): dotted quad for IPv4; for IPv6 lowercase
 * hex groups with the longest run (≥ 2) of zero groups written `::` (RFC 5952 §4), so equal
 * addresses written differently compare equal as text.
 */
export function formatIp(bytes: readonly number[]): string {
  if (bytes.length === 4) return bytes.join(".");
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] as number) << 8) | (bytes[i + 1] as number)) >>> 0);
  let bestAt = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let end = i;
    while (end < 8 && groups[end] === 0) end++;
    if (end - i > bestLength) {
      bestAt = i;
      bestLength = end - i;
    }
    i = end;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt < 0) return hex.join(":");
  return `${hex.slice(0, bestAt).join(":")}::${hex.slice(bestAt + bestLength).join(":")}`;
}
