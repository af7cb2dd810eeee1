// The iptables rules that send a pod's TCP traffic through its sidecar (DESIGN.md §3.5), as
// iptables-restore input for the nat table: inbound connections → the inbound port (15006), or,
// for a container port with a listener of its own (inboundPortMap), that listener's port, so the
// sidecar knows the port without reading the original destination (docs/design/kubernetes.md),
// outbound connections → the outbound port (15001), and with DNS capture the pod's DNS queries
// (UDP and TCP port 53) → the sidecar's DNS proxy (15053), as istio-iptables' SetupDNSRedir does.
// The sidecar's own connections (its UID/GID), loopback destinations and the sidecar's own ports
// are left alone, so nothing loops. Pure: the injected init container pipes the text into
// `iptables-restore --noflush`, and for a dual-stack pod the `family: "ipv6"` text into
// `ip6tables-restore --noflush`: the same chains, as istio-iptables emits them with IPv6 on, but
// `::1/128` for loopback and only the IPv6 ones of the excluded ranges (its separateV4V6).
import { isIPv6 } from "node:net";

/** Which rule set: iptables-restore input (IPv4) or ip6tables-restore input (IPv6). */
export type IpFamily = "ipv4" | "ipv6";

export interface CaptureOptions {
  /** UID the sidecar runs as; its outbound connections are not captured. */
  readonly proxyUid: number;
  /** GID the sidecar runs as (default: proxyUid). */
  readonly proxyGid?: number;
  /** Where inbound connections are redirected (default 15006). */
  readonly inboundPort?: number;
  /** Where outbound connections are redirected (default 15001). */
  readonly outboundPort?: number;
  /** Inbound ports to capture: "*" (every port but the excluded ones, the default) or a list. */
  readonly inboundPorts?: "*" | readonly number[];
  /** Inbound ports never captured, besides the sidecar's own (sidecarPorts). */
  readonly excludeInboundPorts?: readonly number[];
  /** Outbound destination ports never captured. */
  readonly excludeOutboundPorts?: readonly number[];
  /**
   * Outbound destination ranges never captured, IPv4 and IPv6 CIDRs mixed (169.254.169.254/32,
   * fd00:ec2::254/128): each rule set takes the ranges of its family, as istio-iptables splits
   * OUTBOUND_IP_RANGES_EXCLUDE; all are checked whatever the family.
   */
  readonly excludeOutboundCidrs?: readonly string[];
  /** The rule set to build (default "ipv4"): the IPv6 one returns for ::1 instead of 127.0.0.1. */
  readonly family?: IpFamily;
  /** The sidecar's own listening ports (admin, stats, gateway health), never captured inbound. */
  readonly sidecarPorts?: readonly number[];
  /**
   * DNS capture (proxyMetadata ISTIO_META_DNS_CAPTURE): the pod's UDP and TCP traffic to port 53,
   * except the sidecar's own (its upstream queries), goes to this port of the sidecar's DNS proxy
   * (Istio's 15053), whatever resolver it was addressed to (istio-iptables' CAPTURE_ALL_DNS: the
   * rules are written at injection, before the pod's resolv.conf exists). Unset: DNS is not captured.
   */
  readonly dnsPort?: number;
  /**
   * Container port → the sidecar listener that serves it (planInboundPortMap): a captured
   * connection to such a port is redirected to its own listener instead of the inbound port, which
   * gives the sidecar the port REDIRECT would otherwise hide. Entries whose port is not captured
   * (excluded, or outside inboundPorts) get no rule. The rules name no address, so they read the
   * same for ip6tables-restore.
   */
  readonly inboundPortMap?: ReadonlyMap<number, number>;
}

/**
 * Where per-port inbound listeners start: the first captured container port gets 15100, the next
 * 15101, … (ports taken by the pod or the sidecar are skipped). Above Istio's reserved 15000–15090.
 */
export const inboundListenPortBase = 15100;

/** Istio's layout: 15000 admin, 15020 stats/health, 15021 gateway health, 15090 Envoy prometheus. */
export const defaultSidecarPorts: readonly number[] = [15000, 15020, 15021, 15090];

export const captureChains = {
  inbound: "MESHWORK_INBOUND",
  inboundRedirect: "MESHWORK_IN_REDIRECT",
  output: "MESHWORK_OUTPUT",
  outboundRedirect: "MESHWORK_REDIRECT",
  outputDns: "MESHWORK_OUTPUT_DNS",
} as const;

/** Thrown for options that would produce rules iptables rejects or that capture nothing sensible. */
export class CaptureOptionsError extends Error {
  override readonly name = "CaptureOptionsError";
}

/**
 * iptables-restore input (nat table only) that captures the pod's traffic, or with `family: "ipv6"`
 * ip6tables-restore input; apply with --noflush. Both families validate every option, so a pod's
 * options are refused the same way whichever sets the injector builds.
 */
export function buildCaptureRules(options: CaptureOptions): string {
  const inboundPort = options.inboundPort ?? 15006;
  const outboundPort = options.outboundPort ?? 15001;
  const proxyGid = options.proxyGid ?? options.proxyUid;
  checkId("proxyUid", options.proxyUid);
  checkId("proxyGid", proxyGid);
  if (options.proxyUid === 0) throw new CaptureOptionsError("proxyUid 0 (root) would exempt every root process from capture: run the sidecar as its own non-root UID (Istio's is 1337)");
  checkPort("inboundPort", inboundPort);
  checkPort("outboundPort", outboundPort);
  const excludeInbound = excludedInboundPorts(options);
  excludeInbound.forEach((p) => checkPort("excludeInboundPorts", p));
  const excludeOutbound = unique(options.excludeOutboundPorts ?? []);
  excludeOutbound.forEach((p) => checkPort("excludeOutboundPorts", p));
  const family = options.family ?? "ipv4";
  // Every range is checked; this family's are kept.
  const cidrs = unique(options.excludeOutboundCidrs ?? []).filter((cidr) => checkCidr(cidr) === family);
  const inboundPorts = options.inboundPorts ?? "*";
  if (inboundPorts !== "*") inboundPorts.forEach((p) => checkPort("inboundPorts", p));
  const dnsPort = options.dnsPort;
  if (dnsPort !== undefined) {
    checkPort("dnsPort", dnsPort);
    if (excludeOutbound.includes(53)) throw new CaptureOptionsError("excludeOutboundPorts has 53 while DNS capture is on: remove 53 from the excluded ports, or turn ISTIO_META_DNS_CAPTURE off");
  }
  const portMap = [...(options.inboundPortMap ?? new Map<number, number>())].filter(([port]) => isInboundCaptured(port, options));
  checkPortMap(portMap, excludeInbound, dnsPort);

  const { inbound, inboundRedirect, output, outboundRedirect, outputDns } = captureChains;
  const lines = ["*nat", `:${inbound} - [0:0]`, `:${inboundRedirect} - [0:0]`, `:${output} - [0:0]`, `:${outboundRedirect} - [0:0]`];
  if (dnsPort !== undefined) lines.push(`:${outputDns} - [0:0]`);
  lines.push(`-A ${inboundRedirect} -p tcp -j REDIRECT --to-ports ${inboundPort}`);
  lines.push(`-A ${outboundRedirect} -p tcp -j REDIRECT --to-ports ${outboundPort}`);

  // Inbound: connections arriving at the pod from outside (PREROUTING).
  lines.push(`-A PREROUTING -p tcp -j ${inbound}`);
  // A port with a listener of its own goes straight there; any other captured port to the shared inbound port.
  const ownListener = new Map(portMap);
  const redirect = (port: number): string => {
    const listenPort = ownListener.get(port);
    return listenPort === undefined ? `-A ${inbound} -p tcp --dport ${port} -j ${inboundRedirect}` : `-A ${inbound} -p tcp --dport ${port} -j REDIRECT --to-ports ${listenPort}`;
  };
  if (inboundPorts === "*") {
    // The per-port listeners are the sidecar's own ports too: a connection made to one directly is not captured again.
    for (const port of unique([...excludeInbound, ...portMap.map(([, listenPort]) => listenPort)])) lines.push(`-A ${inbound} -p tcp --dport ${port} -j RETURN`);
    for (const [port] of portMap) lines.push(redirect(port));
    lines.push(`-A ${inbound} -p tcp -j ${inboundRedirect}`);
  } else {
    for (const port of unique(inboundPorts).filter((p) => !excludeInbound.includes(p))) lines.push(redirect(port));
  }

  // Outbound: connections the pod's processes open (OUTPUT), except the sidecar's own.
  lines.push(`-A OUTPUT -p tcp -j ${output}`);
  // DNS over UDP never reaches the TCP chain: its own jump. TCP DNS is taken before the loopback
  // exemption, so a resolver on 127.0.0.x is captured too (istio-iptables excludes port 53 there).
  if (dnsPort !== undefined) lines.push(`-A OUTPUT -p udp --dport 53 -j ${outputDns}`);
  lines.push(`-A ${output} -m owner --uid-owner ${options.proxyUid} -j RETURN`);
  lines.push(`-A ${output} -m owner --gid-owner ${proxyGid} -j RETURN`);
  if (dnsPort !== undefined) lines.push(`-A ${output} -p tcp --dport 53 -j ${outputDns}`);
  // Istio returns for 127.0.0.1/32 (HostIPv4LoopbackCidr) and, in ip6tables, ::1/128.
  lines.push(`-A ${output} -d ${family === "ipv6" ? "::1/128" : "127.0.0.1/32"} -j RETURN`);
  for (const port of excludeOutbound) lines.push(`-A ${output} -p tcp --dport ${port} -j RETURN`);
  for (const cidr of cidrs) lines.push(`-A ${output} -d ${cidr} -j RETURN`);
  lines.push(`-A ${output} -j ${outboundRedirect}`);
  if (dnsPort !== undefined) {
    // The sidecar's own queries (to the upstream resolvers) go out as they are.
    lines.push(`-A ${outputDns} -m owner --uid-owner ${options.proxyUid} -j RETURN`);
    lines.push(`-A ${outputDns} -m owner --gid-owner ${proxyGid} -j RETURN`);
    lines.push(`-A ${outputDns} -p udp -j REDIRECT --to-ports ${dnsPort}`);
    lines.push(`-A ${outputDns} -p tcp -j REDIRECT --to-ports ${dnsPort}`);
  }
  lines.push("COMMIT");
  return `${lines.join("\n")}\n`;
}

/**
 * The per-port inbound listeners of a pod whose TCP container ports are `containerPorts`: each
 * port that `options` capture gets the next free port from `base` (inboundListenPortBase), in
 * ascending order of the container ports, skipping the pod's own ports and the sidecar's (so a
 * listener never takes a port the app or the sidecar binds). Deterministic: the same pod and
 * options give the same map. Pass the result as CaptureOptions.inboundPortMap and to the sidecar
 * (MESHWORK_INBOUND_PORT_MAP).
 */
export function planInboundPortMap(containerPorts: readonly number[], options: CaptureOptions, base = inboundListenPortBase): Map<number, number> {
  containerPorts.forEach((p) => checkPort("containerPorts", p));
  const taken = new Set([...containerPorts, ...excludedInboundPorts(options), ...(options.dnsPort === undefined ? [] : [options.dnsPort])]);
  const map = new Map<number, number>();
  let next = base;
  for (const port of unique(containerPorts).sort((a, b) => a - b)) {
    if (!isInboundCaptured(port, options)) continue;
    while (taken.has(next)) next += 1;
    if (next > 65535) throw new CaptureOptionsError(`no free port from ${base} for the inbound listener of container port ${port}: lower the base port or capture fewer ports (includeInboundPorts)`);
    map.set(port, next);
    taken.add(next);
  }
  return map;
}

/** Inbound ports never captured: the sidecar's own, the inbound and outbound ports, and the excluded ones. */
function excludedInboundPorts(options: CaptureOptions): number[] {
  return unique([...(options.sidecarPorts ?? defaultSidecarPorts), options.inboundPort ?? 15006, options.outboundPort ?? 15001, ...(options.excludeInboundPorts ?? [])]);
}

/** Whether the rules capture inbound connections to `port` (the same test buildCaptureRules applies). */
function isInboundCaptured(port: number, options: CaptureOptions): boolean {
  const inboundPorts = options.inboundPorts ?? "*";
  return !excludedInboundPorts(options).includes(port) && (inboundPorts === "*" || inboundPorts.includes(port));
}

function checkPortMap(portMap: readonly (readonly [number, number])[], excludeInbound: readonly number[], dnsPort: number | undefined): void {
  const listenPorts = new Set<number>();
  for (const [port, listenPort] of portMap) {
    checkPort("inboundPortMap", port);
    checkPort("inboundPortMap", listenPort);
    if (excludeInbound.includes(listenPort) || listenPort === dnsPort) throw new CaptureOptionsError(`inboundPortMap: ${port}→${listenPort} takes a port of the sidecar's own or an excluded one: pick listener ports from ${inboundListenPortBase} up (planInboundPortMap does)`);
    if (portMap.some(([other]) => other === listenPort)) throw new CaptureOptionsError(`inboundPortMap: ${port}→${listenPort} listens on the captured container port ${listenPort}: give it a port the pod does not use`);
    if (listenPorts.has(listenPort)) throw new CaptureOptionsError(`inboundPortMap: two container ports share the listener port ${listenPort}: give each its own`);
    listenPorts.add(listenPort);
  }
}

function checkId(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 2 ** 31 - 1) throw new CaptureOptionsError(`${name} ${value} is not a valid user/group id: use a non-negative integer such as 1337`);
}

function checkPort(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new CaptureOptionsError(`${name}: ${value} is not a TCP port: use an integer from 1 to 65535`);
}

/** The family of a CIDR; throws unless it is an IPv4 (a.b.c.d/0-32) or IPv6 (x:x::x/0-128) one. */
function checkCidr(cidr: string): IpFamily {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (match !== null && match.slice(1, 5).every((o) => Number(o) <= 255) && Number(match[5]) <= 32) return "ipv4";
  const slash = cidr.lastIndexOf("/");
  const prefix = cidr.slice(slash + 1);
  if (slash > 0 && isIPv6(cidr.slice(0, slash)) && /^\d{1,3}$/.test(prefix) && Number(prefix) <= 128) return "ipv6";
  throw new CaptureOptionsError(`excludeOutboundCidrs: "${cidr}" is not an IPv4 or IPv6 CIDR: write it as a.b.c.d/n or x:x::x/n, e.g. 169.254.169.254/32 or fd00:ec2::254/128`);
}

function unique(values: readonly number[]): number[];
function unique(values: readonly string[]): string[];
function unique(values: readonly (number | string)[]): (number | string)[] {
  return [...new Set(values)];
}
