// IP addresses and CIDR blocks as Go's net/netip parses them (what Istio's webhook uses): dotted-quad
// IPv4 without leading zeros, IPv6 in RFC 4291 §2.2 text form, and `address/prefix-length`.

/** A dotted-quad IPv4 address (no leading zeros beyond a single 0, as Go's netip requires). */
export function isIPv4(text: string): boolean {
  const parts = text.split(".");
  return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

/** An IPv6 address in RFC 4291 §2.2 text form, including `::` compression and a trailing IPv4 part. */
export function isIPv6(text: string): boolean {
  const halves = text.split("::");
  if (halves.length > 2) return false;
  const groupsOf = (half: string): string[] => (half === "" ? [] : half.split(":"));
  const all = [...groupsOf(halves[0] as string), ...(halves.length === 2 ? groupsOf(halves[1] as string) : [])];
  let count = 0;
  for (const [i, group] of all.entries()) {
    if (i === all.length - 1 && group.includes(".")) {
      if (!isIPv4(group)) return false;
      count += 2;
    } else if (/^[0-9a-f]{1,4}$/i.test(group)) {
      count += 1;
    } else {
      return false;
    }
  }
  return halves.length === 2 ? count < 8 : count === 8;
}

/** An IPv4 or IPv6 address (no zone, no prefix length). */
export function isIpAddress(text: string): boolean {
  return isIPv4(text) || isIPv6(text);
}

/** An IP address or a CIDR block (`10.0.0.0/8`, `2001:db8::/32`). */
export function isIpSubnet(text: string): boolean {
  return ipBlockProblem(text) === undefined;
}

/**
 * Why `value` is not an IP address or CIDR block, or undefined when it is. With `allowZone`, a
 * single address may carry an IPv6 zone (`fe80::1%eth0`), as Go's netip.ParseAddr accepts.
 */
export function ipBlockProblem(value: string, options: { allowZone?: boolean } = {}): string | undefined {
  const quoted = JSON.stringify(value);
  const slash = value.indexOf("/");
  if (slash < 0) return addressBits(value, options.allowZone === true) === undefined ? `${quoted} is not an IP address` : undefined;
  const bits = addressBits(value.slice(0, slash), false);
  if (bits === undefined) return `${quoted} is not a CIDR range: ${JSON.stringify(value.slice(0, slash))} is not an IP address`;
  const length = value.slice(slash + 1);
  if (!/^(0|[1-9][0-9]*)$/.test(length) || Number(length) > bits) {
    return `${quoted} is not a CIDR range: the prefix length must be a number from 0 to ${bits}`;
  }
  return undefined;
}

/** Address width in bits (32 or 128) if `text` is an IPv4 or IPv6 address. */
function addressBits(text: string, allowZone: boolean): 32 | 128 | undefined {
  if (isIPv4(text)) return 32;
  const percent = text.indexOf("%");
  if (percent >= 0) {
    if (!allowZone || percent === text.length - 1) return undefined;
    text = text.slice(0, percent);
  }
  return isIPv6(text) ? 128 : undefined;
}
