// IP addresses and CIDR blocks for the authorization policy's ipBlocks, remoteIpBlocks and the
// source.ip / remote.ip / destination.ip conditions. Addresses parse into four 32-bit words written
// into a caller-owned array, so matching a request's address allocates nothing.

/** 4 for IPv4, 6 for IPv6, 0 when the text is not an address. */
export type IpFamily = 0 | 4 | 6;

/** A CIDR block: the network's words (IPv4 uses word 0 only), masks per word, and the family. */
export interface IpBlock {
  readonly family: 4 | 6;
  readonly words: Uint32Array;
  readonly masks: Uint32Array;
  readonly prefixLength: number;
  /** As written in the policy. */
  readonly text: string;
}

/**
 * Parses an IPv4 (`a.b.c.d`) or IPv6 address (with `::`, an embedded IPv4 tail, an optional zone
 * `%eth0` and optional brackets) into `out` (length ≥ 4). IPv4 fills word 0. An IPv4-mapped IPv6
 * address (`::ffff:a.b.c.d`, how a dual-stack socket reports an IPv4 peer) parses as IPv4.
 */
export function parseIpInto(text: string, out: Uint32Array): IpFamily {
  if (text.length === 0 || text.length > 64) return 0;
  if (text.indexOf(":") < 0) {
    const v4 = parseIpv4(text, 0, text.length);
    if (v4 < 0) return 0;
    out[0] = v4;
    return 4;
  }
  let start = 0;
  let end = text.length;
  if (text.charCodeAt(0) === 91 /* [ */) {
    if (text.charCodeAt(end - 1) !== 93 /* ] */) return 0;
    start = 1;
    end -= 1;
  }
  const zone = text.indexOf("%", start);
  if (zone >= 0 && zone < end) end = zone;
  return parseIpv6(text, start, end, out);
}

/** A bare IPv4 address in text[start, end) as an unsigned 32-bit number, or -1. */
function parseIpv4(text: string, start: number, end: number): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
      if (dots > 3) return -1;
    } else if (c >= 48 && c <= 57) {
      // A leading zero followed by more digits is ambiguous (octal in inet_aton); refuse it as Go's net.ParseIP does.
      if (digits === 1 && part === 0) return -1;
      part = part * 10 + (c - 48);
      digits++;
      if (part > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

function parseIpv6(text: string, start: number, end: number, out: Uint32Array): IpFamily {
  // Up to 8 groups of 16 bits; `gap` is the index where `::` stands.
  const groups = scratchGroups;
  let count = 0;
  let gap = -1;
  let i = start;
  if (end - start >= 2 && text.charCodeAt(i) === 58 && text.charCodeAt(i + 1) === 58) {
    gap = 0;
    i += 2;
    if (i === end) {
      out[0] = 0;
      out[1] = 0;
      out[2] = 0;
      out[3] = 0;
      return 6;
    }
  } else if (text.charCodeAt(i) === 58) {
    return 0;
  }
  while (i < end) {
    if (count >= 8) return 0;
    let j = i;
    let value = 0;
    while (j < end && j - i < 5) {
      const c = text.charCodeAt(j);
      const h = hexValue(c);
      if (h < 0) break;
      value = value * 16 + h;
      j++;
    }
    if (j < end && text.charCodeAt(j) === 46 /* . */) {
      // Embedded IPv4 tail: the rest of the text.
      const v4 = parseIpv4(text, i, end);
      if (v4 < 0 || count > 6) return 0;
      groups[count++] = v4 >>> 16;
      groups[count++] = v4 & 0xffff;
      i = end;
      break;
    }
    if (j === i || j - i > 4) return 0;
    groups[count++] = value;
    if (j === end) {
      i = j;
      break;
    }
    if (text.charCodeAt(j) !== 58) return 0;
    if (j + 1 < end && text.charCodeAt(j + 1) === 58) {
      if (gap >= 0) return 0;
      gap = count;
      i = j + 2;
    } else {
      if (j + 1 === end) return 0;
      i = j + 1;
    }
  }
  if (gap < 0 ? count !== 8 : count > 7) return 0;
  const missing = 8 - count;
  let word = 0;
  let half = 0;
  let index = 0;
  for (let g = 0; g < 8; g++) {
    let v: number;
    if (gap >= 0 && g >= gap && g < gap + missing) v = 0;
    else v = groups[index++] as number;
    if (half === 0) {
      word = v;
      half = 1;
    } else {
      out[g >> 1] = ((word << 16) | v) >>> 0;
      half = 0;
    }
  }
  if (out[0] === 0 && out[1] === 0 && out[2] === 0xffff) {
    out[0] = out[3] as number;
    return 4;
  }
  return 6;
}

const scratchGroups: number[] = [0, 0, 0, 0, 0, 0, 0, 0];

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Compiles `a.b.c.d`, `a.b.c.d/n`, an IPv6 address or `v6/n` (a bare address is a /32 or /128)
 * as Istio does (Envoy's CidrRange: host bits past the prefix are ignored); undefined when invalid.
 */
export function compileIpBlock(text: string): IpBlock | undefined {
  const slash = text.indexOf("/");
  const words = new Uint32Array(4);
  const family = parseIpInto(slash < 0 ? text : text.slice(0, slash), words);
  if (family === 0) return undefined;
  const max = family === 4 ? 32 : 128;
  let prefixLength = max;
  if (slash >= 0) {
    const digits = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(digits)) return undefined;
    prefixLength = Number(digits);
    if (prefixLength > max) return undefined;
  }
  const masks = new Uint32Array(4);
  for (let w = 0, bits = prefixLength; w < 4; w++, bits -= 32) {
    masks[w] = bits >= 32 ? 0xffffffff : bits <= 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    words[w] = ((words[w] as number) & (masks[w] as number)) >>> 0;
  }
  return { family, words, masks, prefixLength, text };
}

/** Whether the address (`family`, `address` from parseIpInto) lies in `block`; families never mix. */
export function ipBlockContains(block: IpBlock, family: IpFamily, address: Uint32Array): boolean {
  if (family !== block.family) return false;
  if (family === 4) return (((address[0] as number) & (block.masks[0] as number)) >>> 0) === block.words[0];
  for (let w = 0; w < 4; w++) {
    if ((((address[w] as number) & (block.masks[w] as number)) >>> 0) !== block.words[w]) return false;
  }
  return true;
}
